"""`summarise` / `write_report` on sidecars whose every count is known, and on the world."""

from __future__ import annotations

import json

import pytest

from hqclip.curate.quality_report import summarise, write_report
from hqclip.curate.score_format import read_scores, write_scores
from hqclip.data.sidecar import write_sidecar

A = [
    {
        "uid": "u1",
        "key": "1",
        "status": "ok",
        "attempts": 1,
        "tokens_in": 100,
        "tokens_out": 20,
        "desc": ["a red cup on a table.", "the dog sleeps."],
        "neg_desc": ["a blue cup on a table.", "the dog barks."],
        "tags": ["red cup", "dog"],
        "neg_tags": ["blue cup", "cat"],
    },
    {
        "uid": "u2",
        "key": "2",
        "status": "invalid",
        "reason": "not_json",
        "attempts": 3,
        "tokens_in": 300,
        "tokens_out": 90,
        "raw": "Sure! The image shows",
    },
    {
        "uid": "u3",
        "key": "3",
        "status": "ok",
        "attempts": 2,
        "dropped": ["neg_equals_pos:neg_desc@1"],
        "desc": ["a dog chases a cat."],
        "neg_desc": ["a cat chases a dog."],
        "tags": ["dog"],
        "neg_tags": ["wolf"],
    },
]
B = [
    {"uid": "u4", "key": "4", "status": "invalid", "reason": "misaligned:desc/neg_desc"},
    {
        "uid": "u5",
        "key": "5",
        "status": "ok",
        "desc": ["two birds on a wire."],
        "neg_desc": ["two birds on a fence wire."],
        "tags": ["bird"],
        "neg_tags": ["fish"],
    },
]


@pytest.fixture
def sidecars(tmp_path):
    write_sidecar(tmp_path / "sc" / "a.parquet", A)
    write_sidecar(tmp_path / "sc" / "b.parquet", B)
    return tmp_path / "sc"


def test_every_count_of_a_known_dataset(sidecars, tmp_path):
    res = summarise(sidecars, samples=3, progress=False, work_dir=tmp_path / "work")
    assert (res["rows"], res["records"], res["valid_pct"], res["salvaged"]) == (5, 3, 60.0, 1)
    assert res["invalid_reasons"] == {"not_json": 1, "misaligned:desc/neg_desc": 1}
    assert res["attempts"] == {"1": 1, "2": 1, "3": 1}
    assert res["tokens"] == {
        "in": {"rows": 2, "total": 400, "mean": 200.0},
        "out": {"rows": 2, "total": 110, "mean": 55.0},
    }
    assert res["sentences"]["per_record"] == {"1": 2, "2": 1}
    assert res["sentences"]["words"] == {"3": 1, "5": 2, "6": 1}
    assert res["tags"]["per_record"] == {"1": 2, "2": 1} and res["tags"]["mean_words"] == 1.25
    assert res["top_tags"] == [["dog", 2], ["bird", 1], ["red cup", 1]]
    assert res["vocabulary"] == {"tags": 3, "neg_tags": 4, "description_words": 16}
    assert res["edits"] == {
        "desc": {"one word replaced": 2, "words swapped": 1, "words inserted": 1},
        "tags": {"one word replaced": 4},
    }  # the world's kinds only on request
    world = summarise(sidecars, samples=3, progress=False, world_kinds=True)["edits"]["world"]
    assert world == {"none": 3, "color": 1}  # red → blue: a world colour word
    assert "scores_summary" not in res
    assert len(res["samples"]) == 3 and len({s["row"]["uid"] for s in res["samples"]}) == 3
    other = summarise(sidecars, samples=3, seed=1, progress=False)
    assert {s["row"]["uid"] for s in other["samples"]} != {s["row"]["uid"] for s in res["samples"]}
    assert summarise(sidecars, samples=3, workers=2, progress=False)["samples"] == res["samples"]


def test_scores_give_histograms_and_every_file_is_written(sidecars, tmp_path):
    write_scores(
        tmp_path / "scores" / "a.parquet",
        [
            {
                "uid": "u1",
                "key": "1",
                "status": "ok",
                "alt": 0.3,
                "desc": [0.3, 0.1],
                "neg_desc": [0.2, 0.2],
                "margin": [0.1, -0.1],
                "tags": [0.2, 0.1],
                "neg_tags": [0.1, 0.3],
            },
            {"uid": "u2", "key": "2", "status": "no_record", "alt": 0.05},
            {
                "uid": "u3",
                "key": "3",
                "status": "ok",
                "alt": None,
                "desc": [0.25],
                "neg_desc": [0.3],
                "margin": [-0.05],
                "tags": [0.2],
                "neg_tags": [0.1],
            },
        ],
        {},
    )
    write_scores(
        tmp_path / "scores" / "b.parquet",
        [
            {"uid": "u4", "key": "4", "status": "no_record", "alt": 0.1},
            {
                "uid": "u5",
                "key": "5",
                "status": "ok",
                "alt": 0.2,
                "desc": [0.4],
                "neg_desc": [0.1],
                "margin": [0.3],
                "tags": [0.3],
                "neg_tags": [0.0],
            },
        ],
        {},
    )
    res = summarise(sidecars, tmp_path / "scores", samples=5, progress=False)
    s = res["scores_summary"]
    assert (s["alt"]["n"], s["desc"]["n"], s["margin"]["n"], s["tag_margin"]["n"]) == (4, 4, 4, 4)
    assert s["margin"]["below_zero"] == 0.5 and s["tag_margin"]["below_zero"] == 0.25
    assert s["desc"]["mean"] == pytest.approx(0.2625, abs=1e-6)
    paths = write_report(res, tmp_path / "report")
    assert {p.name for p in paths.values()} == {
        "report.json",
        "report.md",
        "samples.html",
        "counts.png",
        "edits.png",
        "scores.png",
    }
    saved = json.loads(paths["json"].read_text())
    assert saved["rows"] == 5 and sorted(saved["samples"]) == ["u1", "u2", "u3", "u4", "u5"]
    md = paths["markdown"].read_text()
    assert "**60.0% valid**" in md and "| not_json | 1 | 20.00 |" in md and "| margin | 4 |" in md
    page = paths["html"].read_text()
    assert page.count('class="sample"') == 5 and "Sure! The image shows" in page
    assert "pass --input for images" in page


def test_the_world_report_names_the_fine_kinds(scored, tmp_path):
    world, sidecars, scores = scored
    res = summarise(sidecars, scores, samples=4, progress=False, world_kinds=True)
    kinds = res["edits"]["world"]
    assert set(kinds) <= {"color", "size", "shape", "object", "relation", "binding"}
    assert (
        sum(kinds.values())
        == sum(res["edits"]["desc"].values())
        == sum(int(k) * v for k, v in res["sentences"]["per_record"].items())
    )
    assert 0 < res["valid_pct"] < 100 and "not_json" in res["invalid_reasons"]
    rows = [r for p in sorted(scores.glob("*.parquet")) for r in read_scores(p)]
    assert res["scores_summary"]["alt"]["n"] == sum(r["alt"] is not None for r in rows) > 0
    assert res["scores_summary"]["margin"]["n"] == sum(len(r["margin"] or ()) for r in rows)
