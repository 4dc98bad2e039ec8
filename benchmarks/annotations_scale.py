"""Scale of the annotation path (issue 12), measured at two release sizes in one run; figures are
ratios between the sizes and against the old in-memory index, never timed assertions.

For each N it builds a synthetic release of N records in the VLM-150M layout (numbered folders of
`<uid>.json`; tar archives of such folders past 200k records, which the import reads without
extraction) and img2dataset-style shards: a `<shard>.parquet` with key, uid, status per 10k images
(an empty tar beside it: the join needs no image), except the first 4 shards, which are real tars of
256 small images that training reads. 1 in 20 records has no image, 1 in 100 images no record.
Then:
  (a) `hqclip import-vlm150m` at 1 and 2 workers (the 1-worker run at the smallest N only):
      records/s, and records/s per core;
  (b) the import's peak RSS, summed over its process tree (sampled from /proc every 50 ms);
  (c) a 2-step `hqclip train` on the 4 real shards with the N-record sidecar folder: start-up (launch
      to its first logged step) and peak RSS of the main process + its 2 loader workers;
  (d) the old in-memory index (every sidecar of the folder read and validated into one uid → record
      dict, as `load_index` did before per-shard joining): its peak RSS and time at the same N.

    nice -n 10 python benchmarks/annotations_scale.py                         # N = 100k and 5M
    python benchmarks/annotations_scale.py --sizes 20000,100000 --root /tmp/s # a quick look
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import sys
import tarfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import webdataset as wds
from PIL import Image

from common import measure, parser, smoke_defaults, target, write_result

PER_SHARD = 10_000
TRAIN_SHARDS, TRAIN_IMAGES = 4, 256
FOLDER = 10_000  # records per numbered folder
ARCHIVE = 500_000  # records per tar archive of folders (releases past LOOSE)
LOOSE = 200_000
WORDS = (
    "red blue green yellow black white small large wooden metal glass vintage modern round "
    "square striped dotted shiny matte necklace table chair dog cat car bicycle lamp vase "
    "shirt dress bottle cup plate book phone watch bag shoe hat tree flower house road"
).split()
PY = sys.executable


def uid_of(i: int) -> str:
    return hashlib.md5(f"record-{i}".encode()).hexdigest()


def record(i: int) -> dict:
    """~1 KB like a VLM-150M record; tags from a long-tailed vocabulary (Zipf-like by index)."""
    rng = random.Random(i)
    k, t = rng.randint(3, 6), rng.randint(5, 10)

    def sent(n):
        return " ".join(rng.choice(WORDS) for _ in range(n))

    tags = [f"{sent(2)} {int(1 / rng.random()) % 500_000}" for _ in range(t)]
    return {
        "desc": [f"the image shows {sent(10)} {j}" for j in range(k)],
        "neg_desc": [f"the image shows {sent(10)} no {j}" for j in range(k)],
        "tags": list(dict.fromkeys(tags)),
        "neg_tags": [f"not {x}" for x in dict.fromkeys(tags)],
    }


def make_release(root: Path, n: int) -> Path:
    """`root/release`: folders of FOLDER `<uid>.json` (n <= LOOSE) or tar archives of them."""
    out = root / "release"
    if (root / "release.complete").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tf = None
    for i in range(n):
        folder = f"{i // FOLDER:05d}"
        data = json.dumps(record(i)).encode()
        if n <= LOOSE:
            (out / folder).mkdir(exist_ok=True)
            (out / folder / f"{uid_of(i)}.json").write_bytes(data)
            continue
        if i % ARCHIVE == 0:
            if tf:
                tf.close()
            tf = tarfile.open(out / f"part-{i // ARCHIVE:04d}.tar", "w")
        info = tarfile.TarInfo(f"{folder}/{uid_of(i)}.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    if tf:
        tf.close()
    (root / "release.complete").write_text("")
    return out


def png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), ((i * 37) % 255, (i * 91) % 255, 128)).save(buf, format="PNG")
    return buf.getvalue()


def make_shards(root: Path, n: int) -> Path:
    """img2dataset-style `root/shards/NNNNN.{tar,parquet}`: every 20th record has no image, 1 in
    100 images no record; the first TRAIN_SHARDS tars hold real images."""
    out = root / "shards"
    if (root / "shards.complete").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    uids = (
        uid_of(i) if i % 100 != 1 else hashlib.md5(f"orphan-{i}".encode()).hexdigest()
        for i in range(n)
        if i % 20
    )
    shard, rows = 0, []

    def flush():
        nonlocal shard
        name = f"{shard:05d}"
        pq.write_table(
            pa.table(
                {"key": [k for k, _ in rows], "uid": [u for _, u in rows], "status": ["success"] * len(rows)}
            ),
            out / f"{name}.parquet",
        )
        if shard < TRAIN_SHARDS:
            with wds.TarWriter(str(out / f"{name}.tar")) as w:
                for k, u in rows:
                    w.write({"__key__": k, "png": png(int(k)), "txt": f"photo {k}", "json": {"uid": u}})
        else:
            (out / f"{name}.tar").write_bytes(b"\0" * 1024)  # an empty tar: the join reads no image
        shard += 1
        rows.clear()

    for u in uids:
        rows.append((f"{shard:05d}{len(rows):04d}", u))
        if len(rows) == (TRAIN_IMAGES if shard < TRAIN_SHARDS else PER_SHARD):
            flush()
    if rows:
        flush()
    (root / "shards.complete").write_text("")
    return out


def import_cmd(root: Path, out: Path, workers: int) -> list[str]:
    return [
        PY,
        "-m",
        "hqclip.cli.main",
        "import-vlm150m",
        "--annotations",
        str(root / "release"),
        "--input",
        str(root / "shards"),
        "--output",
        str(out),
        "--workers",
        str(workers),
        "--no-progress",
    ]


OLD_INDEX = """
import sys, time
from pathlib import Path
import pyarrow.parquet as pq
from hqclip.schema import FIELDS, normalize, validate
t = time.perf_counter()
index = {}
paths = sorted(Path(sys.argv[1]).glob("*.parquet"))[:int(sys.argv[2])]
for path in paths:   # load_index as it was: every sidecar of the folder into one dict
    for row in pq.read_table(path, columns=["uid", "status", *FIELDS]).to_pylist():
        if row["status"] == "ok":
            rec = normalize({f: list(row[f]) for f in FIELDS})
            if validate(rec) is None:
                index[row["uid"]] = rec
