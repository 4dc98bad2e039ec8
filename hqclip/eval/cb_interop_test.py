"""CLIP_benchmark moves its data to the bare device type ("cuda" = the current GPU), so it runs with
the model's GPU made current. What is checked here is the context picked for a device (no GPU on the
test machine to enter it with)."""

import contextlib

import torch

from hqclip.eval.cb_interop import current_device


def test_the_models_gpu_is_made_current_and_the_cpu_is_left_alone():
    ctx = current_device(torch.device("cuda", 1))
    assert isinstance(ctx, torch.cuda.device) and ctx.idx == 1
    assert isinstance(current_device(torch.device("cpu")), contextlib.nullcontext)
    with current_device(torch.device("cpu")):
        pass
