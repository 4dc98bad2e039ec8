"""WiSE-FT on real open_clip models: the ends reproduce their inputs bit for bit through
`open_clip.create_model(name, pretrained=path)`, the middle is linear, integer buffers come from
the fine-tuned model, and two architectures are refused at the first differing key."""

from __future__ import annotations

import open_clip
import pytest
import torch

from hqclip.clip.configs import create
from hqclip.clip.wise_ft import check_same_architecture, interpolate, parse_alphas, write
from hqclip.errors import UserError

MICRO, RN = "hqclip-micro", "hqclip-tiny-rn"


def weights(name: str, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return create(name)[0].state_dict()


def test_ends_reproduce_their_inputs_and_the_middle_is_linear(tmp_path):
    zs, ft = weights(MICRO, 0), weights(MICRO, 1)
    paths = write(tmp_path, MICRO, zs, ft, [0, 0.25, 0.5, 1], {"model": MICRO})
    loaded = {a: open_clip.create_model(MICRO, pretrained=str(p)).state_dict() for a, p in paths.items()}
    for alpha, want in ((0, zs), (1, ft)):
        assert all(torch.equal(loaded[alpha][k], v) for k, v in want.items()), alpha
    for alpha in (0.25, 0.5):
        for k in zs:
            assert torch.allclose(loaded[alpha][k], (1 - alpha) * zs[k] + alpha * ft[k], rtol=1e-6, atol=1e-7)
    assert not torch.equal(loaded[0.5]["visual.proj"], zs["visual.proj"])
    assert torch.load(paths[0.25], weights_only=True)["wise_ft"] == {"model": MICRO, "alpha": 0.25}


def test_integer_buffers_come_from_the_fine_tuned_model():
    zs, ft = weights(RN, 0), weights(RN, 1)
    counters = [k for k, v in ft.items() if not v.is_floating_point()]
    assert counters and all(k.endswith("num_batches_tracked") for k in counters)
    for k in counters:
        ft[k] = ft[k] + 7
    var = "visual.bn1.running_var"  # a float buffer: interpolated like the weights
    ft[var] = 3 * zs[var]
    mid = interpolate(zs, ft, 0.5)
    assert all(torch.equal(mid[k], ft[k]) for k in counters)
    assert torch.allclose(mid[var], 2 * zs[var])
    assert all(torch.equal(interpolate(zs, ft, 0)[k], zs[k]) for k in counters)


def test_two_architectures_are_refused_at_the_first_differing_key():
    micro, tiny = weights(MICRO, 0), weights("hqclip-tiny", 0)
    with pytest.raises(
        UserError, match=r"not one architecture: first difference at positional_embedding \(shape"
    ):
        check_same_architecture(MICRO, micro, tiny, ("a.pt", "b.pt"))
    missing = {k: v for k, v in micro.items() if k != "logit_scale"}
    with pytest.raises(UserError, match=r"first difference at logit_scale \(only in --zero-shot\)"):
        check_same_architecture(MICRO, micro, missing, ("a.pt", "b.pt"))
    with pytest.raises(
        UserError, match=r"do not fit --model hqclip-tiny: first difference at positional_embedding"
    ):
        check_same_architecture("hqclip-tiny", micro, micro, ("a.pt", "b.pt"))


@pytest.mark.parametrize("text", ["", "0.5,x", "1.5", "-0.1,0"])
def test_bad_alphas(text):
    with pytest.raises(UserError, match="--alpha"):
        parse_alphas(text)
    assert parse_alphas("1, 0,0.5,0.5") == [0.0, 0.5, 1.0]
