"""Join sidecars to shards: the uid → record index the loader reads, and the linear head's vocab.

All sidecars in the folder are read (so annotations imported from VLM-150M, whose files are not
named after the shards, join just as well as `hqclip refine` output). A shard with no sidecar of
its own name is counted, not fatal: its samples without an annotation fall back to alt-text.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import list_sidecars, load_annotations, sidecar_path
from hqclip.schema import Record, normalize, validate


def load_index(shards: list[Path], sidecar_dir: str | os.PathLike | None,
               skips: SkipLog) -> dict[str, Record]:
    """uid → valid record. Unreadable sidecars and records failing `validate` are skipped+counted."""
    if sidecar_dir is None:
        return {}
    index: dict[str, Record] = {}
    for path in list_sidecars(sidecar_dir):
        try:
            part = load_annotations([path])
        except Exception as e:  # pyarrow raises several types for a damaged file
            skips.skip(str(path), "*", "unreadable_sidecar", f"{type(e).__name__}: {e}")
            continue
        for uid, rec in part.items():
            rec = normalize(rec)
            reason = validate(rec)
            if reason:
                skips.skip(str(path), uid, f"invalid_record:{reason}")
            else:
                index[uid] = rec
    for shard in shards:
        if not sidecar_path(shard, sidecar_dir).exists():
            skips.skip(str(shard), "*", "shard_without_sidecar",
                       "its samples use alt-text unless another sidecar holds their uid")
    return index


def build_vocab(index: dict[str, Record], size: int) -> list[str]:
    """The `size` most frequent tags (case-folded; ties broken alphabetically) for the linear head."""
    counts = collections.Counter(t.casefold() for rec in index.values() for t in rec["tags"])
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]]
