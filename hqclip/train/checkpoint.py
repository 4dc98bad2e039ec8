"""Checkpoints: one file that open_clip loads and that resumes training.

`{"state_dict": <open_clip model state_dict>, ...}` is exactly what
`open_clip.create_model_and_transforms(name, pretrained=path)` reads (it takes the "state_dict" key
and ignores the rest). The rest resumes training: heads, optimiser, scaler, step, data position,
every rank's RNG states, the config and the tag vocabulary. Only tensors and plain Python values
are stored, so `torch.load(..., weights_only=True)` reads it.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hqclip.data.atomic import atomic_open, commit, tmp_name

LATEST = "latest.pt"


def rng_state(device: torch.device) -> dict[str, Any]:
    """This process's RNG states as plain lists (gatherable across ranks, weights_only-loadable):
    of CUDA, only its own GPU's, so that a host with fewer visible GPUs can resume it."""
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "torch": torch.get_rng_state().tolist(),
        "cuda": [torch.cuda.get_rng_state(device).tolist()] if device.type == "cuda" else [],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Restore `rng_state`'s states; CUDA's on `device` (a checkpoint of an older hqclip holds every
    GPU's state: this rank's is the one at its device index)."""
    random.setstate(_tuples(state["python"]))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    cuda = state["cuda"]
    if cuda and device.type == "cuda":
        own = cuda[device.index] if len(cuda) > 1 and device.index < len(cuda) else cuda[0]
        torch.cuda.set_rng_state(torch.tensor(own, dtype=torch.uint8), device)
    n = state["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), *n[2:]))


def _tuples(x: Any) -> Any:
    return tuple(_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


def save(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically, then point `latest.pt` at it (a hard link, or a copy where links fail)."""
    with atomic_open(path, "wb") as f:
        torch.save(payload, f)
    latest = path.parent / LATEST
    tmp = tmp_name(latest)
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
    except OSError:
        shutil.copyfile(path, tmp)
    commit(tmp, latest)


def resolve(resume: str, output: Path) -> Path | None:
    """`latest` → the run's latest checkpoint if there is one (a fresh start otherwise)."""
    if resume == "latest":
        p = output / "checkpoints" / LATEST
        return p if p.exists() else None
    p = Path(resume)
    if not p.exists():
        raise FileNotFoundError(f"--resume {resume}: no such checkpoint; pass 'latest' or a .pt path")
    return p


def load(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
