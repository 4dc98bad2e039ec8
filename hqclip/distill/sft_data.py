"""The SFT set: each valid teacher record joined to its image, as one prompt–completion row — the
prompt exactly the chat refine sends for that sample (`Prompt.render` + `user_turn`), the
completion the record's JSON in the form constrained decoding emits (`answer_text`).

Shard by shard: a shard's sidecar gives its records (uid → record), the shard streams its samples,
and the rows go to an on-disk Arrow dataset (`datasets.Dataset.from_generator`), so memory never
holds the set. A record is held out for validation by a hash of (seed, uid)
(`hqclip.refine.sample.drawn`): the split does not depend on the order or sharding of the data."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hqclip.data.inputs import iter_unit
from hqclip.data.samples import BadSample, SkipLog, decode_image
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.refine.config import RefineConfig
from hqclip.refine.prompt import answer_text, user_turn
from hqclip.refine.sample import drawn

log = logging.getLogger("hqclip.distill")


def rows(
    units: list[str], sidecars: str, prompt_cfg: dict[str, Any], seed: int, val_fraction: float
) -> Iterator[dict[str, Any]]:
    """Prompt–completion rows (with a `validation` flag) of every sample that has a valid record."""
    cfg = RefineConfig.from_dict(prompt_cfg)
    prompt = cfg.prompt()
    for unit in map(Path, units):
        records = read_annotations(sidecar_path(unit, sidecars), SkipLog())
        if not records:
            continue
        samples = iter_unit(unit, SkipLog())
        for s in samples:
            rec = records.get(s.uid)
            if rec is None:
                continue
            try:
                images = [] if cfg.no_image else [decode_image(s.image_bytes, cfg.max_pixels)]
            except BadSample as e:
                log.warning("%s: sample %s left out (%s)", unit, s.key, e.reason)
                continue
            yield {
                "images": images,
                "prompt": user_turn(prompt.render(s.text), not cfg.no_image),
                "completion": [
                    {"role": "assistant", "content": [{"type": "text", "text": answer_text(rec)}]}
                ],
                "validation": drawn("val", seed, s.uid, val_fraction),
            }


def build(
    units: list[Path], sidecars: Path, prompt_cfg: RefineConfig, seed: int, val_fraction: float, cache: Path
):
    """(train, validation) `datasets.Dataset`s on disk under `cache` (reused by a rerun with the
    same inputs); validation is None when no record is held out."""
    from datasets import Dataset

    ds = Dataset.from_generator(
        rows,
        gen_kwargs={
            "units": [str(u) for u in units],
            "sidecars": str(sidecars),
            "prompt_cfg": prompt_cfg.to_dict(),
            "seed": seed,
            "val_fraction": val_fraction,
        },
        cache_dir=str(cache),
    )
    val = ds.filter(lambda v: v, input_columns="validation").remove_columns("validation")
    train = ds.filter(lambda v: not v, input_columns="validation").remove_columns("validation")
    return train, (val if len(val) else None)
