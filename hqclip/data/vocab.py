"""The linear STC head's tag vocabulary: counted once over a sidecar folder and stored beside it as
`vocab.json`, so training never scans the annotations at start-up.

Counting reads each sidecar with `read_annotations` (the records training uses, validated the same
way) in worker processes, each writing its sidecar's tag counts to a small parquet file; DuckDB
sums them with a GROUP BY that spills to disk past its memory limit, so the count is exact and its
memory bounded at any number of distinct tags (VLM-150M's long tail runs to tens of millions).
`tag_key` is the one case-folding for counting and for the loader's look-ups (`hqclip.train.batch`).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from hqclip.data.atomic import write_text
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import list_sidecars, read_annotations

log = logging.getLogger("hqclip.data")

VOCAB = "vocab.json"
DEFAULT_SIZE = 10_000  # stored; training keeps the first --vocab-size of them


class VocabError(ValueError):
    """vocab.json is missing or too small for the asked size; the message says what to run."""


def tag_key(tag: str) -> str:
    """What a tag is counted and looked up as: Python's `str.casefold` (not SQL `lower`)."""
    return tag.casefold()


def _count(job: tuple[str, str]) -> tuple[int, dict[str, int]]:
    """Tags of one sidecar → `out` parquet (tag, n); returns (records, skips)."""
    sidecar, out = job
    skips = SkipLog()
    recs = read_annotations(sidecar, skips)
    counts = Counter(tag_key(t) for rec in recs.values() for t in rec["tags"])
    pq.write_table(pa.table({"tag": pa.array(list(counts), pa.string()),
                             "n": pa.array(list(counts.values()), pa.int64())}), out)
    return len(recs), skips.as_dict()


def count_vocab(sidecar_dir: str | os.PathLike, size: int = DEFAULT_SIZE, workers: int = 1,
                memory_limit: str = "1GB", progress: bool = True) -> dict[str, Any]:
    """The `size` most frequent tags of every sidecar in the folder (ties alphabetical), with
    their counts and the totals."""
    import duckdb  # imported here: only vocab counting and the VLM-150M import need it

    sidecars = [p for p in list_sidecars(sidecar_dir) if p.exists()]
    with tempfile.TemporaryDirectory(dir=sidecar_dir, prefix=".vocab-") as tmp:
        jobs = [(str(p), f"{tmp}/{i:08d}.parquet") for i, p in enumerate(sidecars)]
        records, skips = 0, Counter()
        bar = tqdm(total=len(jobs), desc="vocab", unit="sidecar", disable=not progress)
        if workers > 1:  # forked before DuckDB starts any thread in this process
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = list(pool.imap(_count, jobs, chunksize=4))
        else:
            results = map(_count, jobs)
        for n, s in results:
            records += n
            skips.update(s)
            bar.update(1)
        bar.close()
        con = duckdb.connect()
        con.execute(f"SET memory_limit='{memory_limit}'; SET temp_directory='{tmp}/duckdb'; "
                    "SET preserve_insertion_order=false")
        files = f"{tmp}/*.parquet"
        if jobs:
            top = con.execute(f"SELECT tag, sum(n)::BIGINT AS n FROM read_parquet('{files}') "
                              "GROUP BY tag ORDER BY n DESC, tag LIMIT ?", [size]).fetchall()
            distinct = con.execute(f"SELECT count(DISTINCT tag) FROM read_parquet('{files}')").fetchone()[0]
        else:
            top, distinct = [], 0
        con.close()
    return {"size": size, "tags": [t for t, _ in top], "counts": [n for _, n in top],
            "distinct": distinct, "records": records, "sidecars": len(sidecars),
            "skipped": dict(sorted(skips.items())), "key": "str.casefold"}


def write_vocab(sidecar_dir: str | os.PathLike, size: int = DEFAULT_SIZE, workers: int = 1,
                progress: bool = True) -> Path:
    """Count and store `<sidecar_dir>/vocab.json` (atomically)."""
    vocab = count_vocab(sidecar_dir, size, workers, progress=progress)
    path = Path(sidecar_dir) / VOCAB
    write_text(path, json.dumps(vocab, ensure_ascii=False, indent=0))
    log.info("%s: %d of %d distinct tags over %d records", path, len(vocab["tags"]),
             vocab["distinct"], vocab["records"])
    return path


def read_vocab(sidecar_dir: str | os.PathLike, size: int) -> list[str]:
    """The first `size` tags of the stored vocabulary."""
    path = Path(sidecar_dir) / VOCAB
    if not path.exists():
        raise VocabError(f"{path} not found: the linear STC head needs the tag vocabulary; run "
                         f"`hqclip vocab --sidecars {sidecar_dir}` (or use --stc-head text)")
    vocab = json.loads(path.read_text())
    if size > vocab["size"] and vocab["distinct"] > vocab["size"]:
        raise VocabError(f"{path} holds the top {vocab['size']} tags, fewer than --vocab-size "
                         f"{size}; run `hqclip vocab --sidecars {sidecar_dir} --size {size}`")
    return vocab["tags"][:size]
