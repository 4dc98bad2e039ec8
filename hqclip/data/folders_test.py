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
