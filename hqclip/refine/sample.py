"""The seed set: `hqclip refine --sample N --seed S` refines about N samples drawn at random across
all input shards (e.g. the ~10k a strong, costly teacher annotates for `hqclip distill`).

A sample is kept when a hash of (seed, uid) falls below N / total, with the total estimated once
from the first shard (its member count × the number of shards). Each shard then decides alone,
from its own samples, so the runner's units stay independent (local processes, Ray), a shard
resumes on its own, nothing reads the dataset before work and memory does not grow with it. The
price: the count is N up to binomial noise (± √N) and the error of the estimate (a short last
shard). A reservoir per shard would give exactly N only with a pass that counts every shard
first, and its choice would depend on the order samples arrive in. The uid decides, not the shard,
so the same seed picks the same samples however the data is sharded; the fraction is part of
refine's fingerprint, so another N or seed (or more shards) never resumes into the old rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hqclip.data.inputs import estimate_total
from hqclip.errors import UserError


def sample_fraction(n: int, units: list[Path]) -> float:
    """The share of samples to keep for about `n` of them across `units`."""
    if n < 1:
        raise UserError(f"--sample {n}: give a number of samples of at least 1")
    return min(1.0, n / max(estimate_total(units), 1))


def drawn(purpose: str, seed: int, uid: str, fraction: float) -> bool:
    """Whether `uid` is among the `fraction` of uids a hash of (purpose, seed, uid) picks: a draw
    each sample makes alone, the same however the data is ordered or sharded."""
    digest = hashlib.blake2b(f"{purpose}:{seed}:{uid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") < fraction * 2**64


def in_sample(seed: int, uid: str, fraction: float) -> bool:
    """Whether sample `uid` is in the seed set of this seed and fraction."""
    return drawn("sample", seed, uid, fraction)
