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

from hqclip.errors import UserError, first_line

CONFIG_DIR = Path(__file__).parent / "model_configs"
HF_HUB = "hf-hub:"


@functools.cache
def register() -> None:
    """Make the tiny configs known to open_clip (once per process)."""
    open_clip.add_model_config(CONFIG_DIR)


def model_config(name: str) -> dict[str, Any]:
    """The open_clip architecture config of `name` (written next to checkpoints of custom models)."""
    register()
    try:
        cfg = open_clip.get_model_config(name)
    except Exception as e:  # hf-hub: the hub (or its offline cache) does not give the config
        raise UserError(
            f"{name}: cannot read its open_clip_config.json (check the repo name; offline, the repo must be "
            f"in the Hugging Face cache): {first_line(e)}"
        ) from e
    if cfg is None:
        raise UserError(
            f"unknown model {name!r}; choose one of open_clip.list_models() "
            f"(the tiny CPU ones: {sorted(p.stem for p in CONFIG_DIR.glob('*.json'))})"
        )
    return cfg


def local_name(name: str) -> str:
    """A file-name-safe name for the architecture (an `hf-hub:ORG/NAME` model's is `ORG-NAME`): the
    `<name>.json` a run writes beside its checkpoints, that `hqclip eval -m NAME:CHECKPOINT` finds."""
    return name.removeprefix(HF_HUB).replace("/", "-")


def check_pretrained(name: str, pretrained: str | None, option: str = "--pretrained") -> None:
    """`pretrained` (given as `option`) is a checkpoint file or one of open_clip's tags for `name`
    (UserError otherwise), checked before any model is built."""
    if pretrained is None or Path(pretrained).is_file():
        return
    register()
    if not open_clip.get_pretrained_cfg(name, pretrained):
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise UserError(
            f"{option} {pretrained}: no such checkpoint file, and not an open_clip tag of {name} "
            f"({'its tags: ' + ', '.join(tags) if tags else 'it has none'}); or pass hf-hub:ORG/NAME"
        )


def create(name: str, pretrained: str | None = None, device: str = "cpu", grad_checkpointing: bool = False):
    """(model, train transform, eval transform, tokenizer). `pretrained` is an open_clip tag or a
    checkpoint path; None means random init (no download is ever attempted for towers). A name
    `hf-hub:ORG/NAME` takes its architecture and weights from the hub. A checkpoint or tag that
    does not load (shapes, keys, no network) is a `UserError`."""
    model_config(name)
    try:
        model, preprocess_train, preprocess_val = open_clip.create_model_and_transforms(
            name,
            pretrained=pretrained,
            device=device,
            pretrained_image=False,
            pretrained_text=False,
            output_dict=True,
        )
    except Exception as e:
        if pretrained is None and not name.startswith(HF_HUB):
            raise
        raise UserError(f"cannot load {pretrained or name} into {name}: {first_line(e)}") from e
    if grad_checkpointing:
        model.set_grad_checkpointing(True)
    return model, preprocess_train, preprocess_val, open_clip.get_tokenizer(name)


def write_model_config(name: str, path: Path) -> None:
    """Save the architecture next to a checkpoint, so `open_clip.add_model_config(path)` registers it."""
    from hqclip.data.atomic import write_text

    write_text(path, json.dumps(model_config(name), indent=2))
