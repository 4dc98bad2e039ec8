"""The linear STC head's tag vocabulary: counted once over a sidecar folder and stored beside it as
`vocab.json`, so training never scans the annotations at start-up.

Tags are counted and looked up (`hqclip.train.batch`) by `hqclip.schema.item_key`, the key the
validator de-duplicates tags by (case and whitespace ignored). Counting writes each sidecar's tag
counts to a small parquet file (`hqclip vocab` and `hqclip refine` read each sidecar with
`read_annotations`, the records training uses; the VLM-150M import counts the rows it writes), and
DuckDB sums them with a GROUP BY that spills to disk past its memory limit, so the count is exact
and its memory bounded at any number of distinct tags (VLM-150M's long tail runs to millions).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hqclip.data.atomic import atomic_open, write_text
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import list_sidecars, read_annotations
from hqclip.errors import UserError
from hqclip.progress import bar as progress_bar
from hqclip.schema import item_key
from hqclip.workers import context as workers_context

log = logging.getLogger("hqclip.data")

VOCAB = "vocab.json"
DEFAULT_SIZE = 10_000  # stored; training keeps the first --vocab-size of them


def write_counts(tags: Mapping[str, int], path: str | os.PathLike) -> None:
    """`tags` (tag → occurrences) summed per tag key, as parquet (tag, n), written atomically."""
    counts: Counter = Counter()
    for tag, n in tags.items():
        counts[item_key(tag)] += n
    with atomic_open(path, "wb") as f:
        pq.write_table(
            pa.table(
                {"tag": pa.array(list(counts), pa.string()), "n": pa.array(list(counts.values()), pa.int64())}
            ),
            f,
        )


def top_counts(
    counts_glob: str, size: int, spill_dir: str | os.PathLike, memory_limit: str = "1GB"
) -> tuple[list[tuple[str, int]], int]:
    """Sum the count files (`write_counts`) matching `counts_glob`: the `size` most frequent
    items with their counts (ties alphabetical) and the number of distinct items. DuckDB spills
    to a temp folder under `spill_dir` past `memory_limit`."""
    import duckdb  # imported here: only counting and the VLM-150M import need it

    with tempfile.TemporaryDirectory(dir=spill_dir, prefix=".vocab-duckdb-") as tmp:
        con = duckdb.connect()
        con.execute(
            f"SET memory_limit='{memory_limit}'; SET temp_directory='{tmp}'; "
            "SET preserve_insertion_order=false"
        )
        src = f"read_parquet('{counts_glob}')"
        top = con.execute(
            f"SELECT tag, sum(n)::BIGINT AS n FROM {src} GROUP BY tag ORDER BY n DESC, tag LIMIT ?", [size]
        ).fetchall()
        distinct = con.execute(f"SELECT count(DISTINCT tag) FROM {src}").fetchone()[0]
        con.close()
    return top, distinct


def store_vocab(
    sidecar_dir: str | os.PathLike,
    counts_glob: str,
    size: int,
    totals: dict[str, Any],
    memory_limit: str = "1GB",
) -> Path:
    """Sum the count files matching `counts_glob`; `<sidecar_dir>/vocab.json` gets the `size`
    most frequent tags (ties alphabetical) with their counts, plus `totals`."""
    top, distinct = top_counts(counts_glob, size, sidecar_dir, memory_limit)
    path = Path(sidecar_dir) / VOCAB
    write_text(
        path,
        json.dumps(
            {
                "size": size,
                "tags": [t for t, _ in top],
                "counts": [n for _, n in top],
                "distinct": distinct,
                "key": "hqclip.schema.item_key",
                **totals,
            },
            ensure_ascii=False,
            indent=0,
        ),
    )
    log.info("%s: %d of %d distinct tags", path, len(top), distinct)
    return path


def _count(job: tuple[str, str]) -> tuple[int, dict[str, int]]:
    """Tags of one sidecar's records → `out`; returns (records, skips)."""
    sidecar, out = job
    skips = SkipLog()
    recs = read_annotations(sidecar, skips)
    write_counts(Counter(t for rec in recs.values() for t in rec["tags"]), out)
    return len(recs), skips.as_dict()


def write_vocab(
    sidecar_dir: str | os.PathLike, size: int = DEFAULT_SIZE, workers: int = 1, progress: bool = True
) -> Path:
    """Count the tags of every sidecar in the folder and store `vocab.json` beside them."""
    sidecars = list_sidecars(sidecar_dir)
    with tempfile.TemporaryDirectory(dir=sidecar_dir, prefix=".vocab-") as tmp:
        jobs = [(str(p), f"{tmp}/{i:08d}.parquet") for i, p in enumerate(sidecars)]
        records, skips = 0, Counter()
        bar = progress_bar(total=len(jobs), desc="vocab", unit="sidecar", disable=not progress)
        if workers > 1:
            with workers_context().Pool(workers) as pool:
                results = list(pool.imap(_count, jobs, chunksize=4))
        else:
            results = map(_count, jobs)
        for n, s in results:
            records += n
            skips.update(s)
            bar.update(1)
        bar.close()
        if not jobs:
            write_counts({}, f"{tmp}/empty.parquet")
        return store_vocab(
            sidecar_dir,
            f"{tmp}/*.parquet",
            size,
            {"records": records, "sidecars": len(sidecars), "skipped": dict(sorted(skips.items()))},
        )


def read_vocab(sidecar_dir: str | os.PathLike, size: int) -> list[str]:
    """The first `size` tags of the stored vocabulary."""
    path = Path(sidecar_dir) / VOCAB
    if not path.exists():
        raise UserError(
            f"{path} not found: the linear STC head needs the tag vocabulary; run "
            f"`hqclip vocab --sidecars {sidecar_dir}` (or use --stc-head text)"
        )
    vocab = json.loads(path.read_text())
    if size > vocab["size"] and vocab["distinct"] > vocab["size"]:
        raise UserError(
            f"{path} holds the top {vocab['size']} tags, fewer than --vocab-size "
            f"{size}; run `hqclip vocab --sidecars {sidecar_dir} --size {size}`"
        )
    return vocab["tags"][:size]
