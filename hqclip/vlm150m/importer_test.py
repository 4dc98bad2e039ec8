"""The VLM-150M import: the join by uid, named skips, archives, refusals, and Ray."""

import io
import json
import tarfile

import pytest

from hqclip.data.sidecar import read_sidecar
from hqclip.data.vlm150m import export_vlm150m
from hqclip.errors import UserError
from hqclip.vlm150m.conftest import NECKLACE, rec, released, rows_by_uid, shards_for, uid
from hqclip.vlm150m.importer import import_vlm150m


@pytest.mark.parametrize("img2dataset, buckets, workers", [(True, None, 1), (False, 4, 2)])
def test_import_joins_release_to_shards_by_uid(tmp_path, img2dataset, buckets, workers):
    records = {uid(i): rec(i) for i in range(12)}
    records[uid(3)] = {**rec(3), "lang": "en"}  # a field beyond the four survives
    released(tmp_path / "rel", records)
    # 3 shards of 4 images; uid 20 has no record, uids 10, 11 no image
    shards = shards_for(
        tmp_path / "img",
        [[uid(i) for i in s] for s in ([0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 20, 0])],
        img2dataset,
    )
    stats = import_vlm150m(
        tmp_path / "rel", tmp_path / "img", tmp_path / "sc", workers=workers, buckets=buckets, progress=False
    )
    assert sorted(p.name for p in (tmp_path / "sc").glob("*.parquet")) == [
        p.stem + ".parquet" for p in shards
    ]
    assert stats["records"] == 12 and stats["ok"] == 12
    assert stats["records_without_image"] == 2 and stats["images_without_record"] == 1
    assert stats["rows_written"] == 11  # uid 0 is in two shards: both images get its record
    third = {r["uid"]: r for r in read_sidecar(tmp_path / "sc" / "shard-000002.parquet")}
    assert sorted(third) == [uid(0), uid(8), uid(9)]
    assert third[uid(8)]["tags"] == rec(8)["tags"] and third[uid(8)]["key"] == "000000008"
    assert [r["key"] for r in read_sidecar(tmp_path / "sc" / "shard-000000.parquet")] == [
        f"{i:09d}" for i in range(4)
    ]  # in key order
    assert json.loads(rows_by_uid(tmp_path / "sc")[uid(3)]["extra"]) == {"lang": "en"}
    vocab = json.loads((tmp_path / "sc" / "vocab.json").read_text())
    assert vocab["counts"][0] == 2 and vocab["tags"][0] == "18k gold necklace 0"  # uid 0 twice
    assert not (tmp_path / "sc" / ".import").exists()
    again = import_vlm150m(
        tmp_path / "rel", tmp_path / "img", tmp_path / "sc", workers=workers, buckets=buckets, progress=False
    )
    assert again == stats  # done: nothing redone


