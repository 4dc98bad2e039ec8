"""Training-speed ratios for `hqclip train`, each printed against its target as met or NOT MET
(figures from one run; not a timed test).

1. step ratio: one HQ-CLIP step (HNI + STC text head) over one plain open_clip step
   (`model(images, text)` + `open_clip.loss.ClipLoss`), same model, same batch from world shards;
   steps interleaved, median of each. Its target is set for a GPU (ViT-B-16, batch 256) and is
   judged only there. Also printed: HQ over our own plain step (text trimmed to its longest
   sequence, as our loop runs it).
2. throughput ratio: our loop in plain-CLIP mode (HNI and STC off, alt-text only) over
   `open_clip_train.main --dataset-type synthetic`, same model and batch, median samples/s.

    python benchmarks/train_step.py                                        # tiny model, CPU
    python benchmarks/train_step.py --model ViT-B-16 --batch-size 256 --device cuda
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from open_clip.loss import ClipLoss

from hqclip.clip.configs import CONFIG_DIR, create, model_config
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shards, list_shards
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.train import TrainConfig, run
from hqclip.train.batch import TextSpec, collate
from hqclip.train.loss import HQCLIPLoss
from hqclip.train.module import HQCLIPModule
from hqclip.train.optim import adamw

from common import parser, small_world, smoke_defaults, target, write_result

# open_clip's own trainer, told about hqclip's model configs
OPEN_CLIP_TRAIN = (
    f"import sys, open_clip; open_clip.add_model_config({str(CONFIG_DIR)!r}); "
    "from open_clip_train.main import main; main(sys.argv[1:])"
)


def step_times(world: Path, args) -> tuple[float, float, float]:
    """Median seconds of: plain open_clip step, HQ-CLIP step, our module's plain step (trimmed text)."""
    dev = torch.device(args.device)
    shards = list_shards(world / "train")
    index = {
        u: r
        for p in shards
        for u, r in read_annotations(sidecar_path(p, world / "sidecars"), SkipLog()).items()
    }
    torch.manual_seed(0)
    clip, transform, _, tok = create(args.model, device=str(dev))
    module = HQCLIPModule(clip, "text", model_config(args.model)["embed_dim"]).to(dev)
    bare = HQCLIPModule(clip, None, model_config(args.model)["embed_dim"]).to(dev)
    opt = adamw(module, TrainConfig(train_data="", output=""))
    samples = [s for _, s in zip(range(args.batch_size), iter_shards(shards))]
    batch = collate(
        samples,
        [index.get(s.uid) for s in samples],
        TextSpec({"alt": 0.3, "desc": 0.7}, 1, 2, True, True),
        transform,
        tok,
        None,
        0,
        0,
    )
    batch.pop("counts"), batch.pop("uids")
    batch = {k: v.to(dev) for k, v in batch.items()}
    hq_loss, clip_loss, clip_loss_hq = HQCLIPLoss(1.0, 1.0, "text"), ClipLoss(), HQCLIPLoss()
    amp = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if dev.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )

    def plain():
        with amp:
            o = clip(batch["images"], batch["text"])
            loss = clip_loss(o["image_features"], o["text_features"], o["logit_scale"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def hq():
        with amp:
            loss = hq_loss(**module(batch))["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def ours_plain():
        with amp:
            loss = clip_loss_hq(**bare({"images": batch["images"], "text": batch["text"]}))["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def timed(fn):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    fns = (plain, hq, ours_plain)
    for fn in fns * 2:
        fn()
    times = [[timed(fn) for fn in fns] for _ in range(args.steps)]  # interleaved against load drift
    return tuple(statistics.median(t[i] for t in times) for i in range(len(fns)))


def ours_throughput(world: Path, out: Path, args) -> float:
    run(
        TrainConfig(
            train_data=str(world),
            output=str(out),
            model=args.model,
            batch_size=args.batch_size,
            steps=args.steps + 3,
            warmup=1,
            workers=args.workers,
            hni_weight=0.0,
            stc_weight=0.0,
            text_mix={"alt": 1.0, "desc": 0.0},
            log_every=1,
            progress=False,
            shuffle_buffer=64,
            train_num_samples=args.batch_size * (args.steps + 3),
        )
    )
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return statistics.median(r["samples_per_s"] for r in rows[3:])


def open_clip_throughput(out: Path, args) -> float:
    cmd = [
        sys.executable,
        "-c",
        OPEN_CLIP_TRAIN,
        "--dataset-type",
        "synthetic",
        "--model",
        args.model,
        "--batch-size",
        str(args.batch_size),
        "--train-num-samples",
        str(args.batch_size * (args.steps + 3)),
        "--epochs",
        "1",
        "--workers",
        str(args.workers),
        "--device",
        args.device,
        "--precision",
        "amp_bf16" if args.device == "cuda" else "fp32",
        "--lr",
        "5e-4",
        "--warmup",
        "1",
        "--log-every-n-steps",
        "1",
        "--logs",
        str(out),
        "--name",
        "bench",
        "--save-frequency",
        "0",
        "--report-to",
        "",
        "--local-loss",
        "--gather-with-grad",
    ]
    log = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rates = [float(m) for m in re.findall(r"([\d.]+)/s/gpu", log.stdout + log.stderr)]
    if len(rates) < 4:
        raise RuntimeError(f"open_clip_train logged {len(rates)} steps:\n{log.stderr[-2000:]}")
    return statistics.median(rates[3:])


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--model", default="hqclip-tiny")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--image-size", type=int, default=64, help="world image size (the model resizes)")
    args = smoke_defaults(ap, model="hqclip-micro", batch_size=8, steps=4, image_size=32)
    with tempfile.TemporaryDirectory() as tmp:
        n = args.batch_size * (args.steps + 4)
        world = small_world(
            Path(tmp) / "world", n, shard_size=max(64, n // 8), image_size=args.image_size, sidecars=True
        )
        tp, th, to = step_times(world, args)
        print(
            f"step: plain open_clip {tp * 1e3:.0f} ms, HQ-CLIP (HNI+STC) {th * 1e3:.0f} ms, "
            f"ratio {th / tp:.2f}; our plain step (trimmed text) {to * 1e3:.0f} ms, "
            f"HQ over it {th / to:.2f}"
        )
        ours = ours_throughput(world, Path(tmp) / "ours", args)
        theirs = open_clip_throughput(Path(tmp) / "oc", args)
        print(
            f"throughput (plain CLIP): ours {ours:.1f} samples/s, open_clip_train synthetic "
            f"{theirs:.1f} samples/s"
        )
    print(
        f"model {args.model}, batch {args.batch_size}, device {args.device}, "
        f"torch threads {torch.get_num_threads()}"
    )
    on_gpu = args.device == "cuda" and not args.smoke
    write_result(
        "train_step",
        args,
        {
            "step_s": {"plain_open_clip": tp, "hqclip": th, "ours_plain_trimmed": to},
            "hq_over_ours_plain": th / to,
            "samples_per_s": {"ours_plain_clip": ours, "open_clip_train_synthetic": theirs},
            "step_ratio": target(
                "step ratio HQ-CLIP / plain open_clip (set for GPU)", th / tp, "<=", 1.35, applies=on_gpu
            ),
            "throughput_ratio": target(
                "throughput ratio ours / open_clip_train", ours / theirs, ">=", 0.95, applies=not args.smoke
            ),
        },
    )


if __name__ == "__main__":
    main()
