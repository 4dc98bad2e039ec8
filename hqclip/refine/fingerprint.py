"""What decides a refine run's rows, hashed into the fingerprint that its output folder and every
done marker carry (`hqclip.units.resume`): a rerun under another fingerprint never resumes into
the old rows. Throughput knobs (batch size, workers, concurrency) are left out."""

from __future__ import annotations

from typing import Any

from hqclip.refine.backends import backend_class
from hqclip.refine.config import RefineConfig
from hqclip.units.resume import fingerprint


def fingerprint_parts(cfg: RefineConfig, fraction: float | None = None) -> dict[str, Any]:
    """`fraction`: the share of samples a `--sample` run keeps (`hqclip.refine.sample`)."""
    return {
        "backend": backend_class(cfg.backend).identity(cfg),
        "prompt_hash": cfg.prompt().hash,
        "schema": fingerprint(cfg.schema()),
        "sampling": {
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "max_tokens": cfg.max_tokens,
            "seed": cfg.seed,
        },
        "retries": cfg.max_retries,
        "image": not cfg.no_image,
        "max_pixels": cfg.max_pixels,
        # absent means off, as in every output made before salvage existed: those still resume
        **({"salvage": True} if cfg.salvage else {}),
        **({"sample": {"seed": cfg.seed, "fraction": fraction}} if fraction is not None else {}),
    }
