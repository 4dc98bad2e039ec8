"""The GPU figures of issue 22 from one run (at most 8 minutes on one H100/H200), each a ratio
measured within the same run, each section guarded so that one failing records its error and the
others still run (a GPU run is a one-shot):

1. train step: ViT-B-16 at 224 px, batch 256, bf16: samples/s and model FLOPs utilisation (FLOPs
   per sample counted by torch.utils.flop_counter on one eager step, peak from PEAK_TFLOPS by GPU
   name or --peak-tflops) of a plain CLIP step (HNI 0, STC 0, alt-text) and an HQ-CLIP step (HNI +
   STC, `hqclip train`'s defaults), with and without torch.compile and gradient checkpointing;
   hqclip's own `hqclip.train.loop.setup` / `step`, fed a batch from hqclip's own loader. Target:
   HQ-CLIP / plain step time <= 1.35.
2. loader: samples/s per worker of hqclip's training loader (HNI texts and the STC vocabulary on)
   on img2dataset-like 256 px JPEG shards with oracle sidecars, against open_clip's WebDataset
   pipeline (open_clip_train.data.get_wds_dataset) rebuilt stage for stage with webdataset's public
   API, on the same shards; get_wds_dataset itself is called once to record whether it still
   crashes on this webdataset (KeyError 'fname'). Target: hqclip / open_clip >= 1.0.
3. eval: images/s of `hqclip eval`'s image embedding (decode, transform, forward) on those JPEGs.
4. with --study, the time left goes to the converged world study (`hqclip quickstart --budget
   converged`, docs/quickstart).

Results: <results>/gpu.json and gpu.md.

    python benchmarks/gpu.py                                   # one GPU: everything
    python benchmarks/gpu.py --sections loader                 # the loader ratio (on CPU here)
    python benchmarks/gpu.py --smoke                           # CPU, tiny sizes (CI)
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from argparse import Namespace
from pathlib import Path
from typing import Any

import open_clip
import torch
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image

from hqclip.clip.load import ModelSpec, load
from hqclip.data.shards import iter_shard, iter_shards, list_shards, write_shards
from hqclip.eval.embed import Embedder, clear_memo
from hqclip.train import TrainConfig, loop
from hqclip.train.loader import make_loader

from common import parser, small_world, smoke_defaults, target, write_result

# dense bf16 tensor TFLOP/s by GPU name (vendors' data sheets); the first name contained wins
PEAK_TFLOPS = {
    "GH200": 989.0,
    "H200": 989.0,
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "H100": 989.0,
    "H800": 989.0,
    "A100": 312.0,
    "A800": 312.0,
    "L40S": 362.0,
    "L40": 181.0,
    "L4": 121.0,
    "A10": 125.0,
    "RTX 4090": 165.0,
}
STEP_TARGET, LOADER_TARGET = 1.35, 1.0
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # where `hqclip train` puts a run
# the two steps compared: `hqclip train`'s defaults (HNI + STC linear head, 30 % alt-text) and a
# plain CLIP step on alt-text
KINDS = {
    "plain CLIP": {"hni_weight": 0.0, "stc_weight": 0.0, "text_mix": {"alt": 1.0}},
    "HQ-CLIP": {},
}


class Budget:
    """The run's time limit: a section that would start after it is skipped, and says so."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def guarded(results: dict, name: str, fn, *args) -> None:
    """results[name] = fn(*args), or the error it raised (the other sections still run)."""
    t = time.perf_counter()
    try:
        results[name] = fn(*args)
    except Exception as e:  # a one-shot run: record, go on
        traceback.print_exc()
        results[name] = {"error": f"{type(e).__name__}: {e}"}
    print(f"section {name}: {time.perf_counter() - t:.0f} s", flush=True)


# --- data --------------------------------------------------------------------------------------


def jpeg_shards(root: Path, args) -> tuple[Path, Path]:
    """img2dataset-like shards (`<key>.jpg` at quality 95, `.txt`, `.json` with uid, url, size)
    of world scenes at `args.image_size` px, with film-grain noise so that the JPEGs are about as
    large (and as slow to decode) as photographs; the oracle's sidecars of the same samples.
    Made once per `root` (kept when --data names it). Returns (shard folder, sidecar folder)."""
    out = root / "jpeg"  # the world's shard names: its sidecars are theirs
    if (root / "jpeg.done").exists():
        return out, root / "world" / "sidecars"
    world = small_world(
        root / "world", args.samples, args.shard_size, image_size=args.image_size, sidecars=True
    )
    write_shards(map(_as_jpeg, iter_shards(list_shards(world / "train"))), out, maxcount=args.shard_size)
    (root / "jpeg.done").touch()
    return out, world / "sidecars"


