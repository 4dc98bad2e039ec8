"""`run_filter`: the rules, sidecars that training reads, the drop log, the percentile threshold,
resume."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from hqclip.curate.filter import EDGES, Rules, judge, run_filter
from hqclip.curate.score_format import read_scores, write_scores
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import SIDECAR_SCHEMA, read_annotations, read_sidecar
from hqclip.data.vocab import read_vocab
from hqclip.errors import ConfigMismatch, UserError
from hqclip.schema import validate


def sc(desc, neg, alt=0.1):
    return {"alt": alt, "desc": desc, "neg_desc": neg, "margin": [p - n for p, n in zip(desc, neg)]}


@pytest.mark.parametrize(
    "rules, scores, keep, why",
    [
        (Rules(min_margin=0.0), sc([0.3, 0.2], [0.1, 0.25]), [0], [("min_margin", 1, 0.2)]),
        (Rules(min_score=0.25), sc([0.3, 0.2], [0.1, 0.0]), [0], [("min_score", 1, 0.2)]),
        (
            Rules(min_margin=0.0, min_score=0.25),
            sc([0.3, 0.2], [0.4, 0.0]),
            [],
            [("min_margin", 0, 0.3), ("min_score", 1, 0.2), ("no_sentence_left", None, None)],
        ),
        # DFN-style: judged on the alt-text and every sentence before the sentence rules
        (
            Rules(min_sample_score=0.25, min_margin=0.0),
            sc([0.2, 0.1], [0.0, 0.0], alt=0.24),
            [],
            [("min_sample_score", None, 0.24)],
        ),
        (Rules(min_sample_score=0.25), sc([0.2, 0.1], [0.0, 0.0], alt=0.3), [0, 1], []),
        (Rules(min_sample_score=0.25), sc([0.2, 0.3], [0.0, 0.0], alt=None), [0, 1], []),
    ],
)
def test_rules(rules, scores, keep, why):
    assert judge(scores, rules) == (keep, why)


def test_filtered_sidecars_are_what_training_reads(scored, tmp_path):
    world, sidecars, scores = scored
    out = tmp_path / "filtered"
    stats = run_filter(sidecars, scores, out, Rules(min_margin=0.0), progress=False)
    dropped = pq.read_table(out / "drops").to_pylist()
    sentences = [d for d in dropped if d["what"] == "sentence"]
    assert stats["why"]["min_margin"] == len(sentences) > 0
    assert stats["sentences_in"] - stats["sentences_out"] == len(sentences)
    assert all(d["margin"] < 0 for d in sentences)
    emptied = {d["uid"] for d in dropped if d["why"] == "no_sentence_left"}
    assert stats["records_in"] - stats["records_out"] == len(emptied) > 0
    for src in sorted(sidecars.glob("*.parquet")):
        before, after = read_sidecar(src), read_sidecar(out / src.name)
        assert pq.read_schema(out / src.name).names == SIDECAR_SCHEMA.names
        assert [r["uid"] for r in after] == [r["uid"] for r in before]  # every row kept, in order
        scores_by_uid = {r["uid"]: r for r in read_scores(scores / src.name)}
        for b, a in zip(before, after):
            if b["status"] != "ok":
                assert a == b
                continue
            s = scores_by_uid[b["uid"]]
            keep = [i for i, m in enumerate(s["margin"]) if m >= 0]
            pairs = [(b["desc"][i], b["neg_desc"][i]) for i in keep]  # each with its own negative
            if not keep:
                assert (a["status"], a["reason"]) == ("invalid", "filtered:no_sentence_left")
                assert b["uid"] in emptied
            else:
                assert list(zip(a["desc"], a["neg_desc"])) == pairs
                assert (a["tags"], a["neg_tags"]) == (b["tags"], b["neg_tags"])
                assert validate({f: a[f] for f in ("desc", "neg_desc", "tags", "neg_tags")}) is None
        assert len(read_annotations(out / src.name, SkipLog())) == sum(r["status"] == "ok" for r in after)
    assert read_vocab(out, 5)  # the linear STC head's vocabulary, beside the sidecars

    again = run_filter(sidecars, scores, out, Rules(min_margin=0.0), progress=False)
    assert again == stats  # done shards are not redone
    with pytest.raises(ConfigMismatch, match="rules"):
        run_filter(sidecars, scores, out, Rules(min_margin=0.05), progress=False)


def test_bottom_percent_drops_that_share_of_sentence_scores(scored, tmp_path):
    world, sidecars, scores = scored
    all_scores = np.array(
        [v for p in sorted(scores.glob("*.parquet")) for r in read_scores(p) for v in (r["desc"] or ())]
    )
    stats = run_filter(sidecars, scores, tmp_path / "f", Rules(drop_bottom_pct=20), progress=False)
    cut, n = stats["rules"]["min_score"], len(all_scores)
    # at most the asked share, and one bin (3e-5) higher would be more than it
    assert stats["why"]["min_score"] == (all_scores < cut).sum() <= 0.2 * n
    assert (all_scores < cut + (EDGES[1] - EDGES[0])).sum() > 0.2 * n


def test_a_filter_without_a_rule_is_refused(scored, tmp_path):
    world, sidecars, scores = scored
    with pytest.raises(UserError, match="no rule given"):
        run_filter(sidecars, scores, tmp_path / "f", Rules(), progress=False)
    assert not (tmp_path / "f").exists()


def test_a_record_without_scores_is_kept_as_it_is(scored, tmp_path):
    world, sidecars, scores = scored
    mine = tmp_path / "scores"
    shutil.copytree(scores, mine)
    first = sorted(mine.glob("*.parquet"))[0]
    rows = read_scores(first)
    i = next(i for i, r in enumerate(rows) if r["status"] == "ok")
    rows[i] = {"uid": rows[i]["uid"], "key": rows[i]["key"], "status": "input:undecodable_image"}
    write_scores(first, rows, {})
    stats = run_filter(sidecars, mine, tmp_path / "f", Rules(min_margin=1.0), progress=False)
    assert stats["unscored"] == 1 and stats["records_out"] == 1  # margin < 1 drops all the others
    kept = read_annotations(tmp_path / "f" / first.name, SkipLog())
    assert list(kept) == [rows[i]["uid"]]
    assert kept[rows[i]["uid"]] == read_annotations(sidecars / first.name, SkipLog())[rows[i]["uid"]]
