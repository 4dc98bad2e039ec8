import pytest

from hqclip.clip.configs import create
from hqclip.train.config import TrainConfig
from hqclip.train.module import HQCLIPModule
from hqclip.train.optim import adamw


@pytest.mark.parametrize(
    "model, given, want",
    [
        ("hqclip-micro", {}, ((0.9, 0.98), 1e-6)),  # a ViT image tower
        ("hqclip-tiny-rn", {}, ((0.9, 0.999), 1e-8)),  # a ResNet one
        ("hqclip-tiny-rn", {"beta1": 0.8, "beta2": 0.98, "eps": 1e-6}, ((0.8, 0.98), 1e-6)),
    ],
)
def test_adam_betas_and_eps_by_model_family_unless_given(model, given, want):
    clip = create(model)[0]
    cfg = TrainConfig(train_data="w", output="o", model=model, **given)
    group = adamw(HQCLIPModule(clip, None, 0), cfg).param_groups[0]
    assert (group["betas"], group["eps"]) == want
