import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hqclip.data.samples import SkipLog
from hqclip.data.tables import iter_table
from hqclip.data.testimages import png


@pytest.fixture
def images(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(3):
        (tmp_path / "img" / f"{i}.png").write_bytes(png((i * 50, 0, 0)))
    (tmp_path / "img" / "broken.png").write_bytes(b"nope")
    return tmp_path


def test_csv_with_bad_rows(images):
    table = images / "captions.csv"
    rows = [
        b"filepath,caption,uid",
        b"img/0.png,a red thing,u0",
        b"img/missing.png,gone,",
        b"img/1.png,caf\xe9 latin1,",
        b"img/broken.png,broken,",
        b"img/2.png,fine,",
    ]
    table.write_bytes(b"\n".join(rows) + b"\n")
    skips = SkipLog()
    got = list(iter_table(table, skips=skips))
    assert [s.text for s in got] == ["a red thing", "fine"]
    assert got[0].uid == "u0" and len(got[1].uid) == 32 and got[1].image.size == (16, 16)
    assert skips.as_dict() == {"missing_image": 1, "non_utf8_text": 1, "undecodable_image": 1}


def test_parquet_and_jsonl_read_the_same(images):
    rows = [{"image": f"img/{i}.png", "text": f"caption {i}"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), images / "t.parquet")
    (images / "t.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    a = [(s.text, s.image_bytes) for s in iter_table(images / "t.parquet")]
    skips = SkipLog()
    b = [(s.text, s.image_bytes) for s in iter_table(images / "t.jsonl", skips=skips)]
    assert a == b and len(a) == 3
    assert skips.as_dict() == {"bad_json": 1}


def test_missing_columns_are_a_clear_error(images):
    (images / "t.csv").write_text("picture,words\nimg/0.png,x\n")
    with pytest.raises(ValueError, match="no image path column"):
        list(iter_table(images / "t.csv"))


def test_key_column_and_a_restart_at_any_row(images):
    rows = [{"key": f"k{i}", "image": f"img/{i}.png", "text": f"caption {i}"} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows), images / "t.parquet")
    got = list(iter_table(images / "t.parquet", decode=False))
    assert [(s.key, s.offset, s.end) for s in got] == [("k0", 0, 1), ("k1", 1, 2), ("k2", 2, 3)]
    assert [s.key for s in iter_table(images / "t.parquet", start=got[1].offset)] == ["k1", "k2"]
