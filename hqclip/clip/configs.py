"""Model creation through open_clip as a library, plus the tiny CPU configs this package ships.

Every model is an ordinary open_clip model, so its `state_dict()` is what open_clip, CLIP_benchmark
and every other open_clip tool load. The tiny configs live as JSON in `model_configs/`; `register`
adds them to open_clip's registry the first time hqclip makes or looks up a model (importing this
module changes nothing in open_clip).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import open_clip

from hqclip.errors import UserError

CONFIG_DIR = Path(__file__).parent / "model_configs"


@functools.cache
def register() -> None:
    """Make the tiny configs known to open_clip (once per process)."""
    open_clip.add_model_config(CONFIG_DIR)


def model_config(name: str) -> dict[str, Any]:
    """The open_clip architecture config of `name` (written next to checkpoints of custom models)."""
    register()
    cfg = open_clip.get_model_config(name)
    if cfg is None:
        raise UserError(
            f"unknown model {name!r}; choose one of open_clip.list_models() "
            f"(the tiny CPU ones: {sorted(p.stem for p in CONFIG_DIR.glob('*.json'))})"
        )
    return cfg


def create(name: str, pretrained: str | None = None, device: str = "cpu", grad_checkpointing: bool = False):
    """(model, train transform, eval transform, tokenizer). `pretrained` is an open_clip tag or a
    checkpoint path; None means random init (no download is ever attempted for towers)."""
    model_config(name)
    model, preprocess_train, preprocess_val = open_clip.create_model_and_transforms(
        name,
        pretrained=pretrained,
        device=device,
        pretrained_image=False,
        pretrained_text=False,
        output_dict=True,
    )
    if grad_checkpointing:
        model.set_grad_checkpointing(True)
    return model, preprocess_train, preprocess_val, open_clip.get_tokenizer(name)


def write_model_config(name: str, path: Path) -> None:
    """Save the architecture next to a checkpoint, so `open_clip.add_model_config(path)` registers it."""
    from hqclip.data.atomic import write_text

    write_text(path, json.dumps(model_config(name), indent=2))
