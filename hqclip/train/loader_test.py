import json

import pytest

from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shards, list_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.data.vlm150m import import_vlm150m
from hqclip.train.annotations import load_index
from hqclip.train.batch import TextSpec
from hqclip.train.loader import ShardStream, StreamSpec
from hqclip.train.models import create

SPEC = TextSpec({"alt": 0.0, "desc": 1.0}, 1, 2, True, True)


@pytest.fixture(scope="module")
def micro():
    _, transform, _, tok = create("hqclip-micro")
    return transform, tok


def test_one_epoch_over_two_ranks_reads_every_sample_once(dataset, micro):
    train_dir, sidecars = dataset  # 4 shards of 16
    shards = list_shards(train_dir)
    index = load_index(shards, sidecars, SkipLog())
    uids = []
    for rank in range(2):
        # buffer 1: exact; a larger buffer carries its last few samples over into the next pass
        spec = StreamSpec(shards, batch_size=8, batches=4, seed=0, rank=rank, world_size=2, shuffle_buffer=1)
        batches = list(ShardStream(spec, SPEC, index, *micro, None, epoch=0))
        assert len(batches) == 4 and all(b["images"].shape[0] == 8 for b in batches)
        assert all(b["counts"]["fallback_alt"] == 0 for b in batches)
        uids += [u for b in batches for u in b["uids"]]
    assert sorted(uids) == sorted(s.uid for s in iter_shards(shards, decode=False))


def test_resampled_stream_is_endless_and_deterministic(dataset, micro):
    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    spec = StreamSpec(shards, batch_size=8, batches=20, seed=3, resampled=True, shuffle_buffer=8)  # > 64 samples
    a = list(ShardStream(spec, SPEC, {}, *micro, None, epoch=1))
    b = list(ShardStream(spec, SPEC, {}, *micro, None, epoch=1, skip=5))
    assert len(a) == 20 and len(b) == 15
    assert all((x["text"] == y["text"]).all() and (x["images"] == y["images"]).all() for x, y in zip(a[5:], b))
    assert a[0]["counts"]["fallback_alt"] == 8  # no sidecars given: alt-text, counted


def test_annotations_imported_from_vlm150m_join_by_uid(dataset, tmp_path):
    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    src = tmp_path / "vlm150m" / "00000"
    src.mkdir(parents=True)
    for path in sorted(sidecars.glob("*.parquet")):
        for row in read_sidecar(path):
            rec = {k: row[k] for k in ("desc", "neg_desc", "tags", "neg_tags")}
            (src / f"{row['uid']}.json").write_text(json.dumps(rec))
    import_vlm150m(tmp_path / "vlm150m", tmp_path / "imported")
    skips = SkipLog()
    index = load_index(shards, tmp_path / "imported", skips)
    uids = {s.uid for s in iter_shards(shards, decode=False)}
    assert uids <= set(index)
    assert skips.counts["shard_without_sidecar"] == len(shards)  # names differ; uids still join
