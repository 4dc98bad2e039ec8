"""Training from caption tables and from folders of images with `.txt` captions: the same batches as
the same samples in tar shards, a resume inside a table, and a run joined to its sidecars."""

import csv
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hqclip.data.inputs import resolve_inputs
from hqclip.data.shards import iter_shard, list_shards
from hqclip.data.sidecar import sidecar_path
from hqclip.train import run
from hqclip.train.finetune_test import _cfg as finetune_cfg
from hqclip.train.loader import ShardStream, StreamSpec, count_samples, make_loader
from hqclip.train.loader_test import SPEC, _same, micro  # noqa: F401 (micro: a fixture)


def _as_tables(shards: list[Path], sidecars: Path, out: Path, suffix: str) -> Path:
    """Each shard's samples as a caption table of that name (images in img/), with the shard's
    sidecar under the name refine gives a table's (`<table>.csv.parquet`)."""
    (out / "img").mkdir(parents=True)
    (out / "sidecars").mkdir()
    for shard in shards:
        rows = []
        for s in iter_shard(shard, decode=False):
            (out / "img" / f"{s.key}.{s.ext}").write_bytes(s.image_bytes)
            rows.append({"key": s.key, "uid": s.uid, "image": f"img/{s.key}.{s.ext}", "caption": s.text})
        table = out / (shard.stem + suffix)
        if suffix == ".csv":
            with open(table, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
        elif suffix == ".parquet":
            pq.write_table(pa.Table.from_pylist(rows), table)
        else:
            table.write_text("".join(json.dumps(r) + "\n" for r in rows))
        shutil.copy(sidecar_path(shard, sidecars), sidecar_path(table, out / "sidecars"))
    shutil.copy(sidecars / "vocab.json", out / "sidecars")
    return out


def _as_folders(shards: list[Path], out: Path) -> Path:
    """img2dataset's `files` layout: a folder per shard with <key>.png, <key>.txt, <key>.json."""
    for shard in shards:
        folder = out / shard.stem
        folder.mkdir(parents=True)
        for s in iter_shard(shard, decode=False):
            (folder / f"{s.key}.{s.ext}").write_bytes(s.image_bytes)
            (folder / f"{s.key}.txt").write_text(s.text)
            (folder / f"{s.key}.json").write_text(json.dumps({"uid": s.uid}))
    return out


def _batches(units, sidecars, micro, workers=2, **kw):  # noqa: F811
    spec = StreamSpec(units, batch_size=8, batches=10, seed=5, shuffle_buffer=8, **kw)
    return list(make_loader(ShardStream(spec, SPEC, sidecars, *micro, None, epoch=0), workers))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_caption_tables_give_the_batches_of_the_same_samples_in_tars(dataset, micro, tmp_path, suffix):  # noqa: F811
    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    root = _as_tables(shards, sidecars, tmp_path / "tables", suffix)
    units = resolve_inputs(root)
    assert [u.name for u in units] == [s.stem + suffix for s in shards]
    assert count_samples(units) == count_samples(shards) == 64
    want = _batches(shards, sidecars, micro)
    got = _batches(units, root / "sidecars", micro)
    assert len(want) == 10 and _same(want, got)
    assert all((a["neg"] == b["neg"]).all() for a, b in zip(want, got))
    assert sum(b["counts"]["fallback_alt"] for b in got) == 0  # every sample joined to its sidecar


def test_image_folders_give_the_batches_of_the_same_samples_in_tars(dataset, micro, tmp_path):  # noqa: F811
    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    root = _as_folders(shards, tmp_path / "files")
    units = resolve_inputs(root)
    assert units == [root / s.stem for s in shards] and resolve_inputs(units[0]) == [units[0]]
    assert _same(_batches(shards, sidecars, micro), _batches(units, sidecars, micro))  # same sidecar names


def test_a_resume_inside_a_table_continues_bit_identically(dataset, micro, tmp_path):  # noqa: F811
    train_dir, sidecars = dataset
    root = _as_tables(list_shards(train_dir), sidecars, tmp_path / "tables", ".csv")
    units = resolve_inputs(root)
    full = _batches(units, root / "sidecars", micro)
    spec = StreamSpec(units, batch_size=8, batches=10, seed=5, shuffle_buffer=8)
    states = [full[2]["stream"]["state"], full[3]["stream"]["state"]]
    stream = ShardStream(spec, SPEC, root / "sidecars", *micro, None, epoch=0, skip=4, states=states)
    assert _same(full[4:], list(make_loader(stream, 2)))


def test_training_on_a_folder_of_tables_joins_their_sidecars(dataset, tmp_path):
    train_dir, sidecars = dataset
    root = _as_tables(list_shards(train_dir), sidecars, tmp_path / "tables", ".parquet")
    res = run(finetune_cfg((root, root / "sidecars"), tmp_path / "run"))
    assert res["steps"] == 2 and res["counts"]["fallback_alt"] == 0
