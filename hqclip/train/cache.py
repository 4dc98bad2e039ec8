"""In-memory caches for a dataset that fits in RAM (the quickstart's world): decoded samples per
shard, kept for the life of the process (across epochs, and across the models one process trains
in a row) as long as the shard file is unchanged; and token ids per text, kept for one run (one
tokenizer). They pay off only where the process lives that long: with `--workers 0` (the loader
reads in the training process); DataLoader workers are re-created every epoch. Both are bounded: a
shard that would take the samples over `max_bytes` is not kept, and the token cache forgets its
oldest entries past `max_texts`."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from hqclip.data.samples import Sample
from hqclip.units.resume import input_stamp

MAX_BYTES = 2 << 30
MAX_TEXTS = 1_000_000

# path -> the file's stamp (size, mtime_ns) when read, its samples, their bytes
_shards: dict[str, tuple[dict[str, int] | None, list[Sample], int]] = {}
_bytes = 0


def cached_shard(path: str, read: Callable[[], Iterator[Sample]]) -> Iterator[Sample]:
    """The samples `read()` yields for `path`, from memory after the first full read while the
    file keeps its size and mtime (`units.resume.input_stamp`, as a rerun of refine checks its
    inputs; a world rebuilt at the same path is read again)."""
    global _bytes
    stamp = input_stamp(Path(path))
    if path in _shards:
        old, samples, held = _shards[path]
        if old == stamp:
            yield from samples
            return
        del _shards[path]  # the file changed: its samples are stale
        _bytes -= held
    kept: list[Sample] | None = []
    size = 0
    for s in read():
        yield s
        if kept is not None:
            size += len(s.text) + (s.image.width * s.image.height * 3 if s.image is not None else 0)
            kept.append(dataclasses.replace(s, image_bytes=b""))  # the decoded image is enough
            if _bytes + size > MAX_BYTES:
                kept = None
    if kept is not None:
        _shards[path] = (stamp, kept, size)
        _bytes += size


class CachedTokenizer:
    """A tokenizer that remembers the token ids of every text it has seen (up to `max_texts`). One
    per run, around that run's tokenizer: two tokenizers never share ids."""

    def __init__(self, tokenizer: Callable, max_texts: int = MAX_TEXTS):
        self.tokenizer, self.max_texts = tokenizer, max_texts
        self.rows: OrderedDict[str, torch.Tensor] = OrderedDict()

    def __call__(self, texts: list[str]) -> torch.Tensor:
        new = [t for t in dict.fromkeys(texts) if t not in self.rows]
        if new:
            for t, row in zip(new, self.tokenizer(new)):
                self.rows[t] = row
            while len(self.rows) > self.max_texts:
                self.rows.popitem(last=False)
        return torch.stack([self.rows[t] for t in texts])

    def __getattr__(self, name: str):
        return getattr(self.tokenizer, name)