def _as_jpeg(s) -> dict[str, Any]:
    w, h = s.image.size
    grain = Image.effect_noise((w, h), 48).convert("RGB")
    buf = io.BytesIO()
    Image.blend(s.image, grain, 0.25).save(buf, format="JPEG", quality=95)
    meta = {**s.meta, "url": f"https://example.com/{s.key}.jpg", "width": w, "height": h}
    return {"__key__": s.key, "jpg": buf.getvalue(), "txt": s.text, "json": {**meta, "status": "success"}}


def train_config(shards: Path, sidecars: Path, out: Path, args, **kw) -> TrainConfig:
    base = {"model": args.model, "batch_size": args.batch_size, "precision": args.precision}
    return TrainConfig(
        train_data=str(shards),
        sidecars=str(sidecars),
        output=str(out),
        steps=10**6,
        train_num_samples=args.samples,
        progress=False,
        **{**base, **kw},
    )


def _batches(s: loop.State, workers: int):
    """hqclip's training loader for `s`, its batches without the bookkeeping (as `loop.run`)."""
    for batch in make_loader(loop.stream(s, 0, 0), workers):
        for k in ("counts", "uids", "stream"):
            batch.pop(k)
        yield batch


# --- 1. train step ------------------------------------------------------------------------------


def peak_tflops(args) -> float | None:
    if args.peak_tflops:
        return args.peak_tflops
    if DEVICE != "cuda":
        return None
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_step(cfg: TrainConfig, args, count_flops: bool) -> dict[str, Any]:
    """Build the run as `hqclip train` does, take one batch from its loader, then: FLOPs of one
    step (eager only), warm-up steps (compilation), and the mean time of `args.steps` steps."""
    from torch.utils.flop_counter import FlopCounterMode

    s = loop.setup(cfg)
    try:
        batch = next(_batches(s, 0))
        if s.d.device.type == "cuda":
            batch = {k: v.pin_memory() if torch.is_tensor(v) else v for k, v in batch.items()}
        out: dict[str, Any] = {}
        if count_flops:
            counter = FlopCounterMode(display=False)
            with counter:
                loop.step(s, batch)
            out["flops_per_sample"] = counter.get_total_flops() / cfg.batch_size
        t = time.perf_counter()
        for _ in range(args.warmup):
            loop.step(s, batch)
        _sync(s.d.device)
        out["warmup_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(args.steps):
            loop.step(s, batch)
        _sync(s.d.device)
        out["step_s"] = (time.perf_counter() - t) / args.steps
        out["samples_per_s"] = cfg.batch_size / out["step_s"]
        if s.d.device.type == "cuda":
            out["peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
        return out
    finally:
        del s
        torch._dynamo.reset()  # a compiled row's caches hold its model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()


def train_section(data: tuple[Path, Path], tmp: Path, args, budget: Budget) -> dict[str, Any]:
    peak = peak_tflops(args)
    rows: list[dict[str, Any]] = []
    flops: dict[str, float] = {}
    compiles = (False,) if args.no_compile else (False, True)
    for compile_ in compiles:
        for ckpt in (False, True):
            for kind, overrides in KINDS.items():
                row = {"kind": kind, "compile": compile_, "grad_checkpointing": ckpt}
                rows.append(row)
                if budget.left() < args.reserve_s:
                    row["error"] = "skipped: time budget"
                    continue
                cfg = train_config(
                    *data, tmp / "run", args, compile=compile_, grad_checkpointing=ckpt, **overrides
                )
                try:
                    row.update(time_step(cfg, args, count_flops=kind not in flops))
                except Exception as e:  # e.g. a compile failure: the other rows still run
                    traceback.print_exc()
                    row["error"] = f"{type(e).__name__}: {e}"
                    continue
                flops.setdefault(kind, row.pop("flops_per_sample", None))
                row["mfu"] = flops[kind] * row["samples_per_s"] / (peak * 1e12) if peak else None
                print(f"train step {row}", flush=True)
    ratios = {}
    for compile_ in compiles:
        for ckpt in (False, True):
            pair = {r["kind"]: r for r in rows if (r["compile"], r["grad_checkpointing"]) == (compile_, ckpt)}
            if all("step_s" in pair.get(k, {}) for k in KINDS):
                name = f"compile={compile_} ckpt={ckpt}"
                ratios[name] = target(
                    f"HQ-CLIP / plain step time ({name})",
                    pair["HQ-CLIP"]["step_s"] / pair["plain CLIP"]["step_s"],
                    "<=",
                    STEP_TARGET,
                    applies=DEVICE == "cuda" and not args.smoke,
                )
    return {"peak_tflops": peak, "flops_per_sample": flops, "rows": rows, "ratio": ratios}


# --- 2. loader ----------------------------------------------------------------------------------


def _rate(batches, n: int, batch_size: int) -> tuple[float, float]:
    """Samples per second and per CPU-second of this process over batches 2..n+1 (the first pays
    for the start-up and the shuffle buffer). With --loader-workers 0 the loader runs here, so
    the second is a worker's rate that other load on the machine does not change."""
    it = iter(batches)
    next(it)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(n):
        next(it)
    return n * batch_size / (time.perf_counter() - t), n * batch_size / (time.process_time() - c)


def open_clip_pipeline(shards: list[Path], preprocess, tokenizer, args):
    """open_clip_train.data.get_wds_dataset's training pipeline, stage for stage, with
    webdataset's public API (its shard shuffle `detshuffle2` is webdataset's `shuffle` seeded, its
    `tarfile_to_samples_nothrow` is `tarfile_to_samples` with the same handler)."""
    import webdataset as wds
    from open_clip_train.data import filter_no_caption_or_no_image, log_and_continue

    pipeline = wds.DataPipeline(
        wds.SimpleShardList([str(p) for p in shards] * args.passes),
        wds.shuffle(bufsize=2000, initial=500, rng=random.Random(0)),
        wds.split_by_node,
        wds.split_by_worker,
        wds.tarfile_to_samples(handler=log_and_continue),
        wds.shuffle(bufsize=5000, initial=1000),
        wds.select(filter_no_caption_or_no_image),
        wds.decode("pilrgb", handler=log_and_continue),
        wds.rename(image="jpg;png;jpeg;webp", text="txt"),
        wds.map_dict(image=preprocess, text=lambda text: tokenizer(text)[0]),
        wds.to_tuple("image", "text"),
        wds.batched(args.loader_batch, partial=False),
    )
    return wds.WebLoader(
        pipeline,
        batch_size=None,
        shuffle=False,
        num_workers=args.loader_workers,
        persistent_workers=args.loader_workers > 0,
    )


def get_wds_dataset_crash(shards: list[Path], preprocess, tokenizer, args) -> str | None:
    """Open_clip_train's own loader on these shards: None if it yields a batch, else its error."""
    from open_clip_train.data import get_wds_dataset

    oc_args = Namespace(
        train_data="::".join(str(p) for p in shards),
        train_num_samples=args.samples,
        dataset_resampled=False,
        train_data_upsampling_factors=None,
        seed=0,
        batch_size=args.loader_batch,
        world_size=1,
        workers=0,
    )
    try:
        next(iter(get_wds_dataset(oc_args, preprocess, True, tokenizer=tokenizer).dataloader))
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def loader_section(data: tuple[Path, Path], tmp: Path, args) -> dict[str, Any]:
    cfg = train_config(*data, tmp / "loader", args, batch_size=args.loader_batch, workers=args.loader_workers)
    s = loop.setup(cfg)
    shards = s.inputs.shards
    # open_clip's own train transform, as create_model_and_transforms builds it (hqclip's loader
    # may ship uint8 images and normalise on the device)
    theirs_transform = image_transform_v2(
        PreprocessCfg(**open_clip.get_model_preprocess_cfg(s.module.clip)), is_train=True
    )
    crash = get_wds_dataset_crash(shards, theirs_transform, s.tokenizer, args)
    ours_runs, theirs_runs = [], []
    threads = torch.get_num_threads()
    if not args.loader_workers:
        torch.set_num_threads(1)  # as in a DataLoader worker
    try:
        for _ in range(args.loader_repeats):  # alternated against load drift on a shared machine
            ours_runs.append(_rate(_batches(s, args.loader_workers), args.loader_batches, args.loader_batch))
            pipe = open_clip_pipeline(shards, theirs_transform, s.tokenizer, args)
            theirs_runs.append(_rate(pipe, args.loader_batches, args.loader_batch))
    finally:
        torch.set_num_threads(threads)
    # per worker: wall time with workers, CPU time of this process without
    col = 0 if args.loader_workers else 1
    ours = statistics.median(r[col] for r in ours_runs)
    theirs = statistics.median(r[col] for r in theirs_runs)
    per = max(1, args.loader_workers)
    print(f"loader: hqclip {ours:.0f} samples/s, open_clip pipeline {theirs:.0f} samples/s", flush=True)
    return {
        "workers": args.loader_workers,
        "batch_size": args.loader_batch,
        "hni": cfg.hni_weight > 0,
        "stc_head": cfg.stc_head,
        "per_worker_measured_by": "CPU time (workers 0)" if col else "wall time",
        "samples_per_s_and_per_cpu_s": {"hqclip": ours_runs, "open_clip_pipeline": theirs_runs},
        "per_worker": {"hqclip": ours / per, "open_clip_pipeline": theirs / per},
        "open_clip_get_wds_dataset_error": crash,
        "ratio": target(
            "loader hqclip / open_clip pipeline", ours / theirs, ">=", LOADER_TARGET, applies=not args.smoke
        ),
    }


# --- 3. eval ------------------------------------------------------------------------------------


def eval_section(data: tuple[Path, Path], tmp: Path, args) -> dict[str, Any]:
    folder = tmp / "eval-images"
    folder.mkdir(exist_ok=True)
    paths = []
    for shard in list_shards(data[0]):
        for x in iter_shard(shard, decode=False):
            paths.append(folder / f"{x.key}.jpg")
            paths[-1].write_bytes(x.image_bytes)
    m = load(ModelSpec.parse(args.model), device=DEVICE)
    emb = Embedder(m, batch_size=args.eval_batch, workers=args.eval_workers)
    emb.images(paths[: args.eval_batch])  # warm-up: kernels chosen, workers started once
    clear_memo()
    _sync(torch.device(DEVICE))
    t = time.perf_counter()
    emb.images(paths)
    _sync(torch.device(DEVICE))
    rate = len(paths) / (time.perf_counter() - t)
    clear_memo()
    print(f"eval: {rate:.0f} images/s", flush=True)
    return {
        "images": len(paths),
        "batch_size": args.eval_batch,
        "workers": args.eval_workers,
        "images_per_s": rate,
    }


# --- 4. the converged world study --------------------------------------------------------------


def study_section(args, budget: Budget) -> dict[str, Any]:
    """`hqclip quickstart --budget converged --device cuda` in the time left; stopped at the limit,
    it continues from its cache when run again."""
    cmd = [
        sys.executable,
        "-m",
        "hqclip.cli.main",
        "quickstart",
        "--budget",
        "converged",
        "--device",
        DEVICE,
        "--output",
        str(args.study_output),
    ]
    left = budget.left()
    proc = subprocess.Popen(cmd, start_new_session=True)  # its training workers go with it
    try:
        code = proc.wait(timeout=max(1.0, left))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        return {"command": " ".join(cmd), "finished": False, "seconds": left}
    if code:
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}")
    report = args.study_output / "report"
    return {
        "command": " ".join(cmd),
        "finished": True,
        "converged": json.loads((report / "converged.json").read_text()),
        "claims": json.loads((report / "quickstart.json").read_text())["claims"],
    }


# --- report -------------------------------------------------------------------------------------


def _f(x: Any, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def markdown(results: dict[str, Any], args) -> str:
    lines = [f"# GPU benchmark ({args.model}, device {DEVICE})", ""]
    tr = results.get("train", {})
    if "rows" in tr:
        lines += [
            f"Train step, batch {args.batch_size}, precision {args.precision}, peak "
            f"{_f(tr['peak_tflops'], '{:.0f}')} TFLOP/s:",
            "",
            "| step | compile | grad ckpt | ms/step | samples/s | MFU | peak GiB |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in tr["rows"]:
            if "error" in r:
                lines.append(
                    f"| {r['kind']} | {r['compile']} | {r['grad_checkpointing']} | {r['error']} ||||"
                )
                continue
            lines.append(
                f"| {r['kind']} | {r['compile']} | {r['grad_checkpointing']} | {r['step_s'] * 1e3:.1f} | "
                f"{r['samples_per_s']:.0f} | {_f(r['mfu'] and 100 * r['mfu'], '{:.1f} %')} | "
                f"{_f(r.get('peak_mem_gib'))} |"
            )
        lines += ["", "| HQ-CLIP / plain step time | ratio | target |", "|---|---|---|"]
        lines += [f"| {k} | {v['value']:.2f} | {v['target']} |" for k, v in tr["ratio"].items()]
        lines.append("")
    ld = results.get("loader", {})
    if "ratio" in ld:
        lines += [
            f"Loader, {ld['workers']} worker(s) (per worker by {ld['per_worker_measured_by']}), batch "
            f"{ld['batch_size']}, HNI texts on, STC head "
            f"{ld['stc_head']}: samples/s per worker hqclip {ld['per_worker']['hqclip']:.0f}, open_clip "
            f"pipeline {ld['per_worker']['open_clip_pipeline']:.0f}, ratio {ld['ratio']['value']:.2f} "
            f"(target {ld['ratio']['target']}). open_clip_train's get_wds_dataset: "
            f"{ld['open_clip_get_wds_dataset_error'] or 'ran'}.",
            "",
        ]
    st = results.get("study", {})
    if "finished" in st:
        lines += [
            f"Converged study (`{st['command']}`): "
            + (
                f"{st['converged']['steps']} steps; claims: "
                + "; ".join(f"{c['claim']}: {c['holds']}" for c in st["claims"])
                if st["finished"]
                else "stopped at the time budget (rerun continues from its cache)"
            ),
            "",
        ]
    ev = results.get("eval", {})
    if "images_per_s" in ev:
        lines += [f"Eval image embedding: {ev['images_per_s']:.0f} images/s ({ev['images']} images).", ""]
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    lines += [f"Section {k} failed: {e}" for k, e in errors.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = parser(__doc__)
    cuda = DEVICE == "cuda"
    ap.add_argument("--sections", default="train,loader,eval", help="comma-separated: train,loader,eval")
    ap.add_argument("--study", action="store_true", help="then the converged world study, with the time left")
    ap.add_argument("--study-output", type=Path, default=Path("runs/gpu-study"), help="its quickstart folder")
    ap.add_argument("--time-budget", type=float, default=480.0, help="seconds for the whole run")
    ap.add_argument(
        "--reserve-s", type=float, default=120.0, help="a train row starts only with this much left"
    )
    ap.add_argument("--model", default="ViT-B-16")
    ap.add_argument("--batch-size", type=int, default=256, help="train step batch")
    ap.add_argument("--precision", default="bf16" if cuda else "auto")
    ap.add_argument("--no-compile", action="store_true", help="leave out the torch.compile rows")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per row")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation)")
    ap.add_argument(
        "--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak (default by name)"
    )
    ap.add_argument("--data", type=Path, default=None, help="keep the JPEG shards here, reuse them next time")
    ap.add_argument("--samples", type=int, default=4096, help="samples in the JPEG shards")
    ap.add_argument("--shard-size", type=int, default=512)
    ap.add_argument("--image-size", type=int, default=256, help="JPEG side in pixels")
    ap.add_argument("--loader-workers", type=int, default=1)
    ap.add_argument("--loader-batch", type=int, default=64)
    ap.add_argument("--loader-batches", type=int, default=20, help="timed batches per loader run")
    ap.add_argument("--loader-repeats", type=int, default=3, help="runs of each loader, alternated")
    ap.add_argument("--passes", type=int, default=4, help="open_clip pipeline: shard list repeats")
    ap.add_argument("--eval-batch", type=int, default=256)
    ap.add_argument("--eval-workers", type=int, default=8 if cuda else 0)
    args = smoke_defaults(
        ap,
        model="hqclip-micro",
        no_compile=True,  # minutes on a CPU
        batch_size=8,
        steps=2,
        warmup=1,
        samples=256,
        shard_size=64,
        image_size=64,
        loader_batch=8,
        loader_batches=3,
        loader_repeats=1,
        eval_batch=16,
        eval_workers=0,
        precision="auto",
    )
    budget = Budget(args.time_budget)
    sections = args.sections.split(",")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        data = jpeg_shards(args.data or tmp, args)
        results["data"] = {"seconds": time.perf_counter() - t, "samples": args.samples}
        if "loader" in sections:
            guarded(results, "loader", loader_section, data, tmp, args)
        if "eval" in sections:
            guarded(results, "eval", eval_section, data, tmp, args)
        if "train" in sections:  # last: its compiled rows take what the budget leaves
            guarded(results, "train", train_section, data, tmp, args, budget)
    if args.study:
        guarded(results, "study", study_section, args, budget)
    print(f"model {args.model}, device {DEVICE}, torch threads {torch.get_num_threads()}")
    path = write_result("gpu", args, results)
    md = path.with_suffix(".md")
    md.write_text(markdown(results, args))
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
