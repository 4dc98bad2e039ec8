"""The training stream: WebDataset shards → shuffle buffer → batches, split over ranks and workers.

One epoch is `batches` steps per rank. Worker w of W on rank r reads the shards
`order[r*W+w :: world*W]` (order reshuffled each pass, or drawn with replacement when `resampled`)
and yields batches w, w+W, ... — the order torch's DataLoader returns them in. A worker that runs
out of shards starts another pass, so every rank yields exactly `batches` batches (no DDP hang).
Resume: the first `skip` batches of the epoch are re-read and dropped before any image transform
or tokenisation, so the stream continues exactly where the checkpoint left it (given the same
--workers and --batch-size). The position is stored per step; re-reading is at most one epoch.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from hqclip.data.samples import Sample, SkipLog
from hqclip.data.shards import iter_shard
from hqclip.schema import Record
from hqclip.train.batch import TextSpec, collate, sample_seed


@dataclass
class StreamSpec:
    shards: list[Path]
    batch_size: int          # per rank
    batches: int             # per rank per epoch
    seed: int
    rank: int = 0
    world_size: int = 1
    resampled: bool = False
    shuffle_buffer: int = 1000


class ShardStream(IterableDataset):
    def __init__(self, spec: StreamSpec, text: TextSpec, index: dict[str, Record],
                 transform: Callable, tokenizer: Callable, vocab: dict[str, int] | None,
                 epoch: int, skip: int = 0):
        self.spec, self.text, self.index = spec, text, index
        self.transform, self.tokenizer, self.vocab = transform, tokenizer, vocab
        self.epoch, self.skip = epoch, skip

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        w, W = (info.id, info.num_workers) if info else (0, 1)
        w = (w + self.skip) % W  # the DataLoader asks worker 0 first; it must serve batch `skip`
        s = self.spec
        quota = len(range(w, s.batches, W))
        skip = len(range(w, self.skip, W))
        skips = SkipLog()
        reported: Counter = Counter()
        samples = self._shuffled(self._samples(s.rank * W + w, s.world_size * W, skips),
                                 random.Random(sample_seed(s.seed, self.epoch, s.rank, w, "buffer")))
        for i in range(quota):
            group = [next(samples) for _ in range(s.batch_size)]
            if i < skip:
                continue
            batch = collate(group, self.index, self.text, self.transform, self.tokenizer,
                            self.vocab, s.seed, self.epoch)
            batch["counts"].update({k: v - reported[k] for k, v in skips.counts.items()})
            reported = Counter(skips.counts)
            yield batch

    def _samples(self, g: int, G: int, skips: SkipLog) -> Iterator[Sample]:
        s = self.spec
        for p in range(1 << 30):
            rng = random.Random(sample_seed(s.seed, self.epoch, "pass", p, g))
            if s.resampled:
                mine = [rng.choice(s.shards) for _ in range(max(1, len(s.shards) // G))]
            else:
                order = list(s.shards)
                random.Random(sample_seed(s.seed, self.epoch, "pass", p)).shuffle(order)
                mine = order[g::G]
                if not mine:
                    raise ValueError(f"{len(s.shards)} shards for {G} readers (ranks × workers): "
                                     "use --resampled, fewer --workers or more shards")
            n = 0
            for shard in mine:
                for sample in iter_shard(shard, skips):
                    n += 1
                    yield sample
            if n == 0 and p > 0:
                raise RuntimeError(f"worker {g}: its shards {[str(m) for m in mine]} hold no readable "
                                   "sample; check them or use fewer workers")

    def _shuffled(self, it: Iterator[Sample], rng: random.Random) -> Iterator[Sample]:
        buf: list[Sample] = []
        size = max(1, self.spec.shuffle_buffer)
        for x in it:
            buf.append(x)
            if len(buf) >= size:
                j = rng.randrange(len(buf))
                buf[j], buf[-1] = buf[-1], buf[j]
                yield buf.pop()
        raise RuntimeError("shard stream ended")  # _samples is endless


def make_loader(stream: ShardStream, workers: int) -> DataLoader:
    """Workers are clamped to the shards each rank owns, so none idles without data."""
    s = stream.spec
    per_rank = len(s.shards) // s.world_size if not s.resampled else workers
    workers = max(0, min(workers, per_rank))
    return DataLoader(stream, batch_size=None, num_workers=workers,
                      pin_memory=torch.cuda.is_available(),
                      persistent_workers=False, prefetch_factor=4 if workers else None)


def count_samples(shards: list[Path]) -> int:
    """Samples with an image member, read from tar headers only (no decoding)."""
    import tarfile
    keys = set()
    for shard in shards:
        try:
            with tarfile.open(shard) as tf:
                for m in tf:
                    stem, _, ext = m.name.rpartition(".")
                    if ext.lower() in ("jpg", "jpeg", "png", "webp"):
                        keys.add((str(shard), stem))
        except (tarfile.TarError, OSError, EOFError):
            continue
    return len(keys)
