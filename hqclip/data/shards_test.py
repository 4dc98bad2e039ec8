import json
import logging

import webdataset as wds

from hqclip.data.samples import SkipLog, derived_uid
from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.testimages import png


def good(i: int, uid: bool = True) -> dict:
    meta = {"uid": f"{i:032x}"} if uid else {}
    return {"__key__": f"{i:09d}", "png": png((i * 10 % 255, 0, 0)), "txt": f"caption {i}", "json": meta}


def test_written_shards_read_back_with_plain_webdataset_and_ours(tmp_path):
    paths = write_shards((good(i) for i in range(25)), tmp_path, maxcount=10)
    assert [p.name for p in paths] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    assert list_shards(tmp_path) == paths
    assert list_shards(str(tmp_path / "shard-{000000..000001}.tar")) == paths[:2]
    plain = list(wds.WebDataset([str(p) for p in paths], shardshuffle=False).decode("pil"))
    assert [s["txt"] for s in plain] == [f"caption {i}" for i in range(25)]
    assert plain[3]["png"].size == (16, 16)
    ours = [s for p in paths for s in iter_shard(p)]
    assert [s.uid for s in ours] == [f"{i:032x}" for i in range(25)]
    assert ours[0].image.mode == "RGB" and ours[0].ext == "png"
    assert not list(tmp_path.glob(".*tmp*")), "no temp files left behind"


def test_same_samples_give_identical_bytes(tmp_path):
    a = write_shards((good(i) for i in range(5)), tmp_path / "a")
    b = write_shards((good(i) for i in range(5)), tmp_path / "b")
    assert a[0].read_bytes() == b[0].read_bytes()


def test_missing_uid_is_derived_deterministically(tmp_path):
    (path,) = write_shards([good(1, uid=False)], tmp_path)
    (s,) = iter_shard(path)
    assert s.uid == derived_uid("shard-000000.tar", "000000001") and len(s.uid) == 32


def test_each_corrupt_sample_is_skipped_with_its_reason(tmp_path, caplog):
    big = png(size=(300, 300))
    bad = [
        {"__key__": "trunc", "png": png(size=(64, 64), noise=True)[:2000], "txt": "x"},
        {"__key__": "garbage", "png": b"not an image at all", "txt": "x"},
        {"__key__": "nocap", "png": png()},
        {"__key__": "latin1", "png": png(), "txt": "caf\xe9".encode("latin-1")},
        {"__key__": "bomb", "png": big, "txt": "x"},
        {"__key__": "badjson", "png": png(), "txt": "x", "json": b"{not json"},
        {"__key__": "noimage", "txt": "only text"},
    ]
    samples = [good(0), *bad[:4], good(1), *bad[4:], good(2)]
    (path,) = write_shards(samples, tmp_path)
    skips = SkipLog()
    with caplog.at_level(logging.WARNING, "hqclip.data"):
        got = list(iter_shard(path, skips, max_pixels=200 * 200))
    assert [s.key for s in got] == ["000000000", "000000001", "000000002"]
    assert skips.as_dict() == {
        "truncated_image": 1,
        "undecodable_image": 1,
        "missing_caption": 1,
        "non_utf8_text": 1,
        "decompression_bomb": 1,
        "bad_json": 1,
        "missing_image": 1,
    }
    assert f"{path}: sample latin1 skipped (non_utf8_text" in caplog.text


def test_truncated_shard_yields_what_precedes_the_cut(tmp_path):
    (path,) = write_shards((good(i) for i in range(10)), tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    skips = SkipLog()
    got = list(iter_shard(path, skips))
    assert 2 <= len(got) < 10
    assert [s.key for s in got] == [f"{i:09d}" for i in range(len(got))]
    assert skips.as_dict() == {"truncated_shard": 1}


def test_not_a_tar_is_one_skip_not_a_crash(tmp_path):
    path = tmp_path / "oops.tar"
    path.write_text("hello")
    skips = SkipLog()
    assert list(iter_shard(path, skips)) == []
    assert skips.as_dict() == {"unreadable_shard": 1}


def test_json_meta_survives(tmp_path):
    s = {**good(3), "json": {"uid": "ab" * 16, "scene": {"objects": []}}}
    (path,) = write_shards([s], tmp_path)
    (got,) = iter_shard(path, decode=False)
    assert got.meta == {"uid": "ab" * 16, "scene": {"objects": []}} and got.image is None
    assert json.loads(json.dumps(got.meta))


def test_reading_from_a_sample_boundary_gives_the_rest_of_the_shard(tmp_path):
    (path,) = write_shards((good(i) for i in range(12)), tmp_path)
    every = list(iter_shard(path, decode=False))
    assert every[0].offset == 0 and all(a.end == b.offset for a, b in zip(every, every[1:]))
    assert every[-1].end < path.stat().st_size  # the tar's end-of-archive blocks follow
    for i in (1, 5, 11):
        rest = list(iter_shard(path, decode=False, start=every[i].offset))
        assert [s.key for s in rest] == [s.key for s in every[i:]]
        assert [s.end for s in rest] == [s.end for s in every[i:]]
    assert list(iter_shard(path, start=every[-1].end)) == []
