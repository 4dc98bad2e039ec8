import collections
import io
import json
import shutil
import tarfile

import pytest
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import COLUMNS, read_metadata, read_sidecar
from hqclip.errors import ConfigMismatch
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine


def rows_of(out):
    return [r for p in sorted(out.glob("*.parquet")) for r in read_sidecar(p)]


def uids_of(world):
    out = []
    for shard in list_shards(world / "train"):
        with tarfile.open(shard) as tf:
            out += [json.load(tf.extractfile(m))["uid"] for m in tf if m.name.endswith(".json")]
    return out


def test_cli_oracle_zero_error_is_one_valid_row_per_sample(world, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["refine", "--input", str(world), "--output", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = rows_of(out)
    assert sorted(r["uid"] for r in rows) == sorted(uids_of(world))
    assert all(r["status"] == "ok" and r["attempts"] == 1 for r in rows)
    r = rows[0]
    assert r["model"].startswith("oracle:") and len(r["prompt_hash"]) == 16 and r["desc"]
    stats = json.loads((out / "refine-stats.json").read_text())
    assert stats["total"]["samples"] == 200 and stats["total"]["valid_pct"] == 100.0
    assert read_metadata(out / "shard-000000.parquet")["fingerprint"] == stats["fingerprint"]


@pytest.mark.parametrize("malformed,retries,expected", [(0.3, 0, 0.3), (0.5, 2, 0.125)])
def test_invalid_fraction_matches_the_simulated_error_rate(world, tmp_path, malformed, retries, expected):
    cfg = RefineConfig(options={"malformed": malformed}, max_retries=retries, salvage=False)
    stats = run_refine(cfg, world, tmp_path / "out", progress=False)["total"]
    assert stats["samples"] == 200
    assert abs(stats["invalid"] / 200 - expected) < 0.08
    rows = rows_of(tmp_path / "out")
    bad = [r for r in rows if r["status"] == "invalid"]
    assert all(r["attempts"] == retries + 1 and r["reason"] and r["desc"] is None for r in bad)
    assert set(stats["reasons"]) <= {
        "not_json",
        "truncated_json",
        "empty_output",
        "refusal",
        "misaligned:desc/neg_desc",
        "neg_equals_pos:neg_desc",
        "too_long:desc",
    }
    assert any(r["raw"] for r in bad)  # the last answer is kept for debugging


def test_salvage_keeps_what_a_partly_bad_answer_got_right(world, tmp_path):
    """Same seeds, same answers: with salvage, exactly the answers whose only faults were in some
    pairs become ok (minus those pairs, named in `dropped`); everything else is unchanged."""
    runs = {}
    for salvage in (False, True):
        cfg = RefineConfig(options={"malformed": 0.5}, max_retries=0, salvage=salvage)
        runs[salvage] = run_refine(cfg, world, tmp_path / str(salvage), progress=False)["total"]
    plain, saved = runs[False], runs[True]
    rows = {r["uid"]: r for r in rows_of(tmp_path / "True")}
    before = {r["uid"]: r for r in rows_of(tmp_path / "False")}
    salvaged = [r for r in rows.values() if r["dropped"]]
    assert saved["salvaged"] == len(salvaged) > 5 and plain["salvaged"] == 0
    assert saved["ok"] == plain["ok"] + len(salvaged)
    for r in salvaged:
        was = before[r["uid"]]
        assert r["status"] == "ok" and was["status"] == "invalid" and r["raw"] == was["raw"]
        assert was["reason"] in ("neg_equals_pos:neg_desc", "too_long:desc")
        assert r["dropped"] == [was["reason"] + "@0"]  # the oracle spoils the first pair
        full = json.loads(was["raw"])
        assert r["desc"] == full["desc"][1:] and r["tags"] == full["tags"]
    assert saved["dropped"] == dict(collections.Counter(r["dropped"][0][:-2] for r in salvaged))
    assert all(rows[u]["status"] == b["status"] for u, b in before.items() if b["status"] == "ok")


def test_corrupt_image_is_an_invalid_row_and_the_shard_completes(tmp_path, make_png):
    samples = [
        {
            "__key__": f"{i:04d}",
            "png": make_png() if i != 2 else b"\x89PNG garbage",
            "txt": "a red square",
            "json": {
                "uid": f"{i:032x}",
                "scene": {
                    "objects": [{"shape": "square", "color": "red", "size": "large", "row": 0, "col": 0}],
                    "relations": [],
                },
            },
        }
        for i in range(5)
    ]
    shards = write_shards(samples, tmp_path / "in")
    stats = run_refine(RefineConfig(), shards[0], tmp_path / "out", progress=False)["total"]
    rows = rows_of(tmp_path / "out")
    assert [r["key"] for r in rows] == [f"{i:04d}" for i in range(5)]
    assert rows[2]["status"] == "invalid" and rows[2]["reason"] == "input:undecodable_image"
    assert rows[2]["attempts"] == 0 and stats["ok"] == 4
    assert set(COLUMNS) <= set(rows[0])


def test_text_only_mode_skips_decoding(tmp_path, make_png):
    samples = [
        {
            "__key__": "0",
            "png": b"not an image",
            "txt": "a red square",
            "json": {
                "uid": "0" * 32,
                "scene": {
                    "objects": [{"shape": "square", "color": "red", "size": "large", "row": 0, "col": 0}],
                    "relations": [],
                },
            },
        }
    ]
    shards = write_shards(samples, tmp_path / "in")
    cfg = RefineConfig(no_image=True)
    assert run_refine(cfg, shards[0], tmp_path / "out", progress=False)["total"]["ok"] == 1


def test_rerun_skips_done_shards_and_redoes_partial_ones(world, tmp_path):
    out = tmp_path / "out"
    run_refine(RefineConfig(), world, out, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    (out / "shard-000001.parquet.done").unlink()  # killed between sidecar and marker
    (out / "shard-000002.parquet").unlink()  # killed before the sidecar
    (out / ".shard-000003.parquet.tmp-999").write_bytes(b"half")  # a dead run's temp file
    stats = run_refine(RefineConfig(), world, out, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    assert after["shard-000000.parquet"] == before["shard-000000.parquet"]
    assert after["shard-000003.parquet"] == before["shard-000003.parquet"]
    assert after["shard-000001.parquet"] != before["shard-000001.parquet"]
    assert stats["this_run"]["shards_done"] == 2 and stats["this_run"]["shards_skipped_done"] == 2
    assert stats["total"]["samples"] == 200 and len(rows_of(out)) == 200
    assert not list(out.glob(".*tmp*")) and not list(out.glob("*.running"))


def test_rerun_redoes_a_shard_rewritten_since_it_was_refined(world, tmp_path):
    out, mine = tmp_path / "out", tmp_path / "shards"  # a copy: the world fixture is shared
    shutil.copytree(world / "train", mine)
    run_refine(RefineConfig(), mine, out, progress=False)
    shards = list_shards(mine)
    with tarfile.open(shards[1]) as tf:  # rewrite shard 1 with its first 10 samples only
        keys = sorted({m.name.split(".")[0] for m in tf})[:10]
        members = {m.name: tf.extractfile(m).read() for m in tf if m.name.split(".")[0] in keys}
    with tarfile.open(shards[1], "w") as tf:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    stats = run_refine(RefineConfig(), mine, out, progress=False)
    assert stats["this_run"]["shards_done"] == 1 and stats["this_run"]["shards_skipped_done"] == 3
    assert len(read_sidecar(out / "shard-000001.parquet")) == 10


def test_a_different_configuration_refuses_to_resume_unless_overwrite(world, tmp_path):
    out = tmp_path / "out"
    run_refine(RefineConfig(), world, out, progress=False)
    with pytest.raises(ConfigMismatch, match="prompt_hash"):
        run_refine(RefineConfig(few_shot=0), world, out, progress=False)
    with pytest.raises(ConfigMismatch, match="backend"):
        run_refine(RefineConfig(options={"malformed": 0.1}), world, out, progress=False)
    (out / "refine-run.json").unlink()  # the per-shard markers still know
    with pytest.raises(ConfigMismatch, match="shard-000000.parquet"):
        run_refine(RefineConfig(few_shot=0), world, out, progress=False)
    stats = run_refine(RefineConfig(few_shot=0), world, out, progress=False, overwrite=True)
    assert stats["this_run"]["shards_done"] == 4
    res = CliRunner().invoke(
        app, ["refine", "--input", str(world), "--output", str(out), "--no-progress", "--temperature", "0.9"]
    )
    line = res.stderr.strip()  # a user mistake (exit 2) that says how to go on, not "rerun"
    assert res.exit_code == 2 and line.startswith("hqclip refine: ") and "\n" not in line, res.output
    assert "rerun with --overwrite" in line and "rerun the same command" not in line


def test_workers_give_the_same_rows(world, tmp_path):
    keep = ("uid", "key", "desc", "neg_desc", "tags", "neg_tags", "status", "reason", "attempts")
    cfg = RefineConfig(options={"malformed": 0.2})
    run_refine(cfg, world, tmp_path / "a", progress=False)
    run_refine(cfg, world, tmp_path / "b", progress=False, workers=2)
    strip = lambda rows: [{k: r[k] for k in keep} for r in rows]  # noqa: E731
    assert strip(rows_of(tmp_path / "a")) == strip(rows_of(tmp_path / "b"))


def test_export_vlm150m_writes_one_json_per_ok_row(world, tmp_path):
    run_refine(RefineConfig(options={"malformed": 0.2}), world, tmp_path / "sc", progress=False)
    res = CliRunner().invoke(
        app, ["export-vlm150m", "--sidecars", str(tmp_path / "sc"), "--out", str(tmp_path / "vlm")]
    )
    assert res.exit_code == 0, res.output
    files = list((tmp_path / "vlm").rglob("*.json"))
    ok = [r for r in rows_of(tmp_path / "sc") if r["status"] == "ok"]
    assert len(files) == len(ok) > 0
    assert set(json.loads(files[0].read_text())) == {"desc", "neg_desc", "tags", "neg_tags"}


def test_vllm_backend_without_the_extra_says_how_to_get_it(world, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "refine",
            "--input",
            str(world),
            "--output",
            str(tmp_path),
            "--backend",
            "vllm",
            "--model",
            "m",
            "--no-progress",
        ],
    )
    assert res.exit_code == 2 and "pip install 'hqclip[vllm]'" in res.output


def test_backend_errors_become_invalid_rows_after_retries(world, tmp_path, make_png):
    first = next(iter_shard(list_shards(world / "train")[0], decode=False))
    samples = [
        {"__key__": first.key, "png": first.image_bytes, "txt": first.text, "json": first.meta}
    ]  # a world sample first, so preflight lets the oracle run
    samples += [
        {"__key__": f"{i}", "png": make_png(), "txt": "", "json": {"uid": f"{i:032x}"}} for i in range(3)
    ]  # then samples without a scene graph: the oracle cannot answer
    shards = write_shards(samples, tmp_path / "in")
    stats = run_refine(RefineConfig(max_retries=1), shards[0], tmp_path / "out", progress=False)
    assert stats["total"]["reasons"] == {"oracle_needs_scene": 3}
    assert stats["total"]["attempts"] == {"1": 1, "2": 3}


def test_image_folders_are_units_with_a_sidecar_each(tmp_path, make_png):
    """img2dataset's `files` layout (<key>.png, <key>.txt, <key>.json in numbered folders)."""
    scene = {
        "objects": [{"shape": "square", "color": "red", "size": "large", "row": 0, "col": 0}],
        "relations": [],
    }
    for f in ("00000", "00001"):
        for i in range(3):
            (tmp_path / "in" / f).mkdir(parents=True, exist_ok=True)
            (tmp_path / "in" / f / f"{i:04d}.png").write_bytes(make_png())
            (tmp_path / "in" / f / f"{i:04d}.txt").write_text("a red square")
            (tmp_path / "in" / f / f"{i:04d}.json").write_text(
                json.dumps({"uid": f"{f}{i:027x}", "scene": scene})
            )
    assert run_refine(RefineConfig(), tmp_path / "in", tmp_path / "out", progress=False)["total"]["ok"] == 6
    assert sorted(p.name for p in (tmp_path / "out").glob("*.parquet")) == ["00000.parquet", "00001.parquet"]
    assert [r["key"] for r in read_sidecar(tmp_path / "out" / "00001.parquet")] == ["0000", "0001", "0002"]
