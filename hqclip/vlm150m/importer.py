"""`hqclip import-vlm150m`: the released VLM-150M / VLM-1B annotations joined by uid to your own
img2dataset shards, written as one sidecar per image shard — exactly the layout training reads.

Four phases, each a list of units run by the per-unit runner (`hqclip.units.stage.run_stage`: in
process, `--workers` local processes, or Ray tasks) under its exactly-once machinery (atomic
outputs, done markers, a run fingerprint), so a killed import resumes where it stopped and gives
every record exactly once. Intermediates live in `<output>/.import/<fingerprint>/` (so a rerun
under another configuration never mixes in the old one's) and are removed when the import completes.

0. uids   — each image shard's (key, uid) list: the `uid` column of img2dataset's `<shard>.parquet`
            beside the tar (successful downloads only), else the tar's json members; then all of
            them hash-partitioned by uid into buckets (one DuckDB COPY).
1. parse  — per release part (numbered folders grouped to ~RECORDS_PER_UNIT records, or one
            archive): each `<uid>.json` parsed and validated (`hqclip.schema`, via
            `parse_record`) and written to the bucket of its uid, CHUNK records at a time.
2. join   — per bucket: duplicates dropped (the first in release order wins: parts by name, files
            by name or archive order), records joined to image uids, rows written grouped by
            shard range; counts of records with no image and images with no record.
3. write  — per shard range: rows ordered by (shard, key), each image shard's sidecar written
            atomically with its done marker (a shard with no record gets an empty sidecar).
Then `vocab.json` (the linear STC head's tags) and `import-stats.json`.

Why DuckDB for 0, 2 and 3: they are the steps whose memory would grow with the release — a join
of 147 M records to 147 M image uids, a duplicate scan, a sort by shard. DuckDB's hash join, window
and ORDER BY spill to disk past `memory_limit`, and it reads and writes partitioned parquet
natively (one pip wheel, no dependencies). pyarrow's acero join keeps both sides in memory and has
no spilling sort; an external sort of our own is what the project does not write by hand.
Buckets bound the work of one unit and give the parallelism: a worker's memory is one CHUNK of
parsed records plus DuckDB's limit, at any release size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hqclip.data.atomic import atomic_open, write_text
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shard, list_shards
from hqclip.data.sidecar import sidecar_path, write_sidecar
from hqclip.data.vlm150m import SOURCE_MODEL, iter_release, parse_record, release_units
from hqclip.data.vocab import DEFAULT_SIZE, store_vocab, write_counts
from hqclip.errors import UserError
from hqclip.units import resume
from hqclip.units.stage import manifest_name, run_stage, stats_name

log = logging.getLogger("hqclip.vlm150m")

NAME = "import"  # import-run.json, import-stats.json
WORK = ".import"
SHARDS_PER_BUCKET = 64  # img2dataset's 10k images per shard: ~640k records per bucket
MIN_BUCKETS, MAX_BUCKETS = 16, 256  # enough units for the workers; more only add files (DuckDB
# spills a bigger bucket)
RECORDS_PER_UNIT = 200_000  # release folders are grouped into parse units of about this many
MIN_UNITS = 64
CHUNK = 20_000  # records a parse worker holds before writing them
PART_SCHEMA = pa.schema(
    [
        ("uid", pa.string()),
        ("unit", pa.int32()),
        ("pos", pa.int64()),
        ("text", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("extra", pa.string()),
    ]
)
_RECORD = ", ".join(f'j.{f} AS "{f}"' for f in ("desc", "neg_desc", "tags", "neg_tags"))
_JSON = "'{" + ", ".join(f'"{f}": "VARCHAR[]"' for f in ("desc", "neg_desc", "tags", "neg_tags")) + "}'"


def bucket_of(uid: str, bits: int) -> int:
    """The uid's bucket: its first 16 bits (uids are uniform hex) cut to `bits` (DuckDB: `_BUCKET`)."""
    return int(uid[:4], 16) >> (16 - bits)


def _bucket_sql(column: str, bits: int) -> str:
    return f"(('0x' || substr({column}, 1, 4))::INTEGER >> {16 - bits})"


def _duckdb(work: Path, memory_limit: str, threads: int):
    import duckdb

    tmp = work / "duckdb" / str(os.getpid())
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"SET memory_limit='{memory_limit}'; SET threads={threads}; "
        f"SET temp_directory='{tmp}'; SET preserve_insertion_order=false"
    )
    return con


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _marker(unit: str | Path) -> Path:
    """A phase unit's stats file (`<work>/<phase>/<name>.json`), the output its done marker is of."""
    unit = Path(unit)
    return unit.with_name(unit.name + ".json")


