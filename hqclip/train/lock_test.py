"""Tower locking: trainable parameters of each setting against a count by hand, and refusals."""

import pytest
import torch
from torch import nn

from hqclip.clip.configs import create, model_config
from hqclip.errors import UserError
from hqclip.train import lock
from hqclip.train.config import TrainConfig

# hqclip-micro by hand: width w = 64 in both towers, 2 blocks each, embed_dim 64, 32 px, patch 8
W = 64
BLOCK = 12 * W * W + 13 * W  # ln_1, attn in/out proj (+ biases), ln_2, mlp 4w (+ biases)
BLOCK_LN = 4 * W  # its two LayerNorms, weight + bias
LN = 2 * W
VISION = 3 * 8 * 8 * W + W + (16 + 1) * W + LN + 2 * BLOCK + LN + W * W  # conv1 cls pos ln_pre .. proj
TEXT = 49408 * W + 77 * W + 2 * BLOCK + LN + W * W  # token, positional, blocks, ln_final, projection
ALL = VISION + TEXT + 1  # + logit_scale


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(train_data="-", output="-", model="hqclip-micro", **kw)


def _trainable(**kw) -> int:
    clip = create("hqclip-micro")[0]
    assert lock.trainable(clip) == (ALL, ALL)
    lock.lock(clip, _cfg(**kw))
    return lock.trainable(clip)[0]


@pytest.mark.parametrize(
    "kw, want",
    [
        ({}, ALL),
        ({"lock_image": True}, ALL - VISION),
        ({"lock_image": True, "lock_image_unlocked_groups": 1}, ALL - VISION + W * W),
        ({"lock_image": True, "lock_image_unlocked_groups": 2}, ALL - VISION + W * W + BLOCK + LN),
        ({"lock_image": True, "lock_image_unlocked_groups": 9}, ALL),
        ({"lock_text": True}, ALL - TEXT + 2 * BLOCK_LN + LN),  # LayerNorms of locked layers train
        ({"lock_text": True, "lock_text_freeze_layer_norm": True}, ALL - TEXT),
        (
            {"lock_text": True, "lock_text_freeze_layer_norm": True, "lock_text_unlocked_layers": 1},
            ALL - TEXT + W * W,
        ),
        (
            {"lock_text": True, "lock_text_freeze_layer_norm": True, "lock_text_unlocked_layers": 2},
            ALL - TEXT + W * W + BLOCK + LN,
        ),
        ({"lock_text": True, "lock_text_freeze_layer_norm": True, "lock_text_unlocked_layers": 4}, ALL),
        ({"lock_image": True, "lock_text": True, "lock_text_freeze_layer_norm": True}, 1),
    ],
)
def test_trainable_parameters_match_a_count_by_hand(kw, want):
    assert _trainable(**kw) == want


def test_a_locked_resnet_tower_freezes_its_batchnorm_statistics():
    clip = create("hqclip-tiny-rn")[0]
    visual = sum(p.numel() for p in clip.visual.parameters())
    total = lock.trainable(clip)[1]
    lock.lock(
        clip, TrainConfig("-", "-", model="hqclip-tiny-rn", lock_image=True, lock_image_freeze_bn_stats=True)
    )
    assert not any(isinstance(m, nn.BatchNorm2d) for m in clip.visual.modules())
    assert lock.trainable(clip)[0] == total - visual
    clip.train()
    before = {k: v.clone() for k, v in clip.visual.state_dict().items()}
    clip.encode_image(torch.rand(2, 3, 32, 32))
    assert all(torch.equal(before[k], v) for k, v in clip.visual.state_dict().items())


@pytest.mark.parametrize(
    "kw, said",
    [
        (
            {"lock_image_unlocked_groups": 1},
            "--lock-image-unlocked-groups applies to a locked tower: add --lock-image",
        ),
        ({"lock_text_freeze_layer_norm": True}, "--lock-text-freeze-layer-norm applies to a locked tower"),
        (
            {"lock_text": True, "lock_text_unlocked_layers": -1},
            "--lock-text-unlocked-layers -1: must be 0 or more",
        ),
    ],
)
def test_lock_options_that_cannot_apply_are_refused(kw, said):
    with pytest.raises(UserError, match=said):
        lock.check(_cfg(**kw), model_config("hqclip-micro"))


def test_partial_lock_of_a_resnet_is_refused_before_the_model_is_built():
    cfg = TrainConfig("-", "-", model="hqclip-tiny-rn", lock_image=True, lock_image_unlocked_groups=1)
    with pytest.raises(UserError, match="ResNet image tower locks only whole"):
        lock.check(cfg, model_config("hqclip-tiny-rn"))
