"""--eval-every: eval's numbers in metrics.jsonl and TensorBoard at the due steps, on the world's eval
format and on a CLIP_benchmark wds folder, without changing the run's losses."""

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from hqclip.errors import UserError
from hqclip.eval.conftest import build_eval
from hqclip.eval.evaluation_test import zeroshot_wds
from hqclip.train import TrainConfig, run
from hqclip.train.finetune_test import _cfg as finetune_cfg


def _cfg(dataset, out: Path, **kw) -> TrainConfig:
    return finetune_cfg(dataset, out, **{"steps": 3, **kw})


def _rows(out: Path) -> list[dict]:
    return [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_eval_rows_at_step_0_every_n_and_the_end_leave_the_losses_unchanged(dataset, tmp_path):
    world = build_eval(tmp_path / "eval-world")
    run(_cfg(dataset, tmp_path / "plain"))
    run(_cfg(dataset, tmp_path / "watched", eval_every=2, eval_data=str(world)))
    rows = _rows(tmp_path / "watched")
    evals = [r for r in rows if "eval" in r]
    assert [r["step"] for r in evals] == [0, 2, 3]
    for r in evals:
        assert {"ZS top-1", "I→T R@1", "T→I R@1", "SugarCrepe"} <= set(r["eval"])
        assert all(0 <= v <= 1 for v in r["eval"].values())
    assert evals[0]["eval"] != evals[-1]["eval"]  # the model moved
    keys = ("step", "loss", "contrastive", "hni", "stc", "lr", "logit_scale")
    plain = [{k: r[k] for k in keys} for r in _rows(tmp_path / "plain")]
    assert [{k: r[k] for k in keys} for r in rows if "eval" not in r] == plain  # bit for bit
    events = EventAccumulator(str(tmp_path / "watched" / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("eval/ZS top-1")] == [0, 2, 3]


def test_eval_on_a_clip_benchmark_wds_folder(dataset, tmp_path):
    ev = build_eval(tmp_path / "eval-world") / "eval"
    zeroshot_wds(ev, tmp_path / "zs")
    run(_cfg(dataset, tmp_path / "run", steps=1, eval_every=5, eval_data=str(tmp_path / "zs")))
    evals = [r for r in _rows(tmp_path / "run") if "eval" in r]
    assert [r["step"] for r in evals] == [0, 1] and set(evals[0]["eval"]) == {"CB wds/zs"}


@pytest.mark.parametrize(
    "kw, said",
    [
        ({"eval_every": 5}, "give --eval-every and --eval-data together"),
        ({"eval_every": 0, "eval_data": "."}, "--eval-every 0: must be at least 1"),
        ({"eval_every": 5, "eval_data": "nowhere"}, "--eval-data nowhere: not a world folder"),
    ],
)
def test_eval_options_that_cannot_run_are_refused(dataset, tmp_path, kw, said):
    with pytest.raises(UserError, match=said):
        run(_cfg(dataset, tmp_path / "run", **kw))
