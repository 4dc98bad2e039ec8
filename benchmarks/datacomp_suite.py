"""hqclip's DataComp suite against DataComp's own way of running it — CLIP_benchmark's
`build_dataset("wds/...")` + `zero_shot_classifier` + `run_classification` per task, with
DataComp's DataLoader (`dataset.batched(B)`, batch_size=None) — on the same miniature wds tasks
(every classification-kind task; FairFace/UTKFace carry no labels for CLIP_benchmark's reader,
the three Hugging Face sets are not in its wds format), the same model, batch size and workers.
Throughput = images scored per second of wall time, both sides timed twice in one run in the order
CLIP_benchmark, hqclip, hqclip, CLIP_benchmark (a steady drift in the machine's load cancels); the
ratio is hqclip / CLIP_benchmark (target >= 1). DataComp also reads the WILDS and fairness shards a second
time for their metadata; that pass is not counted on its side, so the ratio is conservative.

    python benchmarks/datacomp_suite.py                      # 35 tasks x 128 images, hqclip-tiny
    python benchmarks/datacomp_suite.py --images 512 --workers 4
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch
from PIL import Image

from hqclip.eval.datacomp import miniature
from hqclip.eval.datacomp import tasks as T
from hqclip.eval.datacomp.suite import run_suite
from hqclip.eval.evaluation import resolve_models

from common import parser, smoke_defaults, target, write_result


def clip_benchmark_side(m, data: Path, keys: list[str], batch_size: int, workers: int) -> int:
    """DataComp's `evaluate_webdataset` path for each task; returns the images scored."""
    from clip_benchmark.datasets.builder import build_dataset
    from clip_benchmark.metrics.zeroshot_classification import run_classification, zero_shot_classifier
    from sklearn.metrics import balanced_accuracy_score

    n = 0
    for key in keys:
        folder = data / T.BY_KEY[key].folder
        ds = build_dataset(
            f"wds/{folder.name}", root=str(folder), transform=m.preprocess, split="test", download=False
        )
        loader = torch.utils.data.DataLoader(ds.batched(batch_size), batch_size=None, num_workers=workers)
        w = zero_shot_classifier(
            m.model, m.tokenizer, ds.classes, [t for t in ds.templates if t.strip()], "cpu", amp=False
        )
        logits, target_ = run_classification(m.model, w, loader, "cpu", amp=False)
        (logits.argmax(1) == target_).float().mean()
        balanced_accuracy_score(target_, logits.argmax(1))
        n += len(target_)
    return n


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--model", default="hqclip-tiny", help="open_clip name (random init)")
    ap.add_argument("--images", type=int, default=128, help="images per task")
    ap.add_argument("--image-size", type=int, default=64, help="stored image side in pixels")
    ap.add_argument("--tasks", type=int, default=0, help="first N classification-kind tasks (0: all)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader workers, both sides")
    args = smoke_defaults(ap, images=8, image_size=16, tasks=2, batch_size=4, workers=1)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("hqclip").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="WebDataset.shardshuffle")
    keys = [t.key for t in T.TASKS if t.wds and t.kind != T.FACE]
    keys = keys[: args.tasks] if args.tasks else keys
    m = resolve_models([args.model])[0]
    import clip_benchmark.datasets.builder  # noqa: F401  (imports and the first forward pass out of both timings)
    import webdataset  # noqa: F401

    with torch.no_grad():
        m.model.encode_image(m.preprocess(Image.new("RGB", (8, 8)))[None])
    with tempfile.TemporaryDirectory() as tmp:
        data = miniature.build(Path(tmp) / "data", n=args.images, size=args.image_size, shards=4, keys=keys)
        cb_s = hq_s = 0.0
        n_cb = n_hq = 0
        for run, side in enumerate(("cb", "hq", "hq", "cb")):  # ABBA: a drift in others' load cancels
            t0 = time.perf_counter()
            if side == "cb":
                n_cb += clip_benchmark_side(m, data, keys, args.batch_size, args.workers)
                cb_s += time.perf_counter() - t0
            else:
                out = Path(tmp) / f"out{run}"
                run_suite([m], data, out, tasks=keys, batch_size=args.batch_size, workers=args.workers)
                hq_s += time.perf_counter() - t0
                n_hq += len(keys) * args.images
    ratio = (n_hq / hq_s) / (n_cb / cb_s)
    print(
        f"{len(keys)} tasks x {args.images} images, {args.model}, "
        f"batch {args.batch_size}, workers {args.workers}"
    )
    print(f"CLIP_benchmark (DataComp's path), 2 runs: {cb_s:.1f} s, {n_cb / cb_s:.1f} img/s")
    print(
        f"hqclip eval --suite datacomp, 2 runs:     {hq_s:.1f} s, {n_hq / hq_s:.1f} img/s (reports included)"
    )
    res = {
        "tasks": len(keys),
        "images_per_task": args.images,
        "clip_benchmark_s": cb_s,
        "hqclip_s": hq_s,
        "throughput_ratio": target("throughput hqclip / CLIP_benchmark", ratio, ">=", 1.0, not args.smoke),
    }
    write_result("datacomp_suite", args, res)
    print(f"throughput ratio hqclip / CLIP_benchmark: {ratio:.2f}")


if __name__ == "__main__":
    main()