def test_bad_input_is_a_named_counted_skip(tmp_path):
    rel = tmp_path / "rel"
    good = {uid(i): rec(i) for i in range(4)}
    released(rel, good, per_folder=10)
    f = rel / "00000"
    (f / f"{uid(5)}.json").write_text(json.dumps(["a", "list"]))
    (f / f"{uid(6)}.json").write_text(json.dumps({**NECKLACE, "neg_tags": NECKLACE["neg_tags"][:1]}))
    (f / f"{uid(7)}.json").write_text("{truncated")
    (f / "not-a-uid.json").write_text(json.dumps(NECKLACE))
    messy = {**NECKLACE, "tags": ["Gold  chain", "gold chain"], "neg_tags": ["silver chain", "tin chain"]}
    (f / f"{uid(8)}.json").write_text(json.dumps(messy))
    # a later part repeats uid 1 (the first one wins) and an archive breaks after its first member
    (rel / "00001").mkdir()
    (rel / "00001" / f"{uid(1)}.json").write_text(json.dumps(rec(99)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for i in (9, 10):
            data = json.dumps(rec(i)).encode()
            info = tarfile.TarInfo(f"00002/{uid(i)}.json")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    second = buf.getvalue().index(f"00002/{uid(10)}.json".encode())  # its header
    (rel / "00002.tar").write_bytes(buf.getvalue()[: second + 512 + 100])  # cut in its data
    shards_for(tmp_path / "img", [[uid(i) for i in range(12)]])
    stats = import_vlm150m(rel, tmp_path / "img", tmp_path / "sc", progress=False)
    assert stats["skipped"] == {
        "bad_json": 1,
        "bad_uid": 1,
        "duplicate_uid": 1,
        "invalid_record:misaligned:tags/neg_tags": 1,
        "not_an_object": 1,
        "unreadable_member": 1,
    }
    assert stats["ok"] == 6 and stats["normalized"] == 1  # 0-3, the repeat of 1, 9; and 8
    rows = rows_by_uid(tmp_path / "sc")
    assert sorted(rows) == [uid(i) for i in (0, 1, 2, 3, 8, 9)]
    assert rows[uid(1)]["tags"] == rec(1)["tags"]  # first in release order
    assert rows[uid(8)]["tags"] == ["Gold chain"] and rows[uid(8)]["reason"] == "normalized"
    assert json.loads(rows[uid(8)]["raw"]) == messy


def test_release_as_archives_round_trips_through_export(tmp_path):
    records = {uid(i): rec(i) for i in range(6)}
    files = released(tmp_path / "loose", records)
    with tarfile.open(tmp_path / "rel.tar.gz", "w:gz") as tf:  # a .tar.gz of the numbered folders
        tf.add(tmp_path / "loose" / "00000", "00000")
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel.tar.gz").rename(tmp_path / "rel" / "part-0.tar.gz")
    with tarfile.open(tmp_path / "rel" / "part-1.tar", "w") as tf:
        tf.add(tmp_path / "loose" / "00001", "00001")
    shards_for(tmp_path / "img", [[uid(i) for i in range(6)]])
    assert import_vlm150m(tmp_path / "rel", tmp_path / "img", tmp_path / "sc", progress=False)["ok"] == 6
    assert export_vlm150m(tmp_path / "sc", tmp_path / "out") == {"written": 6, "skipped_invalid": 0}
    out = {p.name: json.loads(p.read_text()) for p in (tmp_path / "out").rglob("*.json")}
    assert out == {k.split("/")[1]: v for k, v in files.items()}


@pytest.mark.parametrize(
    "args, buckets, needle",
    [
        (("nope", "img"), None, "--annotations"),
        (("empty", "img"), None, "no numbered folders"),
        (("rel", "nope"), None, "--input"),
        (("rel", "empty"), None, "no .tar shards"),
        (("rel", "img"), -4, "--buckets -4: a power of two"),
        (("rel", "img"), 0, "--buckets 0: a power of two"),
        (("rel", "img"), 6, "--buckets 6: a power of two"),
        (("nope", "img"), 131072, "--buckets 131072"),  # checked first
    ],
)
def test_usage_errors_name_what_to_pass(tmp_path, args, buckets, needle):
    released(tmp_path / "rel", {uid(0): rec(0)})
    shards_for(tmp_path / "img", [[uid(0)]])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=needle):
        import_vlm150m(
            tmp_path / args[0], tmp_path / args[1], tmp_path / "sc", buckets=buckets, progress=False
        )
    assert not (tmp_path / "sc").exists()  # refused before any work


@pytest.mark.slow
def test_ray_runner_gives_the_local_sidecars(tmp_path):
    pytest.importorskip("ray")
    released(tmp_path / "rel", {uid(i): rec(i) for i in range(40)}, per_folder=5)
    shards_for(tmp_path / "img", [[uid(i) for i in range(s, s + 10)] for s in (0, 10, 20, 35)])
    local = import_vlm150m(tmp_path / "rel", tmp_path / "img", tmp_path / "a", buckets=4, progress=False)
    ray = import_vlm150m(
        tmp_path / "rel",
        tmp_path / "img",
        tmp_path / "b",
        buckets=4,
        progress=False,
        runner="ray",
        ray_opts={"num_cpus": 1},
    )
    assert rows_by_uid(tmp_path / "a") == rows_by_uid(tmp_path / "b")
    assert {k: v for k, v in local.items() if k != "this_run"} == {
        k: v for k, v in ray.items() if k != "this_run"
    }
