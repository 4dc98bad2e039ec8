"""Bad input: missing images, malformed entries, unparseable files and undecodable images are
skipped, counted and named (file, entry); everything else is still scored."""

from __future__ import annotations

import json
import shutil

import pytest

from hqclip.errors import UserError
from hqclip.eval import evaluate
from hqclip.eval.splits import Skips, load_splits


def _edit(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def test_bad_entries_are_skipped_counted_and_named(world, tiny_model_name, tmp_path):
    w = shutil.copytree(world, tmp_path / "w")
    ev = w / "eval"
    _edit(
        ev / "zeroshot/samples.json",
        lambda d: d.extend(
            [
                {"filename": "images/missing.png", "label": 0},
                {"filename": "images/zs-000000.png", "label": 99},
                "not an object",
            ]
        ),
    )
    _edit(
        ev / "retrieval/captions.json",
        lambda d: d.extend(
            [
                {"filename": "images/ret-000000.png", "captions": []},
                {"filename": "images/gone.png", "captions": ["a red circle"]},
            ]
        ),
    )
    _edit(
        ev / "sugarcrepe/replace_att.json",
        lambda d: d.update({"x": {"filename": "images/sc-replace_att-000000.png", "caption": "c"}}),
    )
    (ev / "sugarcrepe/broken.json").write_text('{"0": {"filename": ')
    (ev / "winoground/images/wg-000001-1.png").write_bytes(b"not a png")

    res = evaluate([f"a={tiny_model_name}", f"b={tiny_model_name}"], w, batch_size=8)

    assert res["skipped"]["counts"] == {
        "bad_json": 1,
        "image_not_found": 2,
        "malformed_entry": 4,
        "undecodable_image": 1,
    }  # once, though two models ran
    named = {(e["file"].split("/eval/")[1], e["entry"], e["reason"]) for e in res["skipped"]["entries"]}
    assert named == {
        ("zeroshot/samples.json", "18", "image_not_found"),
        ("zeroshot/samples.json", "19", "malformed_entry"),
        ("zeroshot/samples.json", "20", "malformed_entry"),
        ("retrieval/captions.json", "12", "malformed_entry"),
        ("retrieval/captions.json", "13", "image_not_found"),
        ("sugarcrepe/replace_att.json", "x", "malformed_entry"),
        ("sugarcrepe/broken.json", "*", "bad_json"),
        ("winoground/examples.json", "1", "undecodable_image"),
    }
    for label in ("a", "b"):
        r = res["models"][label]
        assert (r["zeroshot"]["n"], r["retrieval"]["n_images"], r["winoground"]["n"]) == (18, 12, 3)
        assert set(r["sugarcrepe"]) == {"replace_att", "swap_att", "mean"}


def test_missing_folder_and_malformed_classes(tmp_path):
    skips = Skips()
    (tmp_path / "zeroshot").mkdir()
    (tmp_path / "zeroshot/classes.json").write_text(
        json.dumps({"classnames": ["a"], "templates": ["no slot"]})
    )
    (tmp_path / "zeroshot/samples.json").write_text("[]")
    with pytest.raises(UserError, match="no eval splits found"):
        load_splits(tmp_path, skips)
    assert [(i["entry"], i["reason"]) for i in skips.items] == [("*", "bad_json")]
