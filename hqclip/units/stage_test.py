import json
from functools import partial
from pathlib import Path

import pytest

from hqclip.data.atomic import write_text
from hqclip.errors import ConfigMismatch
from hqclip.units import resume
from hqclip.units.stage import run_stage


def square(unit: str, out_dir: str, fp: str, fail: str | None = None) -> dict:
    """A unit's output (its number squared) and done marker, or an error for the unit `fail`."""
    if Path(unit).name == fail:
        raise RuntimeError(f"{unit} failed")
    out = Path(out_dir) / Path(unit).name
    resume.mark_running(out)
    n = int(Path(unit).name)
    write_text(out, str(n * n))
    resume.mark_done(out, fp, {"n": n}, None)
    return {"n": n}


def total(finished, before, seconds):
    return {"sum": sum(s["n"] for s in finished.values()), "done_before": len(before)}


def stage(tmp_path, units, fail=None, parts=None, workers=1, overwrite=False):
    out = tmp_path / "out"
    return run_stage(
        "square",
        out,
        units,
        partial(square, out_dir=str(out), fail=fail),
        total,
        parts=parts or {"v": 1},
        config={},
        output_of=lambda u: out / u.name,
        workers=workers,
        overwrite=overwrite,
        progress=False,
    )


def test_a_rerun_does_only_what_is_left_and_the_stats_are_written_even_on_failure(tmp_path):
    units = [tmp_path / str(i) for i in range(1, 5)]
    with pytest.raises(RuntimeError, match="3 failed"):
        stage(tmp_path, units, fail="3")
    written = json.loads((tmp_path / "out" / "square-stats.json").read_text())
    assert written["sum"] == 1 + 2 and written["fingerprint"] == resume.fingerprint({"v": 1})
    stats = stage(tmp_path, units, workers=2)  # worker processes: the job pickles
    assert stats == {**written, "sum": 1 + 2 + 3 + 4, "done_before": 2}
    assert json.loads((tmp_path / "out" / "square-run.json").read_text())["parts"] == {"v": 1}
    assert (tmp_path / "out" / "4").read_text() == "16"


def test_another_configuration_needs_overwrite(tmp_path):
    units = [tmp_path / "1"]
    stage(tmp_path, units)
    with pytest.raises(ConfigMismatch, match="changed: v"):
        stage(tmp_path, units, parts={"v": 2})
    assert stage(tmp_path, units, parts={"v": 2}, overwrite=True)["done_before"] == 0