def _finish(marker: Path, fp: str, stats: dict[str, Any]) -> dict[str, Any]:
    """A unit's stats file, then its done marker (the unit's output is complete before either)."""
    write_text(marker, json.dumps(stats, sort_keys=True))
    resume.mark_done(marker, fp, stats, None)
    return stats


# -- phase 0: image uids ------------------------------------------------------------------------


def img2dataset_manifest(shard: Path) -> Path | None:
    """img2dataset's `<shard>.parquet` beside the tar, if it has a `uid` column."""
    path = shard.with_suffix(".parquet")
    try:
        return path if "uid" in pq.read_schema(path).names else None
    except (OSError, pa.ArrowInvalid):
        return None


def _tar_uids(shard: Path, work: Path) -> Path:
    """Where phase 0 keeps the uids of a shard that has no img2dataset manifest."""
    return work / "uids" / (shard.stem + ".parquet")


def _uids_from_tar(unit: str, work: str, fp: str) -> dict[str, Any]:
    """(key, uid, status) of every sample in the tar's json members (no image decoded)."""
    out = _tar_uids(Path(unit), Path(work))
    stamp = resume.input_stamp(Path(unit))
    resume.mark_running(out)
    skips = SkipLog()
    pairs = [(s.key, s.uid) for s in iter_shard(unit, skips, decode=False)]
    table = pa.table(
        {
            "key": [k for k, _ in pairs],
            "uid": [u for _, u in pairs],
            "status": pa.array(["success"] * len(pairs), pa.string()),
        }
    )
    with atomic_open(out, "wb") as f:
        pq.write_table(table, f)
    stats = {"images": len(pairs), **skips.as_dict()}
    resume.mark_done(out, fp, stats, stamp)
    return stats


def _bucket_uids(
    unit: str, work: str, sources: list[str], bits: int, ranges: int, fp: str, memory_limit: str, threads: int
) -> dict[str, Any]:
    """All image uids → `uids-by-bucket/b=<bucket>/*.parquet` (uid lower-cased for the join, the
    shard's own spelling kept for the sidecar)."""
    work_p = Path(work)
    final, tmp = work_p / "uids-by-bucket", work_p / f"uids-by-bucket.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    con = _duckdb(work_p, memory_limit, threads)
    con.register("src", pa.table({"filename": sources, "shard": list(range(len(sources)))}))
    status = "status" in pq.read_schema(sources[0]).names
    where = "coalesce(m.status, 'success') = 'success' AND " if status else ""
    rows = (
        f"SELECT lower(m.uid) AS uid, m.uid AS image_uid, CAST(m.key AS VARCHAR) AS key, "
        f"s.shard::INTEGER AS shard, (s.shard * {ranges} // {len(sources)})::INTEGER AS r, "
        f"{_bucket_sql('lower(m.uid)', bits)} AS b "
        f"FROM read_parquet({_sql_list(sources)}, filename=true, union_by_name=true) m "
        f"JOIN src s USING (filename) WHERE {where}m.uid IS NOT NULL"
    )
    valid = "regexp_full_match(uid, '[0-9a-f]{32}')"
    images, bad = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE NOT {valid}) FROM ({rows})"
    ).fetchone()
    con.execute(
        f"COPY (SELECT * EXCLUDE (b), b FROM ({rows}) WHERE {valid}) TO '{tmp}' "
        "(FORMAT parquet, PARTITION_BY (b), COMPRESSION zstd)"
    )
    con.close()
    shutil.rmtree(final, ignore_errors=True)
    if tmp.exists():
        os.replace(tmp, final)
    return _finish(_marker(unit), fp, {"images": images, "images_bad_uid": bad})


# -- phase 1: parse -----------------------------------------------------------------------------


