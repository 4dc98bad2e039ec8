import json
from pathlib import Path

import pytest

import hqclip.data.shards as shards_mod
from hqclip.clip.configs import create
from hqclip.data.shards import iter_shards, list_shards
from hqclip.train.batch import TextSpec
from hqclip.train.conftest import make_world
from hqclip.train.loader import ShardStream, StreamSpec, make_loader

SPEC = TextSpec({"alt": 0.0, "desc": 1.0}, 1, 2, True, True)
FRESH = Path(__file__).parent / "testdata" / "fresh_run.json"


@pytest.fixture(scope="module")
def micro():
    _, transform, _, tok = create("hqclip-micro")
    return transform, tok


def test_one_epoch_over_two_ranks_reads_every_sample_once(dataset, micro):
    train_dir, sidecars = dataset  # 4 shards of 16
    shards = list_shards(train_dir)
    uids = []
    for rank in range(2):
        # buffer 1: exact; a larger buffer carries its last few samples over into the next pass
        spec = StreamSpec(shards, batch_size=8, batches=4, seed=0, rank=rank, world_size=2, shuffle_buffer=1)
        batches = list(ShardStream(spec, SPEC, sidecars, *micro, None, epoch=0))
        assert len(batches) == 4 and all(b["images"].shape[0] == 8 for b in batches)
        assert all(b["counts"]["fallback_alt"] == 0 for b in batches)
        uids += [u for b in batches for u in b["uids"]]
    assert sorted(uids) == sorted(s.uid for s in iter_shards(shards, decode=False))


def _same(a, b):
    return all(
        x["uids"] == y["uids"] and (x["text"] == y["text"]).all() and (x["images"] == y["images"]).all()
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("resampled", [False, True])
def test_resume_seeks_to_the_position_and_decodes_no_earlier_sample(dataset, micro, monkeypatch, resampled):
    """A stream resumed from the position of batch 5 gives batches 6.. bit-identical, and decodes
    only its buffered samples again: nothing read before the position is decoded twice."""
    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    decoded: list[tuple[str, int]] = []
    real = shards_mod.to_sample

    def counting(raw, source, decode, max_pixels):
        if decode:
            decoded.append((source, raw["__offset__"]))
        return real(raw, source, decode, max_pixels)

    monkeypatch.setattr(shards_mod, "to_sample", counting)
    # > 64 samples: the stream wraps into a second pass; buffer 8 spans shard boundaries
    spec = StreamSpec(shards, batch_size=8, batches=20, seed=3, resampled=resampled, shuffle_buffer=8)
    full = list(ShardStream(spec, SPEC, sidecars, *micro, None, epoch=1))
    before = decoded[:]
    decoded.clear()
    state = full[4]["stream"]["state"]
    resumed = list(ShardStream(spec, SPEC, sidecars, *micro, None, epoch=1, skip=5, states=[state]))
    assert len(full) == 20 and len(resumed) == 15 and _same(full[5:], resumed)
    buffered = [(str(shards[i]), off) for i, off in state["buffer"]]
    assert decoded[: len(buffered)] == buffered
    # what the uninterrupted stream decoded after batch 5's position, and nothing else
    n_before = sum(len(b["uids"]) for b in full[:5]) + len(buffered)
    assert decoded[len(buffered) :] == before[n_before:]


def test_batches_carry_the_position_of_their_own_reader(dataset, micro):
    train_dir, sidecars = dataset
    spec = StreamSpec(list_shards(train_dir), batch_size=8, batches=6, seed=0, shuffle_buffer=4)
    batches = list(make_loader(ShardStream(spec, SPEC, sidecars, *micro, None, epoch=0), workers=2))
    assert [b["stream"]["reader"] for b in batches] == [0, 1, 0, 1, 0, 1]
    # resuming after batch 3 (reader 0 served it last, reader 1 batch 2): the same batches 4, 5
    states = [batches[2]["stream"]["state"], batches[3]["stream"]["state"]]
    resumed = list(
        make_loader(
            ShardStream(spec, SPEC, sidecars, *micro, None, epoch=0, skip=4, states=states), workers=2
        )
    )
    assert _same(batches[4:], resumed)


def test_shards_without_sidecar_fall_back_to_alt_text(dataset, micro):
    train_dir, sidecars = dataset
    spec = StreamSpec(list_shards(train_dir), batch_size=8, batches=2, seed=0, shuffle_buffer=1)
    (a, b) = ShardStream(spec, SPEC, None, *micro, None, epoch=0)
    assert a["counts"]["fallback_alt"] == b["counts"]["fallback_alt"] == 8 and "neg" in a


def test_fresh_run_batches_equal_those_of_the_pre_change_loader(tmp_path, micro):
    """`testdata/fresh_run.json` holds the uids of 14 batches (two epochs) that the loader before
    per-shard annotations and resumable positions (main at 922a41d) gave on this world: same
    shard order, same shuffle buffer, same samples per batch."""
    world = make_world(tmp_path / "world", n=192, shard_size=32)
    shards = list_shards(world)
    want = json.loads(FRESH.read_text())
    text = TextSpec({"alt": 0.3, "desc": 0.7}, 1, 2, True, False)
    for name, (workers, kw, per_epoch) in {
        "linear": (2, {}, 12),
        "text-resampled": (1, {"resampled": True}, 10),
    }.items():
        uids = []
        for epoch in (0, 1):
            spec = StreamSpec(shards, 16, per_epoch, 0, shuffle_buffer=64, **kw)
            stream = ShardStream(spec, text, world / "sidecars", *micro, None, epoch)
            uids += [b["uids"] for b in make_loader(stream, workers)]
        assert uids[:14] == want[name]["uids"], name


def test_cached_stream_gives_the_same_batches_and_decodes_each_sample_once(dataset, micro, monkeypatch):
    """With `cache` (workers 0), epoch 2 and a second stream over the same shards come from memory,
    and their batches are those of the uncached stream."""
    from hqclip.train import cache

    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    decoded = []
    real = shards_mod.to_sample

    def counting(raw, source, decode, max_pixels):
        decoded.append((source, raw["__offset__"]))
        return real(raw, source, decode, max_pixels)

    monkeypatch.setattr(shards_mod, "to_sample", counting)
    monkeypatch.setattr(cache, "_shards", {})
    spec = StreamSpec(shards, batch_size=8, batches=8, seed=1, shuffle_buffer=4)
    tok = cache.CachedTokenizer(micro[1])
    plain = [list(ShardStream(spec, SPEC, sidecars, *micro, None, epoch=e)) for e in (0, 1)]
    seen = set(decoded)
    assert len(decoded) > len(seen)  # without the cache, epoch 2 decodes again
    decoded.clear()
    cached = [
        list(ShardStream(spec, SPEC, sidecars, micro[0], tok, None, epoch=e, cache=True)) for e in (0, 1, 0)
    ]
    assert all(_same(a, b) for a, b in zip(plain, cached[:2]))
    assert _same(cached[0], cached[2])
    assert sorted(decoded) == sorted(seen)  # with it, every sample is decoded once, ever
