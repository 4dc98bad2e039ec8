"""The device is what --device asks for, and a GPU asked for but not usable is refused in one line
(a CUDA build with a driver too old reports no GPU and would train on CPU without a word)."""

import pytest
import torch

from hqclip.errors import UserError
from hqclip.train import distributed

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a usable GPU")


@no_cuda
def test_cuda_asked_for_without_a_usable_gpu_is_refused():
    with pytest.raises(UserError, match="--device cuda: torch .* sees no usable GPU.*--device cpu"):
        distributed.init("cuda")


@no_cuda
def test_several_torchrun_processes_without_a_gpu_need_device_cpu(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # refused before the process group is set up
    with pytest.raises(UserError, match="2 torchrun processes but .* pass --device cpu"):
        distributed.init("auto")


def test_device_cpu_and_auto_on_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    d = distributed.init("cpu")
    assert (d.device, d.backend, d.world_size) == (torch.device("cpu"), "gloo", 1)
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert distributed.init("auto").device.type == want
    with pytest.raises(UserError, match="--device 'gpu': choose one of auto, cuda, cpu"):
        distributed.init("gpu")
