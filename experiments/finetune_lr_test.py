import pytest

from experiments.finetune_lr import sweep
from hqclip.quickstart.plan import Plan


def test_the_sweep_refuses_the_reported_world(tmp_path):
    with pytest.raises(ValueError, match="tuning world"):
        sweep(Plan(), tmp_path, [1e-3])
    assert not any(tmp_path.iterdir())  # refused before any work
