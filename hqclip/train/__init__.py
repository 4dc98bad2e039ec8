"""HQ-CLIP training on open_clip: loader, loss, loop, checkpoints open_clip loads."""

from hqclip.train.config import TrainConfig


def run(config: TrainConfig) -> dict:
    """Train with `config` (see `TrainConfig`); heavy imports happen here, not at package import."""
    from hqclip.train.loop import run as _run

    return _run(config)


__all__ = ["TrainConfig", "run"]
