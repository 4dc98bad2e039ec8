"""WiSE-FT (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models"): the weights
θ_α = (1 − α)·θ_zero-shot + α·θ_fine-tuned of two models of one architecture, one open_clip
checkpoint per α. Fine-tuning moves a pretrained CLIP within one basin, so the models in between
keep much of the zero-shot accuracy the fine-tuned one lost and much of what it gained.

Every floating-point tensor of the state dict is interpolated (weights, and float buffers such as
BatchNorm running statistics, as the paper's code does). Integer tensors (BatchNorm's
`num_batches_tracked`, position ids) are counters and indices, not points in weight space: an
average of them means nothing, so they are taken from the fine-tuned model, the state the
interpolation moves toward. α = 0 and α = 1 are the two inputs themselves, bit for bit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from hqclip.errors import UserError, first_line


def parse_alphas(text: str) -> list[float]:
    """'0,0.25,1' → [0.0, 0.25, 1.0] (sorted, unique), each in [0, 1]."""
    try:
        alphas = sorted({float(a) for a in text.split(",") if a.strip()})
    except ValueError:
        raise UserError(
            f"--alpha {text!r}: expected comma-separated numbers, e.g. 0,0.25,0.5,0.75,1"
        ) from None
    if not alphas or not all(0 <= a <= 1 for a in alphas):
        raise UserError(f"--alpha {text!r}: give one or more numbers between 0 and 1")
    return alphas


def first_difference(a: dict, b: dict, names: tuple[str, str]) -> str | None:
    """The first key that one state dict lacks or that has another shape in the other, or None."""
    for key in [*a, *(k for k in b if k not in a)]:
        if key not in a or key not in b:
            return f"{key} (only in {names[0] if key in a else names[1]})"
        if a[key].shape != b[key].shape:
            return f"{key} (shape {list(a[key].shape)} vs {list(b[key].shape)})"
    return None


def interpolate(zero_shot: dict, fine_tuned: dict, alpha: float) -> dict[str, torch.Tensor]:
    """θ_α for two state dicts with the same keys and shapes (in float32, then cast back)."""
    if alpha == 0:
        return dict(zero_shot)
    if alpha == 1:
        return dict(fine_tuned)
    out = {}
    for key, ft in fine_tuned.items():
        zs = zero_shot[key]
        out[key] = torch.lerp(zs.float(), ft.float(), alpha).to(ft.dtype) if ft.is_floating_point() else ft
    return out


def architecture(name: str) -> dict[str, torch.Tensor]:
    """The state dict `open_clip.create_model(name)` expects, as shapes only (built on the meta
    device: no memory, no init)."""
    import open_clip

    from hqclip.clip.configs import model_config

    model_config(name)
    with torch.device("meta"):  # the init runs on meta tensors too
        return open_clip.create_model(name, device="meta").state_dict()


def state_dict(name: str, source: str, option: str) -> dict[str, torch.Tensor]:
    """The weights of `source`: a checkpoint file (read as `create_model(name, pretrained=path)`
    reads it), an open_clip pretrained tag of `name`, or an `hf-hub:` / `local-dir:` model."""
    from open_clip.factory import load_state_dict

    from hqclip.clip.configs import check_pretrained
    from hqclip.clip.load import SCHEMA_PREFIXES, ModelSpec, load, register_configs

    if os.path.isfile(source):
        register_configs(ModelSpec(source, name, source))  # a training run's NAME.json beside it
        try:
            return load_state_dict(source)
        except Exception as e:  # not a torch or safetensors file, or not a state dict
            raise UserError(f"{option} {source}: not a readable checkpoint ({first_line(e)})") from e
    hub = source.startswith(SCHEMA_PREFIXES)
    if not hub:
        check_pretrained(name, source, option)
    return load(ModelSpec(source, source if hub else name, None if hub else source)).model.state_dict()


def check_same_architecture(name: str, zero_shot: dict, fine_tuned: dict, sources: tuple[str, str]) -> None:
    """Refuse two models that do not share `name`'s architecture, naming the first differing key."""
    if (diff := first_difference(zero_shot, fine_tuned, ("--zero-shot", "--fine-tuned"))) is not None:
        raise UserError(
            f"--zero-shot {sources[0]} and --fine-tuned {sources[1]} are not one architecture: "
            f"first difference at {diff}"
        )
    if (diff := first_difference(fine_tuned, architecture(name), ("the checkpoints", name))) is not None:
        raise UserError(f"the checkpoints do not fit --model {name}: first difference at {diff}")


def write(out: Path, name: str, zero_shot: dict, fine_tuned: dict, alphas: list[float], meta: dict[str, Any]):
    """One `alpha_<α>.pt` per α under `out` (`{"state_dict": θ_α, "wise_ft": {...}}`, what
    `open_clip.create_model(name, pretrained=path)` loads) and `<name>.json` beside them, so
    `hqclip eval -m NAME:out/alpha_0.5.pt` finds a custom architecture. Returns {α: path}."""
    from hqclip.clip.configs import write_model_config
    from hqclip.data.atomic import atomic_open
    from hqclip.progress import bar

    out.mkdir(parents=True, exist_ok=True)
    write_model_config(name, out / f"{name}.json")
    paths = {}
    for alpha in bar(alphas, desc="wise-ft", unit="checkpoint"):
        paths[alpha] = out / f"alpha_{alpha:g}.pt"
        payload = {
            "state_dict": interpolate(zero_shot, fine_tuned, alpha),
            "wise_ft": {**meta, "alpha": alpha},
        }
        with atomic_open(paths[alpha], "wb") as f:
            torch.save(payload, f)
    return paths
