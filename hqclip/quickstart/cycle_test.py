from hqclip.curate.conftest import refine_world
from hqclip.curate.filter import run_filter
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shard, list_shards
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.quickstart.cycle import RULES, detection, sentences, truth_scores
from hqclip.world.describe import holds


def test_detection_counts_what_the_rule_flags():
    d = detection(
        {
            "wrong": [True, True, False, False],
            "score": [0.1, 0.2, 0.3, 0.4],
            "margin": [-0.1, 0.05, 0.2, -0.01],
            "unknown": 0,
        }
    )
    assert d["auroc"] == {"score": 1.0, "margin": 0.75}
    assert (d["flagged"], d["precision"], d["recall"]) == (2, 0.5, 0.5)
    assert d["roc"]["score"][0] == 1.0 and len(d["roc"]["margin"]) == 101


def test_the_truth_as_scorer_drops_exactly_the_wrong_sentences(tmp_path):
    world, sidecars = refine_world(tmp_path, samples=100, shard_size=50)
    truth = sentences(world, sidecars)
    assert 0 < sum(truth["wrong"]) < len(truth["wrong"]) and truth["unknown"] == 0
    stats = run_filter(
        sidecars,
        truth_scores(world, sidecars, tmp_path / "truth"),
        tmp_path / "filtered",
        RULES,
        progress=False,
    )
    assert stats["why"]["min_margin"] == sum(truth["wrong"])
    kept = 0
    for shard in list_shards(world):
        scenes = {s.uid: s.meta["scene"] for s in iter_shard(shard, decode=False)}
        for uid, rec in read_annotations(sidecar_path(shard, tmp_path / "filtered"), SkipLog()).items():
            assert all(holds(scenes[uid], t) for t in rec["desc"])
            kept += len(rec["desc"])
    assert kept == stats["sentences_out"] == len(truth["wrong"]) - sum(truth["wrong"])