def _parse(unit: str, work: str, groups: dict[str, list[str]], bits: int, fp: str) -> dict[str, Any]:
    """One release part → its records, bucketed: `parts/b=<bucket>/<unit>.parquet`."""
    parts, marker, unit = Path(work) / "parts", _marker(unit), Path(unit).name
    resume.mark_running(marker)
    for old in parts.glob(f"b=*/{unit}.parquet"):  # a killed earlier attempt's partial files
        old.unlink()
    index = sorted(groups).index(unit)
    counts: Counter = Counter()
    skips = SkipLog()
    writers: dict[int, pq.ParquetWriter] = {}
    cols: dict[str, list] = {f.name: [] for f in PART_SCHEMA}
    buckets: list[int] = []

    def flush() -> None:
        if not buckets:
            return
        table = pa.table(cols, schema=PART_SCHEMA)
        order = np.argsort(np.asarray(buckets), kind="stable")
        table, sorted_b = table.take(order), np.asarray(buckets)[order]
        starts = np.flatnonzero(np.r_[True, sorted_b[1:] != sorted_b[:-1]])
        for start, end in zip(starts, [*starts[1:], len(sorted_b)]):
            b = int(sorted_b[start])
            if b not in writers:
                (parts / f"b={b}").mkdir(parents=True, exist_ok=True)
                writers[b] = pq.ParquetWriter(
                    parts / f"b={b}" / f"{unit}.parquet", PART_SCHEMA, compression="zstd"
                )
            writers[b].write_table(table.slice(start, end - start))
        for v in cols.values():
            v.clear()
        buckets.clear()

    pos = 0
    for source in groups[unit]:
        for stem, data in iter_release(Path(source), skips):
            pos += 1
            row, reason = parse_record(stem, data)
            if row is None:
                if counts[reason] == 0:
                    log.warning("%s: %s.json skipped (%s)", source, stem, reason)
                counts[reason] += 1
                continue
            counts["normalized" if row["reason"] else "ok"] += 1
            row.update(unit=index, pos=pos)
            for k, v in cols.items():
                v.append(row[k])
            buckets.append(bucket_of(row["uid"], bits))
            if len(buckets) >= CHUNK:
                flush()
    flush()
    for w in writers.values():
        w.close()
    counts.update(skips.counts)
    return _finish(marker, fp, {"records": pos, **counts})


# -- phase 2: join ------------------------------------------------------------------------------


def _join(unit: str, work: str, fp: str, memory_limit: str, threads: int) -> dict[str, Any]:
    """One bucket: first-wins duplicates, join to image uids, rows → `joined/r=<range>/`."""
    work_p, marker, unit = Path(work), _marker(unit), Path(unit).name
    b = int(unit.removeprefix("b"))
    resume.mark_running(marker)
    for old in (work_p / "joined").glob(f"r=*/b{b}_*.parquet"):
        old.unlink()
    parts = list((work_p / "parts" / f"b={b}").glob("*.parquet"))
    images = list((work_p / "uids-by-bucket" / f"b={b}").glob("*.parquet"))
    con = _duckdb(work_p, memory_limit, threads)
    # keys only (parquet reads no text for them): the first of each uid, and the bucket's images
    parts_sql = f"read_parquet({_sql_list(map(str, parts))}, hive_partitioning=false)"
    none = "SELECT NULL::VARCHAR AS uid, NULL::INTEGER AS unit, NULL::BIGINT AS pos WHERE false"
    con.execute(
        "CREATE TEMP TABLE keep AS "
        + (
            f"SELECT uid, unit, pos FROM {parts_sql} QUALIFY row_number() OVER (PARTITION BY uid "
            "ORDER BY unit, pos) = 1"
            if parts
            else none
        )
    )
    con.execute(
        "CREATE TEMP TABLE img AS "
        + (
            f"SELECT * FROM read_parquet({_sql_list(map(str, images))}, hive_partitioning=false)"
            if images
            else "SELECT NULL::VARCHAR AS uid WHERE false"
        )
    )
    n_parts = con.execute(f"SELECT count(*) FROM {parts_sql}").fetchone()[0] if parts else 0
    n_ann = con.execute("SELECT count(*) FROM keep").fetchone()[0]
    no_image = con.execute("SELECT count(*) FROM keep ANTI JOIN img USING (uid)").fetchone()[0]
    no_record = con.execute("SELECT count(*) FROM img ANTI JOIN keep USING (uid)").fetchone()[0]
    matched = 0
    if parts and images:  # the payload, read once: kept records joined to their images
        tmp = work_p / f"joined.tmp-{unit}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        matched = con.execute(
            "COPY (SELECT i.r, i.shard, i.key, i.image_uid AS uid, a.text, a.reason, a.raw, a.extra "
            f"FROM {parts_sql} a SEMI JOIN keep k ON a.uid = k.uid AND a.unit = k.unit AND "
            "a.pos = k.pos JOIN img i ON a.uid = i.uid) "
            f"TO '{tmp}' (FORMAT parquet, PARTITION_BY (r), FILENAME_PATTERN 'b{b}_{{i}}', "
            "COMPRESSION zstd)"
        ).fetchone()[0]
        for f in tmp.glob("r=*/*.parquet"):
            dest = work_p / "joined" / f.parent.name / f.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
        shutil.rmtree(tmp, ignore_errors=True)
    con.close()
    return _finish(
        marker,
        fp,
        {
            "duplicate_uid": n_parts - n_ann,
            "matched": matched,
            "records_without_image": no_image,
            "images_without_record": no_record,
        },
    )


