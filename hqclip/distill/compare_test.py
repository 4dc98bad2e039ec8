"""`hqclip compare` on two hand-made annotation sets whose overlap is known, so every F1, the
validity, the edit kinds and the text scores have a value worked out by hand."""

import json

from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.data.sidecar import write_sidecar

D1 = "a red circle is on the left."
D2 = "a big blue square."


def _row(uid, desc, neg_desc, tags, neg_tags):
    return {
        "uid": uid,
        "key": uid,
        "status": "ok",
        "desc": desc,
        "neg_desc": neg_desc,
        "tags": tags,
        "neg_tags": neg_tags,
    }


def _sets(tmp_path):
    ref = [
        _row(
            "u1",
            [D1],
            ["a blue circle is on the left."],
            ["red circle", "left circle", "a", "b"],
            ["blue circle", "right circle", "c", "d"],
        ),
        _row(
            "u2", [D2], ["a big red square."], ["blue square", "big square"], ["red square", "small square"]
        ),
        _row("u3", [D1], ["a red square is on the left."], ["x"], ["y"]),
        _row("u4", [D2], ["a big blue circle."], ["x"], ["y"]),
    ]
    cand = [
        # tags: 2 of 4 agree (F1 0.5); neg_tags: all 4 agree, case and spaces aside
        _row(
            "u1",
            [D1],
            ["a circle red is on the left."],
            ["Red  circle", "left circle", "e", "f"],
            ["Blue circle", "right circle", "c", "d"],
        ),
        # identical tags (F1 1); neg_tags 1 of 2
        _row(
            "u2",
            [D2],
            ["a big blue square is here."],
            ["blue square", "big square"],
            ["red square", "tiny square"],
        ),
        {"uid": "u3", "key": "u3", "status": "invalid", "reason": "not_json"},
        _row("u5", [D2], ["a small blue square."], ["x"], ["y"]),  # not in the reference
    ]
    write_sidecar(tmp_path / "ref" / "shard-000000.parquet", ref)
    write_sidecar(tmp_path / "cand" / "shard-000000.parquet", cand)
    return tmp_path / "ref", tmp_path / "cand"


def test_known_overlap_gives_the_known_agreement(tmp_path):
    ref, cand = _sets(tmp_path)
    out = tmp_path / "report"
    res = CliRunner().invoke(
        app,
        ["compare", "--reference", str(ref), "--candidate", str(cand), "--output", str(out), "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    r = json.loads((out / "compare.json").read_text())
    assert r["samples"] == 3 and r["both_valid"] == 2 and r["unmatched_samples"] == 2
    assert r["reference"]["valid_pct"] == 100.0 and r["candidate"]["valid_pct"] == round(200 / 3, 2)
    assert r["candidate"]["invalid_reasons"] == {"not_json": 1}
    # tags: u1 tp 2 fp 2 fn 2, u2 tp 2 → P = R = 4/6; macro (0.5 + 1) / 2
    assert r["tags"] == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "macro_f1": 0.75}
    # neg_tags: u1 tp 4, u2 tp 1 fp 1 fn 1 → P = R = 5/6; macro (1 + 0.5) / 2
    assert r["neg_tags"] == {"precision": 0.8333, "recall": 0.8333, "f1": 0.8333, "macro_f1": 0.75}
    assert r["description"] == {"rouge_l": 1.0, "bleu": 100.0}  # the same descriptions
    assert r["reference"]["edits"]["desc"] == {"one word replaced": 3}
    assert r["candidate"]["edits"]["desc"] == {"words swapped": 1, "words inserted": 1}
    assert r["candidate"]["edits"]["tags"] == {"one word replaced": 6}
    md = (out / "compare.md").read_text()
    assert md.startswith(f"# Annotation agreement: {cand} (candidate) against {ref} (reference)\n")
    assert "| tags | 0.667 | 0.667 | 0.667 | 0.750 |" in md and "| not_json | 0 | 1 |" in md
    assert (out / "compare.png").stat().st_size > 0


def test_the_clip_cosine_of_equal_descriptions_is_one(tmp_path):
    from hqclip.distill.compare import compare

    ref, cand = _sets(tmp_path)
    res = compare(ref, cand, model="hqclip-micro", progress=False)
    assert abs(res["description"]["clip_cosine"] - 1.0) < 1e-4
    assert res["description"]["clip_model"] == "hqclip-micro"


def test_sets_of_other_samples_are_refused(tmp_path):
    ref, cand = _sets(tmp_path)
    write_sidecar(tmp_path / "other" / "shard-000009.parquet", [_row("z", [D1], [D2], ["x"], ["y"])])
    write_sidecar(tmp_path / "disjoint" / "shard-000000.parquet", [_row("z", [D1], [D2], ["x"], ["y"])])
    for other, says in (
        ("other", "no sidecar has the name of one in --reference"),
        ("disjoint", "none of its uids is in --reference"),
        ("missing", "--candidate " + str(tmp_path / "missing") + ": no such folder"),
    ):
        res = CliRunner().invoke(
            app,
            [
                "compare",
                "--reference",
                str(ref),
                "--candidate",
                str(tmp_path / other),
                "--no-progress",
                "--output",
                str(tmp_path / "r"),
            ],
        )
        line = res.stderr.strip()
        assert res.exit_code == 2 and line.startswith("hqclip compare: ") and "\n" not in line, res.output
        assert says in line
