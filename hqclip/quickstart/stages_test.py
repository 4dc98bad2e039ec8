from hqclip.quickstart.stages import _same_config, step_of
from hqclip.train import TrainConfig


def test_a_run_recorded_before_a_new_option_still_matches_at_its_default():
    cfg = TrainConfig(train_data="w", output="o")
    recorded = cfg.to_dict()
    del recorded["alt_neg"]  # a done.json written before the option existed
    assert _same_config(recorded, cfg)
    assert not _same_config(recorded, TrainConfig(train_data="w", output="o", alt_neg=True))
    assert not _same_config({**recorded, "lr": 1.0}, cfg)


def test_step_of_reads_the_checkpoint_name(tmp_path):
    assert step_of(tmp_path / "checkpoints" / "step_00000250.pt") == 250