# -- phase 3: write -----------------------------------------------------------------------------


def _write(
    unit: str, work: str, out: str, shards: list[str], ranges: int, fp: str, memory_limit: str, threads: int
) -> dict[str, Any]:
    """One range of image shards: each shard's rows ordered by key → its sidecar + done marker."""
    work_p, marker = Path(work), _marker(unit)
    r = int(Path(unit).name.removeprefix("r"))
    resume.mark_running(marker)
    mine = [i for i in range(len(shards)) if i * ranges // len(shards) == r]
    files = list((work_p / "joined" / f"r={r}").glob("*.parquet"))
    meta = {"source": "vlm150m", "fingerprint": fp}
    written: Counter = Counter()
    emitted: set[int] = set()

    def emit(shard: int, pieces: list[pa.RecordBatch]) -> None:
        emitted.add(shard)
        table = pa.Table.from_batches(pieces) if pieces else None
        n = table.num_rows if table is not None else 0
        rows = (
            (
                table.drop_columns(["shard"])
                .append_column("status", pa.array(["ok"] * n))
                .append_column("attempts", pa.array([0] * n, pa.int32()))
                .append_column("model", pa.array([SOURCE_MODEL] * n))
            )
            if n
            else []
        )
        path = sidecar_path(shards[shard], out)
        write_sidecar(path, rows, meta)
        tags = pc.value_counts(table.column("tags").combine_chunks().flatten()) if n else None
        write_counts(
            dict(zip(tags.field("values").to_pylist(), tags.field("counts").to_pylist())) if n else {},
            work_p / "tag-counts" / f"{shard}.parquet",
        )
        resume.mark_done(path, fp, {"records": n}, resume.input_stamp(Path(shards[shard])))
        written["sidecars"] += 1
        written["rows"] += n

    con = _duckdb(work_p, memory_limit, threads)
    if files:  # rows arrive ordered by shard: each shard's pieces are emitted as the next begins
        reader = con.sql(
            f"SELECT shard, key, uid, {_RECORD}, reason, raw, extra FROM (SELECT *, from_json(text, "
            f"{_JSON}) AS j FROM read_parquet({_sql_list(map(str, files))}, hive_partitioning=false)) "
            "ORDER BY shard, key"
        ).to_arrow_reader(8192)
        current, pieces = None, []
        for batch in reader:
            ids = batch.column("shard").to_numpy()
            starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
            for start, end in zip(starts, [*starts[1:], len(ids)]):
                if current is not None and int(ids[start]) != current:
                    emit(current, pieces)
                    pieces = []
                current = int(ids[start])
                pieces.append(batch.slice(start, end - start))
        if current is not None:
            emit(current, pieces)
    con.close()
    for shard in mine:  # a shard no record matched gets an empty sidecar: "imported, none"
        if shard not in emitted:
            emit(shard, [])
    return _finish(marker, fp, dict(written))


# -- the whole import: arguments, plan, phases ---------------------------------------------------


def _validate(
    annotations: str | os.PathLike, shards: str | os.PathLike, buckets: int | None
) -> tuple[Path, list[Path], list[Path]]:
    """(the release folder, its parts, the image shards), or a UserError naming the flag to fix."""
    if buckets is not None and not (1 <= buckets <= 65536 and buckets & (buckets - 1) == 0):
        raise UserError(
            f"--buckets {buckets}: a power of two from 1 to 65536, or leave it out for "
            f"one per {SHARDS_PER_BUCKET} shards"
        )
    root = Path(annotations)
    if not root.is_dir():
        raise UserError(
            f"--annotations {annotations}: no such folder; pass the folder holding the "
            "release's numbered folders or its .tar/.tar.gz parts"
        )
    units = release_units(root)
    if not units:
        raise UserError(
            f"--annotations {annotations}: no numbered folders, .tar/.tar.gz archives or .json files in it"
        )
    try:
        shard_list = list_shards(shards)
    except FileNotFoundError as e:
        raise UserError(f"--input: {e}") from None
    missing = [s for s in shard_list if not s.is_file()]
    if not shard_list or missing:
        raise UserError(
            f"--input {shards}: " + (f"{missing[0]} does not exist" if missing else "no .tar shards found")
        )
    return root, units, shard_list


def _group(units: list[Path], root: Path) -> dict[str, list[str]]:
    """Parse units named in release order: archives and the root's own JSON files one each,
    consecutive numbered folders together up to ~RECORDS_PER_UNIT records (judged from the first
    folder's size) but into at least ~MIN_UNITS units, so a unit is neither one tiny folder nor so
    big that a few workers idle. Decided by the release alone (the fingerprint holds it)."""
    folders = [u for u in units if u.is_dir() and u != root]
    per_folder = sum(1 for e in os.scandir(folders[0]) if e.name.endswith(".json")) if folders else 1
    step = max(1, min(RECORDS_PER_UNIT // max(per_folder, 1), math.ceil(len(folders) / MIN_UNITS)))
    is_folder = set(folders)
    groups: list[list[Path]] = []
    for u in units:
        if u in is_folder and groups and groups[-1][0] in is_folder and len(groups[-1]) < step:
            groups[-1].append(u)
        else:
            groups.append([u])
    return {f"u{i:06d}": [str(p) for p in g] for i, g in enumerate(groups)}


@dataclass(frozen=True)
class ImportPlan:
    """What an import does, decided from its arguments and the release's layout before any work;
    `parts` (the fingerprint's) cover all of it."""

    out: Path
    shards: list[Path]
    groups: dict[str, list[str]]  # parse units in release order: name → release parts
    bits: int  # 2 ** bits uid hash buckets
    parts: dict[str, Any]
    config: dict[str, Any]

    @property
    def buckets(self) -> int:
        return 2**self.bits

    @property
    def ranges(self) -> int:
        """The write phase's units: consecutive ranges of image shards."""
        return min(self.buckets, len(self.shards))


def plan_import(
    annotations: str | os.PathLike,
    shards: str | os.PathLike,
    output: str | os.PathLike,
    buckets: int | None = None,
) -> ImportPlan:
    """The import's plan, or a UserError before any work."""
    root, units, shard_list = _validate(annotations, shards, buckets)
    bits = (
        buckets.bit_length() - 1
        if buckets is not None
        # default: one bucket per SHARDS_PER_BUCKET
        else min(
            max(
                math.ceil(math.log2(max(1, len(shard_list) / SHARDS_PER_BUCKET))), int(math.log2(MIN_BUCKETS))
            ),
            int(math.log2(MAX_BUCKETS)),
        )
    )
    names = hashlib.sha256("\n".join(s.name for s in shard_list).encode()).hexdigest()[:16]
    groups = _group(units, root)
    parts = {
        "format": "vlm150m-import/1",
        "annotations": str(root.resolve()),
        "shards": {"count": len(shard_list), "names": names},
        "buckets": 2**bits,
        "parse_units": hashlib.sha256(json.dumps(groups).encode()).hexdigest()[:16],
        "duplicates": "first in release order",
    }
    config = {"annotations": str(annotations), "shards": str(shards), "buckets": 2**bits}
    return ImportPlan(Path(output), shard_list, groups, bits, parts, config)


def _counts(finished: dict[Path, dict[str, Any]], before: set[Path], seconds: float) -> dict[str, Any]:
    """A phase's stats: its units' counts summed."""
    total: Counter = Counter()
    for s in finished.values():
        total.update(s)
    return {"counts": dict(total)}


def run_phases(
    plan: ImportPlan,
    work: Path,
    overwrite: bool = False,
    runner: str = "local",
    workers: int = 1,
    ray_opts: dict[str, Any] | None = None,
    memory_limit: str = "1GB",
    progress: bool = True,
) -> tuple[Counter, dict[str, int]]:
    """uids → bucket-uids → parse → join → write, each a stage in `work/<phase>/`; returns (the
    parse and join phases' counts summed, the images' counts)."""
    stage = partial(
        run_stage,
        summarise=_counts,
        parts=plan.parts,
        config=plan.config,
        overwrite=overwrite,
        runner=runner,
        workers=workers,
        ray_opts=ray_opts,
        progress=progress,
    )
    # one DuckDB thread per worker process; all cores when the import runs in this process
    db = {
        "memory_limit": memory_limit,
        "threads": os.cpu_count() or 1 if runner == "local" and workers <= 1 else 1,
    }

    def phase(name: str, units: list[str], job, **kw) -> dict[str, int]:
        folder = work / name
        return stage(
            name,
            folder,
            [folder / u for u in units],
            partial(job, work=str(work)),
            output_of=_marker,
            desc=f"import: {name}",
            **kw,
        )["counts"]

    sources = [img2dataset_manifest(s) for s in plan.shards]
    from_tar = [s for s, m in zip(plan.shards, sources) if m is None]
    if from_tar:
        stage(
            "uids",
            work / "uids",
            from_tar,
            partial(_uids_from_tar, work=str(work)),
            output_of=partial(_tar_uids, work=work),
            desc="import: uids from tars",
        )
    paths = [str(m or _tar_uids(s, work)) for s, m in zip(plan.shards, sources)]
    images = phase(
        "bucket-uids", ["all"], partial(_bucket_uids, sources=paths, bits=plan.bits, ranges=plan.ranges, **db)
    )
    counts = Counter(
        phase(
            "parse", sorted(plan.groups), partial(_parse, groups=plan.groups, bits=plan.bits), count="records"
        )
    )
    counts.update(phase("join", [f"b{b}" for b in range(plan.buckets)], partial(_join, **db)))
    phase(
        "write",
        [f"r{r}" for r in range(plan.ranges)],
        partial(_write, out=str(plan.out), shards=[str(s) for s in plan.shards], ranges=plan.ranges, **db),
    )
    return counts, images


def _stats(
    plan: ImportPlan, fp: str, counts: Counter, images: dict[str, int], already_done: int, wall: float
) -> dict[str, Any]:
    skipped = {
        k: v
        for k, v in sorted(counts.items())
        if k
        not in ("records", "ok", "normalized", "matched", "records_without_image", "images_without_record")
    }
    return {
        "fingerprint": fp,
        "records": counts["records"],
        "ok": counts["ok"],
        "normalized": counts["normalized"],
        "skipped": skipped,
        "records_without_image": counts["records_without_image"],
        "images": images["images"],
        "images_bad_uid": images["images_bad_uid"],
        "images_without_record": counts["images_without_record"],
        "rows_written": counts["matched"],
        "shards": len(plan.shards),
        "buckets": plan.buckets,
        "this_run": {
            "wall_s": round(wall, 1),
            "shards_already_done": already_done,
            "records_per_s": round(counts["records"] / wall, 1) if not already_done else None,
        },
    }


def import_vlm150m(
    annotations: str | os.PathLike,
    shards: str | os.PathLike,
    output: str | os.PathLike,
    workers: int = 1,
    runner: str = "local",
    ray_opts: dict[str, Any] | None = None,
    buckets: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    memory_limit: str = "1GB",
) -> dict[str, Any]:
    """Import the release under `annotations` for the image shards `shards` into sidecars under
    `output` (rerun the same call to resume). Returns and writes the stats; raises UserError on bad
    arguments (ConfigMismatch on an output folder made under another configuration)."""
    start = time.perf_counter()
    plan = plan_import(annotations, shards, output, buckets)
    out = plan.out
    fp = resume.prepare(out, plan.parts, plan.config, overwrite, manifest_name(NAME))
    todo, done = resume.plan(plan.shards, partial(sidecar_path, out_dir=out), fp, overwrite)
    old = out / stats_name(NAME)
    if not todo and old.exists() and json.loads(old.read_text()).get("fingerprint") == fp:
        return json.loads(old.read_text())
    log.info(
        "import: %d release parts in %d units, %d image shards, %d buckets (fingerprint %s)",
        sum(map(len, plan.groups.values())),
        len(plan.groups),
        len(plan.shards),
        plan.buckets,
        fp,
    )
    work = out / WORK / fp
    counts, images = run_phases(plan, work, overwrite, runner, workers, ray_opts, memory_limit, progress)
    stats = _stats(plan, fp, counts, images, len(done), time.perf_counter() - start)
    if counts["records"] and not counts["matched"]:
        log.warning(
            "import: no record matched an image uid; do the shards carry the DataComp/DFN "
            "uid (img2dataset --save_additional_columns '[\"uid\"]')?"
        )
    store_vocab(
        out,
        str(work / "tag-counts" / "*.parquet"),
        DEFAULT_SIZE,
        {"records": counts["matched"], "sidecars": len(plan.shards), "skipped": {}},
        memory_limit,
    )
    write_text(out / stats_name(NAME), json.dumps(stats, indent=1, sort_keys=True))
    shutil.rmtree(out / WORK, ignore_errors=True)
    return stats
