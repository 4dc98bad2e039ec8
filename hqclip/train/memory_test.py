"""The per-rank memory estimate reproduces the ViT-B-16 measurement it is scaled from, and refuses a
batch that clearly cannot fit, naming the fix."""

import pytest

from hqclip.clip.configs import model_config
from hqclip.errors import UserError
from hqclip.train import memory


def test_vit_b16_at_the_readme_batch_matches_the_measurement():
    cfg = model_config("ViT-B-16")
    texts = memory.texts_per_image(hni=True, stc_text_head=False, max_tags=2)
    plain = memory.estimate(cfg, 1024, texts, "bf16", grad_checkpointing=False)
    ckpt = memory.estimate(cfg, 1024, texts, "bf16", grad_checkpointing=True)
    # notes/review-gpu.md: 1024 × 56.7 MiB + 2048 × 16.4 MiB ≈ 90 GiB; ≈ 8.5 GiB with checkpointing;
    # 2.2 GiB of weights, gradients and Adam state
    assert plain.activations_gib == pytest.approx((1024 * 56.7 + 2048 * 16.4) / 1024)
    assert plain.activations_gib == pytest.approx(89.5) and ckpt.activations_gib == pytest.approx(8.6)
    assert plain.state_gib == pytest.approx(2.2, abs=0.1)
    assert memory.estimate(cfg, 1024, texts, "fp32", False).activations_gib == 2 * plain.activations_gib
    big = memory.estimate(model_config("ViT-L-14"), 1024, texts, "bf16", False)
    assert big.image_mib > 3 * plain.image_mib
    assert memory.estimate(model_config("RN50"), 1024, texts, "bf16", False) is None  # not a ViT


def test_a_batch_that_cannot_fit_is_refused_one_that_might_is_warned():
    cfg = model_config("ViT-B-16")
    est = memory.estimate(cfg, 1024, 2, "bf16", grad_checkpointing=False)  # ~92 GiB
    assert memory.check_fits(est, 141, False, 1024) is None  # H200
    assert "--grad-checkpointing" in memory.check_fits(est, 80, False, 1024)  # A100/H100 80 GB
    with pytest.raises(UserError, match="--batch-size 1024 needs .* 40 GiB; use --grad-checkpointing or"):
        memory.check_fits(est, 40, False, 1024)
    with pytest.raises(UserError, match="use a smaller --batch-size$"):
        memory.check_fits(memory.estimate(cfg, 8192, 2, "bf16", True), 40, True, 8192)
