import json

from hqclip.data.folders import iter_folder
from hqclip.data.samples import SkipLog
from hqclip.data.testimages import png


def test_images_with_captions_in_name_order_bad_ones_skipped_and_a_restart_at_any_image(tmp_path):
    for key in ("a", "b", "c", "d"):
        (tmp_path / f"{key}.png").write_bytes(png((10, 20, 30)) if key != "c" else b"nope")
        if key != "b":
            (tmp_path / f"{key}.txt").write_text(f"caption {key}")
    (tmp_path / "a.json").write_text(json.dumps({"uid": "u-a"}))
    skips = SkipLog()
    got = list(iter_folder(tmp_path, skips))
    assert [(s.key, s.text, s.offset, s.end) for s in got] == [
        ("a", "caption a", 0, 1),
        ("d", "caption d", 3, 4),
    ]
    assert got[0].uid == "u-a" and len(got[1].uid) == 32 and got[1].image.size == (16, 16)
    assert skips.as_dict() == {"missing_caption": 1, "undecodable_image": 1}
    assert [s.key for s in iter_folder(tmp_path, start=got[0].end)] == ["d"]


def test_inputs_tell_img2dataset_files_folders_from_a_table_beside_its_images(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hqclip.data.inputs import resolve_inputs

    files = tmp_path / "files"  # img2dataset --output_format files: metadata parquet beside each folder
    (files / "00000").mkdir(parents=True)
    (files / "00000" / "000000000.png").write_bytes(png((1, 2, 3)))
    (files / "00000" / "000000000.txt").write_text("a caption")
    pq.write_table(
        pa.Table.from_pylist([{"url": "http://x/y.png", "caption": "a caption"}]), files / "00000.parquet"
    )
    assert resolve_inputs(files) == [files / "00000"]
    table = tmp_path / "table"  # a caption table with its images in a subfolder (no .txt there)
    (table / "images").mkdir(parents=True)
    (table / "images" / "0.png").write_bytes(png((1, 2, 3)))
    (table / "captions.csv").write_text("image,caption\nimages/0.png,a caption\n")
    assert resolve_inputs(table) == [table / "captions.csv"]
