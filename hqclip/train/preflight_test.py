"""Flags that give wrong gradients with several processes are refused before any work."""

import pytest

from hqclip.errors import UserError
from hqclip.train import TrainConfig, preflight


@pytest.mark.parametrize("local_loss", [True, False])
def test_no_gather_with_grad_is_refused_with_several_processes(dataset, tmp_path, local_loss):
    train_dir, sidecars = map(str, dataset)
    cfg = TrainConfig(train_dir, str(tmp_path), sidecars, local_loss=local_loss, gather_with_grad=False)
    with pytest.raises(UserError, match="--no-gather-with-grad with 2 processes gives wrong gradients"):
        preflight.check(cfg, world_size=2)
    assert preflight.check(cfg, world_size=1).shards  # one process: every flag is exact
