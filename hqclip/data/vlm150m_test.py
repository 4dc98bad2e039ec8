import json

from hqclip.data.sidecar import read_sidecar
from hqclip.data.vlm150m import export_vlm150m, import_vlm150m

NECKLACE = {
    "desc": ["the image shows a vintage women's necklace made of 18K gold",
             "the pendant is shaped like a heart"],
    "neg_desc": ["the image shows a modern men's necklace made of silver",
                 "the pendant is shaped like a star"],
    "tags": ["vintage necklace", "18K gold necklace", "heart pendant"],
    "neg_tags": ["modern necklace", "silver necklace", "star pendant"],
}


def _released(root):
    files = {}
    for folder in ("00000", "00001"):
        for k in range(3):
            uid = f"{int(folder) * 10 + k:032x}"
            rec = {**NECKLACE, "tags": [f"{t} {k}" for t in NECKLACE["tags"]]}
            if k == 2:
                rec["lang"] = "en"  # a field beyond the four survives the round trip
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{uid}.json").write_text(json.dumps(rec, ensure_ascii=False))
            files[f"{folder}/{uid}.json"] = rec
    return files


def test_lossless_round_trip(tmp_path):
    files = _released(tmp_path / "released")
    counts = import_vlm150m(tmp_path / "released", tmp_path / "sidecars")
    assert counts == {"ok": 6, "normalized": 0, "invalid": 0}
    assert sorted(p.name for p in (tmp_path / "sidecars").iterdir()) == ["00000.parquet", "00001.parquet"]
    assert export_vlm150m(tmp_path / "sidecars", tmp_path / "out") == {"written": 6, "skipped_invalid": 0}
    out = {str(p.relative_to(tmp_path / "out")): json.loads(p.read_text())
           for p in (tmp_path / "out").rglob("*.json")}
    assert out == files


def test_invalid_and_fixable_records_are_kept_with_reasons(tmp_path):
    src = tmp_path / "released" / "00000"
    src.mkdir(parents=True)
    (src / "a.json").write_text(json.dumps({**NECKLACE, "neg_tags": NECKLACE["neg_tags"][:1]}))
    dup = {**NECKLACE, "tags": ["Gold  chain", "gold chain"], "neg_tags": ["silver chain", "tin chain"]}
    (src / "b.json").write_text(json.dumps(dup))
    (src / "c.json").write_text("{truncated")
    counts = import_vlm150m(tmp_path / "released", tmp_path / "sc")
    assert counts == {"ok": 0, "normalized": 1, "invalid": 2}
    rows = {r["uid"]: r for r in read_sidecar(tmp_path / "sc" / "00000.parquet")}
    assert rows["a"]["status"] == "invalid" and rows["a"]["reason"] == "misaligned:tags/neg_tags"
    assert rows["b"]["status"] == "ok" and rows["b"]["tags"] == ["Gold chain"]
    assert json.loads(rows["b"]["raw"]) == dup
    assert "c" not in rows