print(len(index), time.perf_counter() - t)
"""


def available() -> int:
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def old_index(sidecars: Path, n: int, slope: float) -> dict:
    """Peak RSS of the old index over the whole folder; where that would take more than a third of
    this (shared) machine's free memory, over the first sidecars holding as many records as fit,
    extrapolated linearly to N with the bytes per record between the two measured sizes."""
    files = sorted(sidecars.glob("*.parquet"))
    records = [pq.read_metadata(p).num_rows for p in files]
    budget = available() / 3
    k = len(files)
    while slope and k > 1 and slope * sum(records[:k]) > budget:
        k //= 2
    m = measure([PY, "-c", OLD_INDEX, str(sidecars), str(k)])
    return {
        "records": sum(records[:k]),
        "wall_s": m.wall_s,
        "peak_rss": m.peak_rss,
        "measured_whole": k == len(files),
    }


def measure_size(root: Path, n: int, workers: list[int], keep: bool, old_per_record: float) -> dict:
    t = time.perf_counter()
    make_release(root, n)
    make_shards(root, n)
    res: dict = {"n": n, "build_s": round(time.perf_counter() - t)}
    for w in workers:
        out = root / f"sidecars-w{w}"
        shutil.rmtree(out, ignore_errors=True)
        m = measure(import_cmd(root, out, w))
        stats = json.loads((out / "import-stats.json").read_text())
        res[f"import_w{w}"] = {
            "wall_s": m.wall_s,
            "records_per_s": n / m.wall_s,
            "cpu_s": m.cpu_s,
            "per_cpu_s": n / m.cpu_s,
            "peak_rss": m.peak_rss,
            "rows_written": stats["rows_written"],
            "records_without_image": stats["records_without_image"],
            "images_without_record": stats["images_without_record"],
        }
    sidecars = root / f"sidecars-w{workers[-1]}"
    res["sidecar_bytes"] = sum(p.stat().st_size for p in sidecars.glob("*.parquet"))
    res["rows_written"] = res[f"import_w{workers[-1]}"]["rows_written"]
    res["release_bytes"] = sum(p.stat().st_size for p in (root / "release").rglob("*") if p.is_file())
    run_dir = root / "train"
    shutil.rmtree(run_dir, ignore_errors=True)
    train = [
        PY,
        "-m",
        "hqclip.cli.main",
        "train",
        "--input",
        str(root / "shards" / f"{{00000..{TRAIN_SHARDS - 1:05d}}}.tar"),
        "--sidecars",
        str(sidecars),
        "--output",
        str(run_dir),
        "--model",
        "hqclip-micro",
        "--batch-size",
        "32",
        "--steps",
        "2",
        "--workers",
        "2",
        "--log-every",
        "1",
        "--shuffle-buffer",
        "256",
        "--train-num-samples",
        str(TRAIN_SHARDS * TRAIN_IMAGES),
    ]
    m = measure(train, until=run_dir / "metrics.jsonl")
    res["train"] = {"startup_s": m.first_line_s, "wall_s": m.wall_s, "peak_rss": m.peak_rss}
    res["old_index"] = old_index(sidecars, n, old_per_record)
    if not keep:
        for w in workers:
            shutil.rmtree(root / f"sidecars-w{w}", ignore_errors=True)
    return res


def mib(x: float) -> str:
    return f"{x / 2**20:,.0f} MiB"


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--sizes", default="100000,5000000")
    ap.add_argument(
        "--root",
        default="runs/annotations-scale",
        help="where releases are built (kept for a rerun; ~1.5 KB of disk per record)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the imported sidecars")
    args = smoke_defaults(ap, sizes="1500,3000", root="runs/bench-smoke/annotations-scale")
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for i, n in enumerate(sizes):
        slope = results[0]["old_index"]["peak_rss"] / results[0]["old_index"]["records"] if results else 0.0
        results.append(
            measure_size(Path(args.root) / f"n{n}", n, [1, 2] if i == 0 else [2], args.keep, slope)
        )
        print(json.dumps(results[-1]), flush=True)
    small, big = results[0], results[-1]
    print(
        "\nimport: records/s (wall), records per CPU-second of its process tree (= records/s per "
        "core on idle cores), peak RSS summed over its processes:"
    )
    for r in results:
        for w in (1, 2):
            if f"import_w{w}" in r:
                m = r[f"import_w{w}"]
                print(
                    f"  N={r['n']:>9,}  {w} worker(s): {m['records_per_s']:>8,.0f} records/s, "
                    f"{m['per_cpu_s']:,.0f} records/CPU-s, {m['wall_s']:.1f} s, peak RSS "
                    f"{mib(m['peak_rss'])}"
                )
    print(
        "training start-up (launch to first logged step) and loader peak RSS (main + 2 workers);"
        " the old in-memory index over the same sidecars:"
    )
    a, b = small["old_index"], big["old_index"]
    per_rec_old = (b["peak_rss"] - a["peak_rss"]) / (b["records"] - a["records"])
    for r in results:
        old = r["old_index"]
        if old["measured_whole"]:
            how = f"{mib(old['peak_rss'])} ({old['wall_s']:.1f} s)"
        else:
            est = old["peak_rss"] + per_rec_old * (r["rows_written"] - old["records"])
            how = (
                f"{mib(est)}, extrapolated: measured {mib(old['peak_rss'])} over its first "
                f"{old['records']:,} records ({old['wall_s']:.1f} s) + {per_rec_old:,.0f} B/record "
                f"(the slope between the two measured sizes) x the other "
                f"{r['rows_written'] - old['records']:,}; "
                "the whole would not fit beside the other work on this shared machine"
            )
            old["estimated_rss"] = est
        print(
            f"  N={r['n']:>9,}  start-up {r['train']['startup_s']:.1f} s, peak RSS "
            f"{mib(r['train']['peak_rss'])};  old index: {how}"
        )
    ratio_rss = big["train"]["peak_rss"] / small["train"]["peak_rss"]
    ratio_up = big["train"]["startup_s"] / small["train"]["startup_s"]
    big_old = b.get("estimated_rss", b["peak_rss"])
    print(
        f"ratios {big['n']:,} / {small['n']:,}: old index RSS {big_old / a['peak_rss']:.1f}x, "
        f"at {big['n']:,} {big_old / big['train']['peak_rss']:.1f}x the new loader's"
    )
    sizes = f"{big['n']:,} / {small['n']:,}"
    judged = not args.smoke
    targets = {
        "loader_rss_ratio": target(f"loader peak RSS {sizes}", ratio_rss, "<=", 1.2, applies=judged),
        "startup_ratio": target(f"start-up {sizes}", ratio_up, "<=", 2, applies=judged),
    }
    rate = big["import_w2"]["per_cpu_s"]
    side = big["sidecar_bytes"] / big["n"]
    rel = big["release_bytes"] / big["n"]
    print("extrapolation (per record figures from the largest N):")
    for name, n in (("VLM-150M", 147_000_000), ("VLM-1B", 1_370_000_000)):
        print(
            f"  {name} ({n / 1e6:,.0f} M records): old index {per_rec_old:,.0f} B/record x {n:,} = "
            f"{per_rec_old * n / 2**30:,.0f} GiB per rank, new loader as measured (flat); "
            f"import {n:,} / ({rate:,.0f} records per CPU-second x 16 cores) = "
            f"{n / (rate * 16) / 3600:.1f} h on 16 cores; sidecars {side:,.0f} B/record x {n:,} = "
            f"{side * n / 2**30:,.0f} GiB (+ about 2x that while the import's intermediates "
            f"exist); release as read here {rel:,.0f} B/record = {rel * n / 2**30:,.0f} GiB"
        )
    write_result(
        "annotations_scale",
        args,
        {"by_size": results, "old_index_bytes_per_record": per_rec_old, "targets": targets},
    )


if __name__ == "__main__":
    main()
