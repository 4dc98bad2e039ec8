"""End to end: `hqclip eval` with two models (random init and a checkpoint file) over an eval
folder prints the table and writes the report; a rerun reads the embedding cache; CLIP_benchmark
datasets go through the same report."""

from __future__ import annotations

import json
import shutil

import open_clip
import pytest
import torch
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.errors import UserError
from hqclip.eval import embed, evaluate
from hqclip.eval.embed import Embedder


@pytest.fixture(scope="module")
def checkpoint(tiny_model_name, tmp_path_factory):
    torch.manual_seed(1)
    model = open_clip.create_model(tiny_model_name)
    path = tmp_path_factory.mktemp("ckpt") / "epoch_latest.pt"
    torch.save({"epoch": 1, "name": tiny_model_name, "state_dict": model.state_dict()}, path)
    return path


def test_cli_two_models_report_and_cache(world, tiny_model_name, checkpoint, tmp_path, monkeypatch):
    out, cache = tmp_path / "report", tmp_path / "cache"
    args = [
        "eval",
        "-m",
        tiny_model_name,
        "-m",
        f"trained={tiny_model_name}:{checkpoint}",
        "--data",
        str(world),
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--batch-size",
        "16",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert (
        "| model | ZS top-1 | ZS mean recall | ZS held-out top-1 | I→T R@1 | T→I R@1 | SugarCrepe "
        "| ARO order | Winoground group |"
    ) in r.output
    assert f"| {tiny_model_name} |" in r.output and "| trained |" in r.output
    for name in ("results.json", "results.md", "summary.png", "sugarcrepe.png"):
        assert (out / name).stat().st_size > 0
    first = json.loads((out / "results.json").read_text())
    assert first["models"]["trained"]["spec"] == f"{tiny_model_name}:{checkpoint}"
    for res in first["models"].values():
        assert {"zeroshot", "retrieval", "sugarcrepe", "aro_order", "winoground"} <= set(res)
    assert first["models"]["trained"] != first["models"][tiny_model_name] | {
        "spec": f"{tiny_model_name}:{checkpoint}"
    }
    cached = sorted(cache.iterdir())
    assert len(cached) == 4  # images + texts per model
    assert not embed._memo  # the decoded images and token ids do not outlive the call

    def boom(*a, **k):
        raise AssertionError("embedded again despite the cache")

    monkeypatch.setattr(Embedder, "_encode_images", boom)
    monkeypatch.setattr(Embedder, "_encode_texts", boom)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "results.json").read_text()) == first
    assert sorted(cache.iterdir()) == cached


def test_cli_refuses_bad_model_before_work(world, tmp_path):
    r = CliRunner().invoke(app, ["eval", "-m", "no-such-model", "--data", str(world), "--out", str(tmp_path)])
    assert r.exit_code == 2 and "unknown open_clip model 'no-such-model'" in r.output
    assert r.stderr.startswith("hqclip eval: ")
    assert not (tmp_path / "results.json").exists()


def test_clip_benchmark_datasets_in_the_same_report(world, tiny_model_name, tmp_path):
    # CLIP_benchmark's sugar_crepe reader on a local copy (no download: val2017/ and the json exist)
    root = tmp_path / "cb"
    shutil.copytree(world / "eval/sugarcrepe/images", root / "val2017/images")
    shutil.copy(world / "eval/sugarcrepe/replace_att.json", root / "replace_att.json")
    res = evaluate(
        [tiny_model_name],
        world,
        tmp_path / "out",
        clip_benchmark=["sugar_crepe/replace_att"],
        clip_benchmark_root=str(root),
    )
    r = res["models"][tiny_model_name]
    assert r["clip_benchmark"]["sugar_crepe/replace_att"]["task"] == "image_caption_selection"
    # the same images and captions, read by CLIP_benchmark and by us, score the same
    assert r["clip_benchmark"]["sugar_crepe/replace_att"]["acc"] == pytest.approx(
        r["sugarcrepe"]["replace_att"]["acc"], abs=1e-6
    )
    assert "CB sugar_crepe/replace_att" in (tmp_path / "out/results.md").read_text()


