"""The per-shard skeleton that refine and score share: every sample a unit's reader yields gets
exactly one row, in reader order; the readable ones go to the model a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from hqclip.data.samples import BadSample, Sample

T = TypeVar("T")
Row = dict[str, Any]


def map_unit(
    samples: Iterable[Sample],
    prepare: Callable[[Sample], T],
    run_batch: Callable[[list[T]], list[Row]],
    unreadable: Callable[[Sample, BadSample], Row],
    batch_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[Row]:
    """One row per sample: `prepare(sample)` (decode, preprocess), then `run_batch` on `batch_size`
    prepared samples at a time, one row each; a sample whose `prepare` raises BadSample gets
    `unreadable(sample, error)` instead. `progress(rows, ok rows)` as rows are made."""
    rows: list[Row | None] = []
    batch: list[tuple[int, T]] = []

    def done(made: list[Row]) -> None:
        if progress:
            progress(len(made), sum(r["status"] == "ok" for r in made))

    def flush() -> None:
        made = run_batch([x for _, x in batch])
        for (i, _), row in zip(batch, made):
            rows[i] = row
        done(made)
        batch.clear()

    for s in samples:
        try:
            x = prepare(s)
        except BadSample as e:
            rows.append(unreadable(s, e))
            done(rows[-1:])
            continue
        rows.append(None)
        batch.append((len(rows) - 1, x))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return rows  # type: ignore[return-value]  # every slot is filled
