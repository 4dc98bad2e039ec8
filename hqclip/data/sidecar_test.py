from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import (
    list_sidecars,
    read_annotations,
    read_metadata,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

REC = {
    "desc": ["a red circle"],
    "neg_desc": ["a blue circle"],
    "tags": ["red circle"],
    "neg_tags": ["blue circle"],
}


def test_round_trip_join_and_metadata(tmp_path):
    path = sidecar_path("/data/shard-000003.tar", tmp_path)
    assert path.name == "shard-000003.parquet"
    rows = [
        {"uid": "a", "key": "0", **REC, "status": "ok", "attempts": 1, "latency_s": 0.5},
        {
            "uid": "b",
            "key": "1",
            "status": "invalid",
            "reason": "misaligned:desc/neg_desc",
            "raw": "{...",
            "attempts": 3,
        },
    ]
    write_sidecar(path, rows, {"fingerprint": "abc"})
    back = read_sidecar(path)
    assert back[0]["desc"] == REC["desc"] and back[1]["reason"] == "misaligned:desc/neg_desc"
    assert back[1]["desc"] is None and back[0]["model"] is None
    assert read_metadata(path) == {"fingerprint": "abc"}
    assert list_sidecars(tmp_path) == [path]
    assert read_annotations(path, SkipLog()) == {"a": REC}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-000003.parquet"]


def test_read_annotations_normalises_validates_and_counts(tmp_path):
    path = tmp_path / "s.parquet"
    messy = {**REC, "tags": ["Red  circle", "red circle"], "neg_tags": ["blue circle", "green circle"]}
    rows = [
        {"uid": "a", "status": "ok", **messy},
        {"uid": "b", "status": "ok", **REC, "neg_desc": REC["desc"]},  # negative equals positive
        {"uid": "c", "status": "invalid"},
    ]
    write_sidecar(path, rows)
    skips = SkipLog()
    assert read_annotations(path, skips) == {
        "a": {**REC, "tags": ["Red circle"], "neg_tags": ["blue circle"]}
    }
    assert skips.as_dict() == {"invalid_record:neg_equals_pos:neg_desc": 1}
    assert read_annotations(tmp_path / "missing.parquet", skips) == {}
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert read_annotations(tmp_path / "bad.parquet", skips) == {}
    assert skips.counts["unreadable_sidecar"] == 1