def test_on_a_real_small_world(tiny_model_name, tmp_path):
    from hqclip.world.build import build_world
    from hqclip.world.config import WorldConfig

    cfg = WorldConfig(
        seed=3,
        train_samples=10,
        zeroshot_per_class=1,
        retrieval_samples=12,
        sugarcrepe_per_subset=4,
        winoground_samples=4,
        image_size=32,
    )
    counts = build_world(tmp_path / "world", cfg, workers=1, progress=False)["eval"]
    res = evaluate([tiny_model_name, "micro=hqclip-micro"], tmp_path / "world", tmp_path / "out")
    assert res["skipped"]["counts"] == {}
    for r in res["models"].values():
        assert r["zeroshot"]["n"] == counts["zeroshot"] and r["retrieval"]["n_images"] == counts["retrieval"]
        assert r["zeroshot"]["heldout"]["n"] + r["zeroshot"]["seen"]["n"] == counts["zeroshot"]
        assert set(r["sugarcrepe"]) - {"mean"} == {
            k.split("/")[1] for k in counts if k.startswith("sugarcrepe/")
        }
        assert r["aro_order"]["n"] == counts["retrieval"] and r["winoground"]["n"] == counts["winoground"]


def test_in_process_models_share_the_cache_by_weights(world, tiny_model_name, tmp_path):
    cache = tmp_path / "cache"
    by_spec = evaluate([f"mine={tiny_model_name}"], world, cache_dir=cache)["models"]["mine"]
    torch.manual_seed(0)  # the same random init as the spec's (seed 0)
    model, _, preprocess = open_clip.create_model_and_transforms(tiny_model_name)
    tokenizer = open_clip.get_tokenizer(tiny_model_name)
    files = sorted(cache.iterdir())
    res = evaluate({"mine": (model, preprocess, tokenizer)}, world, tmp_path / "out", cache_dir=cache)
    assert sorted(cache.iterdir()) == files  # same weights, same cache entries
    assert res["models"]["mine"] == by_spec | {"spec": "mine"}
    assert (tmp_path / "out/results.md").exists()
    with pytest.raises(UserError, match="duplicate model labels"):
        evaluate([tiny_model_name, tiny_model_name], world)
    wrong = open_clip.get_tokenizer("ViT-B-32")  # context length 77, the tiny model has 16
    with pytest.raises(UserError, match="context length 77 != model context length 16"):
        evaluate({"x": (model, preprocess, wrong)}, world)


def _wds(folder, samples, **files):
    """A local WebDataset in CLIP_benchmark's layout: test/0.tar + metadata text files."""
    import webdataset as wds

    (folder / "test").mkdir(parents=True)
    (folder / "test/nshards.txt").write_text("1")
    for name, text in files.items():
        (folder / name).write_text(text)
    with wds.TarWriter(str(folder / "test/0.tar")) as w:
        for i, s in enumerate(samples):
            w.write({"__key__": f"{i:06d}", **s})


def zeroshot_wds(ev, folder):
    """The world's zero-shot split as a CLIP_benchmark local WebDataset."""
    classes = json.loads((ev / "zeroshot/classes.json").read_text())
    _wds(
        folder,
        [
            {"png": (ev / "zeroshot" / s["filename"]).read_bytes(), "cls": s["label"]}
            for s in json.loads((ev / "zeroshot/samples.json").read_text())
        ],
        **{
            "classnames.txt": "\n".join(classes["classnames"]),
            "zeroshot_classification_templates.txt": "\n".join(
                t.replace("{}", "{c}") for t in classes["templates"]
            ),
        },
    )


def test_clip_benchmark_local_webdatasets(world, tiny_model_name, tmp_path):
    ev = world / "eval"
    zeroshot_wds(ev, tmp_path / "zs")
    _wds(
        tmp_path / "ret",
        [
            {"png": (ev / "retrieval" / s["filename"]).read_bytes(), "txt": "\n".join(s["captions"])}
            for s in json.loads((ev / "retrieval/captions.json").read_text())
        ],
        **{"dataset_type.txt": "retrieval"},
    )
    res = evaluate(
        [tiny_model_name],
        world,
        clip_benchmark=["wds/zs", "wds/ret"],
        clip_benchmark_root=str(tmp_path / "{dataset}"),
    )["models"][tiny_model_name]
    cb = res["clip_benchmark"]
    assert cb["wds/zs"]["task"] == "zeroshot_classification" and cb["wds/ret"]["task"] == "zeroshot_retrieval"
    # the same data read by CLIP_benchmark's readers scores what ours scores
    for k in ("acc1", "acc5", "mean_per_class_recall"):
        assert cb["wds/zs"][k] == pytest.approx(res["zeroshot"][k], abs=1e-6), k
    for k in ("text_retrieval_recall@1", "image_retrieval_recall@5", "text_retrieval_recall@10"):
        assert cb["wds/ret"][k] == pytest.approx(res["retrieval"][k], abs=1e-6), k
