"""`run_score` on a refined world with a real (random-weight) open_clip model: one row per sample,
the same similarities as eval's embedder, resume by model and by input, workers and Ray."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from hqclip.clip.load import ModelSpec, load
from hqclip.curate.conftest import MODEL, close, rows_of
from hqclip.curate.score import run_score
from hqclip.curate.score_format import read_scores
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import read_annotations, read_sidecar, sidecar_path, write_sidecar
from hqclip.errors import ConfigMismatch
from hqclip.eval.embed import Embedder
from hqclip.train.conftest import make_dataset
from hqclip.units.resume import done_path


def test_every_sample_gets_one_row_scored_as_eval_embeds_it(scored, tmp_path):
    world, sidecars, scores = scored
    m = load(ModelSpec.parse(MODEL))
    embedder = Embedder(m, batch_size=8)
    checked = 0
    for shard in list_shards(world):
        samples = list(iter_shard(shard, decode=False))
        rows = read_scores(sidecar_path(shard, scores))
        assert [(r["uid"], r["key"]) for r in rows] == [(s.uid, s.key) for s in samples]
        records = read_annotations(sidecar_path(shard, sidecars), SkipLog())
        assert {r["uid"] for r in rows if r["status"] == "ok"} == set(records)
        assert {r["status"] for r in rows} == {"ok", "no_record"}  # malformed answers: no record
        for s, r in zip(samples, rows):
            rec = records.get(s.uid)
            if rec is None:
                assert r["desc"] is None and r["margin"] is None
            else:
                assert [len(r[f]) for f in ("desc", "neg_desc", "tags", "neg_tags")] == [
                    len(rec[f]) for f in ("desc", "neg_desc", "tags", "neg_tags")
                ]
                np.testing.assert_allclose(r["margin"], np.subtract(r["desc"], r["neg_desc"]), atol=1e-6)
            assert (r["alt"] is None) == (s.text.strip() == "")
        for s, r in list(zip(samples, rows))[:3]:  # eval's own path: image file → Embedder
            if r["status"] != "ok" or r["alt"] is None:
                continue
            png = tmp_path / f"{s.key}.png"
            png.write_bytes(s.image_bytes)
            rec = records[s.uid]
            img = embedder.images([png])[0]
            texts = [s.text, *rec["desc"], *rec["neg_desc"], *rec["tags"]]
            want = embedder.texts(texts) @ img
            got = [r["alt"], *r["desc"], *r["neg_desc"], *r["tags"]]
            np.testing.assert_allclose(got, want, atol=2e-5)
            checked += 1
    assert checked >= 3


def test_a_rerun_skips_scored_shards_and_another_model_needs_overwrite(scored, tmp_path):
    world, sidecars, scores = scored
    out = tmp_path / "scores"
    shutil.copytree(scores, out)
    before = {p: p.stat().st_mtime_ns for p in out.glob("*.done")}
    stats = run_score(MODEL, world, sidecars, out, progress=False)
    assert stats["shards_done"] == 4 and stats["samples"] == 200
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.done")} == before  # nothing redone

    import open_clip

    from hqclip.clip.configs import register

    register()  # hqclip-micro

    torch.manual_seed(1)
    other = tmp_path / "other.pt"
    torch.save(open_clip.create_model(MODEL).state_dict(), other)
    with pytest.raises(ConfigMismatch, match="different configuration"):
        run_score(f"{MODEL}:{other}", world, sidecars, out, progress=False)
    run_score(f"{MODEL}:{other}", world, sidecars, out, overwrite=True, progress=False)
    assert all(p.stat().st_mtime_ns != before[p] for p in out.glob("*.done"))
    assert [r["alt"] for r in rows_of(out)] != [r["alt"] for r in rows_of(scores)]


def test_a_rewritten_sidecar_is_scored_again(scored, tmp_path):
    world, sidecars, scores = scored
    mine, out = tmp_path / "sidecars", tmp_path / "scores"
    shutil.copytree(sidecars, mine)
    run_score(MODEL, world, mine, out, progress=False)
    first = sorted(mine.glob("*.parquet"))[0]
    rows = read_sidecar(first)
    rows[0].update(status="invalid", reason="edited")  # a re-refined shard
    write_sidecar(first, rows)
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.done")}
    run_score(MODEL, world, mine, out, progress=False)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("*.done")}
    assert [n for n in after if after[n] != before[n]] == [done_path(out / first.name).name]
    assert read_scores(out / first.name)[0]["status"] == "no_record"


def test_worker_processes_give_the_same_scores(scored, tmp_path):
    world, sidecars, scores = scored
    run_score(MODEL, world, sidecars, tmp_path / "w2", workers=2, batch_size=16, progress=False)
    close(rows_of(tmp_path / "w2"), rows_of(scores))


@pytest.mark.slow
def test_ray_tasks_give_the_same_scores(scored, tmp_path):
    pytest.importorskip("ray")
    world, sidecars, scores = scored
    run_score(
        MODEL, world, sidecars, tmp_path / "ray", runner="ray", ray_opts={"num_cpus": 1}, progress=False
    )
    close(rows_of(tmp_path / "ray"), rows_of(scores))


def test_a_plain_folder_unannotated_shards_and_unreadable_images(tmp_path):
    shards, sidecars = make_dataset(tmp_path / "data", n=32, per_shard=16)
    (sidecars / "shard-000001.parquet").unlink()  # a partial refine: shard 1 has no sidecar
    broken = write_shards(
        [{"__key__": "bad", "png": b"not a png", "txt": "a cat", "json": {"uid": "f" * 32}}],
        tmp_path / "extra",
        pattern="broken-%06d.tar",
    )
    os.replace(broken[0], shards / broken[0].name)
    stats = run_score(MODEL, shards, sidecars, tmp_path / "scores", progress=False)
    assert stats == {**stats, "samples": 33, "scored": 16, "no_record": 16, "unreadable": 1}
    bad = read_scores(tmp_path / "scores" / "broken-000000.parquet")
    assert bad == [
        {
            "uid": "f" * 32,
            "key": "bad",
            "status": "input:undecodable_image",
            "alt": None,
            "desc": None,
            "neg_desc": None,
            "margin": None,
            "tags": None,
            "neg_tags": None,
        }
    ]
    unannotated = read_scores(tmp_path / "scores" / "shard-000001.parquet")
    assert {r["status"] for r in unannotated} == {"no_record"}
    texts = [s.text for s in iter_shard(shards / "shard-000001.tar", decode=False)]
    assert [r["alt"] is None for r in unannotated] == [t == "" for t in texts]
    assert 0 < sum(t == "" for t in texts) < len(texts)  # both kinds occur


def test_workers_spread_over_the_gpus():
    from hqclip.curate.score import worker_device

    assert [worker_device("cuda", i, 2) for i in range(3)] == ["cuda:0", "cuda:1", "cuda:0"]
    assert worker_device("cuda", 3, 1) == "cuda" and worker_device("cuda:1", 3, 2) == "cuda:1"
    assert worker_device("cpu", 1, 2) == "cpu"
