"""The training stream: WebDataset shards → shuffle buffer → batches, split over ranks and workers.
A caption table or a folder of images with `.txt` captions is a shard like a tar
(`hqclip.data.inputs`, the units refine reads); its positions are rows or images, not bytes.

One epoch is `batches` steps per rank. Reader v of W on rank r reads the shards
`order[r*W+v :: world*W]` (order reshuffled each pass, or drawn with replacement when `resampled`)
and yields batches v, v+W, ... — the order torch's DataLoader returns them in. A reader that runs
out of shards starts another pass, so every rank yields exactly `batches` batches (no DDP hang).

Annotations are joined per shard: opening `<shard>.tar`, a reader reads `<shard>.parquet` and
nothing else (`read_annotations`, validated as it is read), so memory and start-up do not grow
with the dataset.

Resume without replay: every batch carries its reader's position right after it — pass, shard,
byte offset in the shard, the shuffle buffer as (shard, byte offset) references, the buffer's RNG.
The loop keeps the position of each reader's last consumed batch (workers prefetch ahead) and
checkpoints it; a resumed reader seeks there and re-decodes only its buffered samples, never a
sample before the position. Batches after a resume are bit-identical to an uninterrupted run
(same --workers, --batch-size and number of processes).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from hqclip.data.inputs import count_unit, iter_unit
from hqclip.data.samples import Sample, SkipLog
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.schema import Record
from hqclip.train.batch import TextSpec, collate, sample_seed
from hqclip.train.cache import cached_shard

Item = tuple[Sample, "Record | None"]


@dataclass
class StreamSpec:
    shards: list[Path]
    batch_size: int  # per rank
    batches: int  # per rank per epoch
    seed: int
    rank: int = 0
    world_size: int = 1
    resampled: bool = False
    shuffle_buffer: int = 1000


def readers_per_rank(spec: StreamSpec, workers: int) -> int:
    """DataLoader workers, clamped to the shards each rank owns so none idles without data."""
    per_rank = len(spec.shards) // spec.world_size if not spec.resampled else workers
    return max(0, min(workers, per_rank))


class _Reader:
    """Reader `v` of a rank: its samples (each with its annotation), shuffled, with a position
    that `state()` captures and the constructor restores."""

    def __init__(
        self,
        spec: StreamSpec,
        v: int,
        W: int,
        epoch: int,
        sidecars: str | None,
        skips: SkipLog,
        state: dict[str, Any] | None,
        cache: bool = False,
    ):
        self.spec, self.epoch, self.sidecars, self.skips = spec, epoch, sidecars, skips
        self.cache = cache
        self.g, self.G = spec.rank * W + v, spec.world_size * W
        self.index = {str(p): i for i, p in enumerate(spec.shards)}
        self.rng = random.Random(sample_seed(spec.seed, epoch, spec.rank, v, "buffer"))
        self.pass_, self.shard, self.offset, self.read = 0, 0, 0, 0
        self.buf: list[Item] = []
        if state:
            self.pass_, self.shard = state["pass"], state["shard"]
            self.offset, self.read = state["offset"], state["read"]
            self.rng.setstate((state["rng"][0], tuple(state["rng"][1]), state["rng"][2]))
            self.buf = self._reread(state["buffer"])

    def state(self) -> dict[str, Any]:
        version, internal, gauss = self.rng.getstate()
        return {
            "pass": self.pass_,
            "shard": self.shard,
            "offset": self.offset,
            "read": self.read,
            "buffer": [[self.index[x.source], x.offset] for x, _ in self.buf],
            "rng": [version, list(internal), gauss],
        }

    def annotations(self, shard: Path) -> dict[str, Record]:
        return read_annotations(sidecar_path(shard, self.sidecars), self.skips) if self.sidecars else {}

    def _reread(self, refs: list[list[int]]) -> list[Item]:
        """The buffered samples, decoded again from their byte offsets (each shard's sidecar once)."""
        records: dict[int, dict[str, Record]] = {}
        out = []
        for i, offset in refs:
            shard = self.spec.shards[i]
            if i not in records:
                records[i] = self.annotations(shard)
            sample = next(iter_unit(shard, self.skips, decode=True, start=offset), None)
            if sample is None or sample.offset != offset:
                raise RuntimeError(
                    f"{shard}: no sample at position {offset}; the shard changed since "
                    "the checkpoint was written, so the run cannot resume exactly"
                )
            out.append((sample, records[i].get(sample.uid)))
        return out

    def _mine(self, p: int) -> list[Path]:
        s = self.spec
        if s.resampled:
            rng = random.Random(sample_seed(s.seed, self.epoch, "pass", p, self.g))
            return [rng.choice(s.shards) for _ in range(max(1, len(s.shards) // self.G))]
        order = list(s.shards)
        random.Random(sample_seed(s.seed, self.epoch, "pass", p)).shuffle(order)
        mine = order[self.g :: self.G]
        if not mine:
            raise ValueError(
                f"{len(s.shards)} shards for {self.G} readers (ranks × workers): "
                "use --resampled, fewer --workers or more shards"
            )
        return mine

    def _samples(self) -> Iterator[Item]:
        """Endless: pass after pass over this reader's shards, from the current position on."""
        while True:
            mine = self._mine(self.pass_)
            while self.shard < len(mine):
                path = mine[self.shard]
                records = self.annotations(path)
                for sample in self._read(path):
                    self.offset = sample.end
                    self.read += 1
                    yield sample, records.get(sample.uid)
                self.shard, self.offset = self.shard + 1, 0
            if self.read == 0 and self.pass_ > 0:
                raise RuntimeError(
                    f"reader {self.g}: its shards {[str(m) for m in mine]} hold no "
                    "readable sample; check them or use fewer workers"
                )
            self.pass_, self.shard, self.read = self.pass_ + 1, 0, 0

    def _read(self, path: Path) -> Iterator[Sample]:
        """The shard's samples from the current offset; from memory after a first full read when
        caching (hqclip.train.cache)."""
        if self.cache and self.offset == 0:
            return cached_shard(str(path), lambda: iter_unit(path, self.skips, decode=True))
        return iter_unit(path, self.skips, decode=True, start=self.offset)

    def shuffled(self) -> Iterator[Item]:
        size = max(1, self.spec.shuffle_buffer)
        for x in self._samples():
            self.buf.append(x)
            if len(self.buf) >= size:
                j = self.rng.randrange(len(self.buf))
                self.buf[j], self.buf[-1] = self.buf[-1], self.buf[j]
                yield self.buf.pop()
        raise RuntimeError("shard stream ended")  # _samples is endless


class ShardStream(IterableDataset):
    """One epoch of batches for this rank. `states[v]`: reader v's position from a checkpoint
    (None: from the epoch's start); `skip`: batches of the epoch already consumed."""

    def __init__(
        self,
        spec: StreamSpec,
        text: TextSpec,
        sidecars: str | os.PathLike | None,
        transform: Callable,
        tokenizer: Callable,
        vocab: dict[str, int] | None,
        epoch: int,
        skip: int = 0,
        states: list[dict[str, Any] | None] | None = None,
        cache: bool = False,
    ):
        self.spec, self.text, self.sidecars = spec, text, str(sidecars) if sidecars else None
        self.transform, self.tokenizer, self.vocab = transform, tokenizer, vocab
        self.epoch, self.skip, self.states, self.cache = epoch, skip, states, cache

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        w, W = (info.id, info.num_workers) if info else (0, 1)
        v = (w + self.skip) % W  # the DataLoader asks worker 0 first; it must serve batch `skip`
        s = self.spec
        if self.skip and (self.states is None or len(self.states) != W):
            raise ValueError(
                f"resuming batch {self.skip} of an epoch needs the positions of "
                f"{W} readers, got {None if self.states is None else len(self.states)}"
            )
        skips = SkipLog()
        reported: Counter = Counter()
        reader = _Reader(
            s, v, W, self.epoch, self.sidecars, skips, self.states[v] if self.skip else None, self.cache
        )
        samples = reader.shuffled()
        for _ in range(len(range(v, self.skip, W)), len(range(v, s.batches, W))):
            group = [next(samples) for _ in range(s.batch_size)]
            batch = collate(
                [x for x, _ in group],
                [r for _, r in group],
                self.text,
                self.transform,
                self.tokenizer,
                self.vocab,
                s.seed,
                self.epoch,
            )
            batch["counts"].update({k: n - reported[k] for k, n in skips.counts.items()})
            reported = Counter(skips.counts)
            batch["stream"] = {"reader": v, "state": reader.state()}
            yield batch


def _as_built(batch: dict[str, Any]) -> dict[str, Any]:
    """The batch as `ShardStream` built it. The DataLoader's default conversion would walk every
    element of the reader's state (its shuffle buffer's references and RNG): ~4 % of a worker's time."""
    return batch


def make_loader(stream: ShardStream, workers: int) -> DataLoader:
    workers = readers_per_rank(stream.spec, workers)
    return DataLoader(
        stream,
        batch_size=None,
        collate_fn=_as_built,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=False,
        prefetch_factor=2 if workers else None,  # as open_clip: 2 batches per worker in flight
    )


def count_samples(shards: list[Path]) -> int:
    """Samples with an image, without decoding (`hqclip.data.inputs.count_unit`)."""
    return sum(count_unit(s) for s in shards)
