"""The suite end to end on the miniature with a tiny random model: every per-task number equals an
independent computation (CLIP_benchmark's wds reader, classifier and logits; scikit-learn; the
worst-group formulas written out; the HF sets read with PIL), DataComp's own jsonl lines, resume
after a kill without recomputing finished tasks, and the one-line errors (exit 2)."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import balanced_accuracy_score, f1_score, jaccard_score
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.eval.datacomp.hf import as_list
from hqclip.eval.datacomp.suite import run_suite
from hqclip.eval.datacomp.tasks import BY_KEY, TASKS
from hqclip.eval.evaluation import resolve_models

# CLIP_benchmark's wds builder leaves shardshuffle unset
pytestmark = pytest.mark.filterwarnings("ignore:WebDataset.shardshuffle")

LABELLED = [
    "cifar10",
    "vtab/caltech101",
    "wilds/iwildcam",
    "wilds/camelyon17",
    "wilds/fmow",
    "fairness/dollar_street",
    "fairness/geode",
]
SUBSET = [
    *LABELLED,
    "fairness/utkface",
    "retrieval/flickr_1k_test_image_text_retrieval",
    "retrieval/mscoco_2014_5k_test_image_text_retrieval",
    "misc/winogavil",
]


@pytest.fixture(scope="module")
def model(tiny_model_name):
    return resolve_models([tiny_model_name])[0]


@pytest.fixture(scope="module")
def run(mini, model, tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    return out, run_suite([model], mini, out, tasks=SUBSET, batch_size=3, workers=0)


def cb_logits(model, folder: Path):
    """CLIP_benchmark's reader, zero-shot classifier and logits on the same folder, and the npy
    metadata in the same (shard) order read by webdataset."""
    import webdataset as wds
    from clip_benchmark.datasets.builder import build_dataset
    from clip_benchmark.metrics.zeroshot_classification import run_classification, zero_shot_classifier

    ds = build_dataset(
        f"wds/{folder.name}", root=str(folder), transform=model.preprocess, split="test", download=False
    )
    templates = [t for t in ds.templates if t.strip()]  # CLIP_benchmark 1.4.0 (DataComp's) drops empty lines
    loader = torch.utils.data.DataLoader(ds.batched(4), batch_size=None, num_workers=0)
    w = zero_shot_classifier(model.model, model.tokenizer, ds.classes, templates, "cpu", amp=False)
    logits, target = run_classification(model.model, w, loader, "cpu", amp=False)
    tars = [str(folder / "test" / f"{i}.tar") for i in range(int((folder / "test/nshards.txt").read_text()))]
    samples = wds.WebDataset(tars, shardshuffle=False, empty_check=False).decode()
    meta = [m for (m,) in samples.to_tuple("npy", missing_is_error=False)]
    return logits, target, (np.stack(meta) if meta[0] is not None else None)


def worst(correct, groups) -> float:
    by: dict = {}
    for c, g in zip(correct, groups):
        by.setdefault(int(g), []).append(float(c))
    return min(sum(v) / len(v) for v in by.values())


def metrics_of(run, key):
    out, results = run
    return next(iter(results["models"].values()))["tasks"][BY_KEY[key].name]


@pytest.mark.parametrize("key", LABELLED)
def test_classification_tasks_match_clip_benchmark(run, model, mini, key):
    res = metrics_of(run, key)
    logits, target, meta = cb_logits(model, mini / BY_KEY[key].folder)
    pred = logits.argmax(1)
    correct = (pred == target).numpy()
    assert res["acc1"] == pytest.approx(correct.mean(), abs=1e-6)
    assert res["mean_per_class_recall"] == pytest.approx(balanced_accuracy_score(target, pred), abs=1e-6)
    if key == "vtab/caltech101":
        expected_main = balanced_accuracy_score(target, pred)
    elif key == "wilds/iwildcam":
        expected_main = f1_score(target, pred, average="macro", labels=np.unique(target))
    elif key in ("wilds/fmow", "fairness/geode"):  # worst region
        expected_main = worst(correct, meta[:, 0])
    elif key == "fairness/dollar_street":  # worst income group's top-5
        expected_main = worst([int(t in row) for row, t in zip(logits.topk(5).indices, target)], meta[:, 0])
    else:
        expected_main = correct.mean()
    assert res["main_metric"] == pytest.approx(expected_main, abs=1e-6)


def embed(model, images: list[Image.Image], texts: list[str]):
    with torch.no_grad():
        x = torch.stack([model.preprocess(im.convert("RGB")) for im in images])
        i = torch.nn.functional.normalize(model.model.encode_image(x), dim=-1)
        t = torch.nn.functional.normalize(model.model.encode_text(model.tokenizer(texts)), dim=-1)
    return i, t


def test_retrieval_matches_independent_reading(run, model, mini):
    from clip_benchmark.metrics.zeroshot_retrieval import recall_at_k

    for key in (
        "retrieval/flickr_1k_test_image_text_retrieval",
        "retrieval/mscoco_2014_5k_test_image_text_retrieval",
    ):
        folder = mini / BY_KEY[key].folder
        rows = list(csv.DictReader(open(next(folder.glob("*.csv")))))
        zips = list(folder.glob("*.zip"))
        if zips:
            z = zipfile.ZipFile(zips[0])
            images = [Image.open(z.open(f"{zips[0].stem}/{r['filename']}")) for r in rows]
        else:
            images = [Image.open(folder / "images" / r["filename"]) for r in rows]
        caps = [as_list(r.get("raw") or r["caption"]) for r in rows]
        assert all(len(c) == 5 for c in caps)
        img, txt = embed(model, images, [c for cs in caps for c in cs])
        positive = torch.zeros(len(txt), len(img), dtype=torch.bool)
        positive[torch.arange(len(txt)), torch.arange(len(img)).repeat_interleave(5)] = True
        scores = txt @ img.T
        i2t = (recall_at_k(scores.T, positive.T, 1) > 0).float().mean().item()
        t2i = (recall_at_k(scores, positive, 1) > 0).float().mean().item()
        assert metrics_of(run, key)["main_metric"] == pytest.approx(0.5 * (i2t + t2i), abs=1e-6)


def test_winogavil_matches_sklearn_jaccard(run, model, mini):
    folder = mini / "winogavil"
    rows = list(csv.DictReader(open(folder / "winogavil_dataset.csv")))
    z = zipfile.ZipFile(folder / "winogavil_images.zip")
    per, sizes = [], []
    for r in rows:
        cands, assoc = json.loads(r["candidates"]), json.loads(r["associations"])
        cue = r["cue"].lower()
        img, txt = embed(
            model,
            [Image.open(z.open(f"winogavil_images/{c}.jpg")) for c in cands],
            [("An " if cue[0] in "aeiou" else "A ") + cue],
        )
        sims = (img @ txt[0]).numpy()
        pred = np.zeros(len(cands), int)
        pred[np.argsort(sims)[-len(assoc) :]] = 1
        per.append(jaccard_score(np.isin(cands, assoc).astype(int), pred))
        sizes.append(len(cands))
    per, sizes = np.array(per), np.array(sizes)
    res = metrics_of(run, "misc/winogavil")
    assert res["main_metric"] == pytest.approx(per[sizes >= 10].mean(), abs=1e-6)
    assert res["avg_jaccard_score"] == pytest.approx(per.mean(), abs=1e-6)


def test_jsonl_is_datacomps_format_and_report(run):
    out, results = run
    (label,) = results["models"]
    lines = [json.loads(x) for x in (out / label / "eval_results.jsonl").read_text().splitlines()]
    assert [x["key"] for x in lines] == [t.key for t in TASKS if t.key in SUBSET]
    assert all(set(x) == {"key", "dataset", "metrics"} and "main_metric" in x["metrics"] for x in lines)
    assert next(x for x in lines if x["key"] == "fairness/utkface")["metrics"]["main_metric"] is None
    counted = [x["metrics"]["main_metric"] for x in lines if x["metrics"]["main_metric"] is not None]
    agg = results["models"][label]["aggregates"]
    assert agg["Average"] == pytest.approx(np.mean(counted)) and agg["n_tasks"] == 10 and not agg["complete"]
    md = (out / "results.md").read_text()
    assert "Partial run" in md and "| **Average** |" in md
    assert (out / "summary.png").stat().st_size > 0 and json.loads((out / "results.json").read_text())[
        "models"
    ]


class Counting:
    """Counts image forward passes; raises KeyboardInterrupt (a kill) at pass `die_at`."""

    def __init__(self, model, die_at=None):
        self.n, self.die_at, self.inner = 0, die_at, model.model.encode_image
        model.model.encode_image = self

    def __call__(self, x):
        self.n += 1
        if self.die_at is not None and self.n == self.die_at:
            raise KeyboardInterrupt
        return self.inner(x)


def test_killed_run_resumes_without_recomputing(mini, tiny_model_name, tmp_path):
    keys = ["cifar10", "imagenet1k", "wilds/fmow"]  # 8 images each, 2 shards of 4: 2 batches of 4 each
    first = resolve_models([tiny_model_name])[0]
    counter = Counting(first, die_at=4)  # dies in imagenet1k's second batch
    with pytest.raises(KeyboardInterrupt):
        run_suite([first], mini, tmp_path, tasks=keys, batch_size=4, workers=0)
    assert (tmp_path / tiny_model_name / "tasks" / "cifar10.json.done").exists()
    again = resolve_models([tiny_model_name])[0]
    counter = Counting(again)
    res = run_suite([again], mini, tmp_path, tasks=keys, batch_size=4, workers=0)
    assert counter.n == 4  # imagenet1k and fmow only; cifar10 was read back
    fresh = run_suite(
        [resolve_models([tiny_model_name])[0]], mini, tmp_path / "fresh", tasks=keys, batch_size=4, workers=0
    )
    label = tiny_model_name
    assert res["models"][label]["tasks"] == fresh["models"][label]["tasks"]
    counter = Counting(again)
    run_suite([again], mini, tmp_path, tasks=keys, batch_size=4, workers=0)
    assert counter.n == 0


def cli(*args) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["eval", *map(str, args)])
    return r.exit_code, r.output


def suite(data: Path, out: Path, tasks: str, model: str = "no-such-model", *more) -> tuple[int, str]:
    """`hqclip eval --suite datacomp`; the default model cannot load, so an error about the data
    shows that the data was checked first."""
    return cli("--suite", "datacomp", "--data-dir", data, "-m", model, "--out", out, "--tasks", tasks, *more)


def test_missing_folder_one_line_before_any_model(tmp_path, mini):
    data = tmp_path / "data"
    shutil.copytree(mini / "wds_cifar10_test", data / "wds_cifar10_test")
    code, out = suite(data, tmp_path / "o", "cifar10,imagenet1k")
    assert code == 2 and len(out.strip().splitlines()) == 1
    assert "wds_imagenet1k_test: missing" in out
    assert f"hqclip download-datacomp --data-dir {data} --tasks imagenet1k" in out


def test_wrong_type_folder(tmp_path, mini):
    data = tmp_path / "data"
    shutil.copytree(mini / "wds_cifar10_test", data / "wds_cifar10_test")
    (data / "wds_cifar10_test" / "dataset_type.txt").write_text("retrieval\n")
    shutil.copytree(mini / "winogavil", data / "flickr_1k_test_image_text_retrieval")
    for task, what in (
        ("cifar10", "a retrieval set"),
        ("retrieval/flickr_1k_test_image_text_retrieval", "no column"),
    ):
        code, out = suite(data, tmp_path / "o", task)
        assert code == 2 and len(out.strip().splitlines()) == 1 and what in out and "not DataComp's" in out


def test_corrupt_tar_exits_2_naming_it(tmp_path, mini, tiny_model_name):
    data = tmp_path / "data"
    shutil.copytree(mini / "wds_cifar10_test", data / "wds_cifar10_test")
    tar = data / "wds_cifar10_test" / "test" / "1.tar"
    tar.write_bytes(tar.read_bytes()[:1500])  # cut mid-member
    code, out = suite(data, tmp_path / "o", "cifar10", tiny_model_name, "--workers", "2")
    assert code == 2 and "1.tar" in out and "fetch it again" in out, out
    assert "Traceback" not in out


def test_all_40_tasks_through_the_cli(mini, tiny_model_name, tmp_path):
    all_keys = ",".join(t.key for t in TASKS)
    code, out = suite(
        mini, tmp_path, all_keys, f"tiny={tiny_model_name}", "--workers", "0", "--batch-size", "8"
    )
    assert code == 0, out
    jsonl = tmp_path / "tiny" / "eval_results.jsonl"
    assert [json.loads(x)["key"] for x in jsonl.read_text().splitlines()] == [t.key for t in TASKS]
    # read as DataComp's aggregate_scores.py reads it: pandas lines, metrics spread into columns,
    # rows without a main metric dropped, 38 left, ImageNet 1k + the three groups + the mean
    import pandas as pd

    df = pd.read_json(jsonl, lines=True)
    df = pd.concat([df.drop(columns=["metrics"]), df["metrics"].apply(pd.Series)], axis=1)
    df = df.dropna(subset=["main_metric"])
    assert len(df) == 38
    main = dict(zip(df["dataset"], df["main_metric"]))
    agg = json.loads((tmp_path / "results.json").read_text())["models"]["tiny"]["aggregates"]
    assert agg["complete"] and agg["ImageNet"] == pytest.approx(main["ImageNet 1k"])
    assert agg["Average"] == pytest.approx(np.mean(list(main.values())))
    for group in ("ImageNet dist. shifts", "VTAB", "Retrieval"):
        assert agg[group] == pytest.approx(np.mean([main[t.name] for t in TASKS if t.group == group]))
    assert f"| **Average** | | **{100 * agg['Average']:.1f}** |" in out and "Partial run" not in out


@pytest.mark.slow
def test_sigkilled_cli_run_resumes(mini, tmp_path):
    """A real `kill -9` of the command after its first task: the rerun does only the tasks without
    a done marker (hqclip-micro: a built-in config, the same random init in both processes)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    keys = ["cifar10", "imagenet1k", "wilds/fmow", "fairness/geode"]
    cmd = [sys.executable, "-m", "hqclip.cli.main", "eval", "--suite", "datacomp", "--data-dir", str(mini)]
    cmd += ["-m", "hqclip-micro", "--out", str(tmp_path), "--tasks", ",".join(keys), "--workers", "0"]
    proc = subprocess.Popen([*cmd, "--batch-size", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "hqclip-micro" / "tasks" / "cifar10.json.done"
    deadline = time.monotonic() + 120
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = [
        k for k in keys if (tmp_path / "hqclip-micro" / "tasks" / f"{k.replace('/', '_')}.json.done").exists()
    ]
    assert "cifar10" in done and len(done) < len(keys)
    m = resolve_models(["hqclip-micro"])[0]
    counter = Counting(m)
    run_suite([m], mini, tmp_path, tasks=keys, batch_size=4, workers=0)
    assert counter.n == 2 * (len(keys) - len(done))  # 8 images a task, 2 shards of 4


def test_other_weights_under_the_same_label_need_overwrite(mini, tiny_model_name, tmp_path):
    """The done markers hold the weights' fingerprint: a model with other weights under a label
    already evaluated stops with the --overwrite hint, and with it the task is redone."""
    from hqclip.errors import ConfigMismatch

    first, second = (resolve_models([tiny_model_name], seed=s)[0] for s in (0, 1))
    run_suite(
        {"same": (first.model, first.preprocess, first.tokenizer)},
        mini,
        tmp_path,
        tasks=["cifar10"],
        workers=0,
    )
    as_same = {"same": (second.model, second.preprocess, second.tokenizer)}
    with pytest.raises(ConfigMismatch, match="--overwrite"):
        run_suite(as_same, mini, tmp_path, tasks=["cifar10"], workers=0)
    counter = Counting(second)
    run_suite(as_same, mini, tmp_path, tasks=["cifar10"], batch_size=8, workers=0, overwrite=True)
    assert counter.n == 1
