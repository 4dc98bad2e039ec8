"""Generate a world folder: train shards (image, alt-text, hidden scene graph) and eval splits.

Every sample is seeded by (world seed, split, index), so the output is the same for a seed
whatever the number of worker processes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.data.shards import write_shards
from hqclip.progress import bar
from hqclip.workers import context as workers_context
from hqclip.world import splits
from hqclip.world.alttext import alt_text
from hqclip.world.config import COLORS, RELATIONS, SHAPES, SIZES, AltTextNoise, WorldConfig, heldout_pairs
from hqclip.world.render import png_bytes, render
from hqclip.world.scene import sample_scene, train_pairs

MANIFEST = "world.json"
FORMAT_VERSION = 3  # bumped whenever the same config would give different files


def _rng(cfg: WorldConfig, *parts: Any) -> random.Random:
    return random.Random("/".join(map(str, (cfg.seed, *parts))))


def train_sample(cfg: WorldConfig, index: int) -> dict[str, Any]:
    """One webdataset sample: png, alt-text, json with uid and the hidden scene graph."""
    rng = _rng(cfg, "train", index)
    scene = sample_scene(rng, train_pairs(), rng.randint(1, cfg.max_objects))
    uid = hashlib.md5(f"hqclip-world/{cfg.seed}/train/{index}".encode()).hexdigest()
    return {
        "__key__": f"{index:09d}",
        "png": png_bytes(render(scene, cfg.image_size, rng)),
        "txt": alt_text(scene, rng, cfg.alt_text),
        "json": {"uid": uid, "scene": scene},
    }


def _train_job(args: tuple[WorldConfig, int]) -> dict[str, Any]:
    return train_sample(*args)


def _image_job(args: tuple[WorldConfig, str, dict]) -> bytes:
    cfg, stem, scene = args
    return png_bytes(render(scene, cfg.image_size, _rng(cfg, "image", stem)))


def _imap(pool, fn, items, chunksize=64) -> Iterator:
    return pool.imap(fn, items, chunksize=chunksize) if pool else map(fn, items)


def _write_images(pool, cfg: WorldConfig, folder: Path, jobs: list[tuple[str, dict]]) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for (stem, _), data in zip(jobs, _imap(pool, _image_job, [(cfg, s, sc) for s, sc in jobs])):
        (folder / "images" / f"{stem}.png").write_bytes(data)


def _dump(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=1))


def _write_eval(pool, cfg: WorldConfig, root: Path) -> dict[str, int]:
    counts = {}
    zs = list(splits.zeroshot(cfg, _rng(cfg, "eval", "zeroshot")))
    _write_images(pool, cfg, root / "zeroshot", [(s, sc) for s, sc, _ in zs])
    _dump(
        root / "zeroshot" / "classes.json",
        {
            "classnames": splits.classnames(),
            "templates": splits.TEMPLATES,
            "heldout": [f"{c} {s}" for c, s in heldout_pairs()],
        },
    )
    _dump(root / "zeroshot" / "samples.json", [{"filename": f"images/{s}.png", **e} for s, _, e in zs])
    counts["zeroshot"] = len(zs)

    ret = list(splits.retrieval(cfg, _rng(cfg, "eval", "retrieval")))
    _write_images(pool, cfg, root / "retrieval", [(s, sc) for s, sc, _ in ret])
    _dump(root / "retrieval" / "captions.json", [{"filename": f"images/{s}.png", **e} for s, _, e in ret])
    counts["retrieval"] = len(ret)

    for subset in splits.SUBSETS:
        items = list(splits.sugarcrepe(subset, cfg, _rng(cfg, "eval", subset)))
        _write_images(pool, cfg, root / "sugarcrepe", [(s, sc) for s, sc, _ in items])
        _dump(
            root / "sugarcrepe" / f"{subset}.json",
            {str(i): {"filename": f"images/{s}.png", **e} for i, (s, _, e) in enumerate(items)},
        )
        counts[f"sugarcrepe/{subset}"] = len(items)

    wg = list(splits.winoground(cfg, _rng(cfg, "eval", "winoground")))
    jobs = [(f"{s}-{k}", sc) for s, a, b, _ in wg for k, sc in ((0, a), (1, b))]
    _write_images(pool, cfg, root / "winoground", jobs)
    _dump(
        root / "winoground" / "examples.json",
        [
            {"id": str(i), "image_0": f"images/{s}-0.png", "image_1": f"images/{s}-1.png", **e}
            for i, (s, _, _, e) in enumerate(wg)
        ],
    )
    counts["winoground"] = len(wg)
    return counts


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(out_dir) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def build_world(
    out_dir: str | os.PathLike,
    cfg: WorldConfig = WorldConfig(),
    workers: int | None = None,
    reuse: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the world to `out_dir` and return its manifest. The manifest is written last, so a
    folder with one is complete; with `reuse`, a complete world of the same config is kept."""
    out = Path(out_dir)
    old = read_manifest(out)
    if reuse and old and old.get("config") == cfg.as_dict() and old.get("version") == FORMAT_VERSION:
        return {**old, "cached": True}
    workers = workers or min(os.cpu_count() or 1, 8)
    start = time.perf_counter()
    pool = workers_context().Pool(workers) if workers > 1 else None
    try:
        jobs = ((cfg, i) for i in range(cfg.train_samples))
        stream = bar(
            _imap(pool, _train_job, jobs, chunksize=256),
            total=cfg.train_samples,
            desc="world train",
            unit="img",
            disable=not progress,
        )
        shards = write_shards(stream, out / "train", maxcount=cfg.shard_size)
        train_s = time.perf_counter() - start
        eval_counts = _write_eval(pool, cfg, out / "eval")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    manifest = {
        "version": FORMAT_VERSION,
        "config": cfg.as_dict(),
        "vocab": {
            "shapes": list(SHAPES),
            "colors": list(COLORS),
            "sizes": list(SIZES),
            "relations": list(RELATIONS),
        },
        "heldout": [list(p) for p in heldout_pairs()],
        "train": {"samples": cfg.train_samples, "shards": [str(p.relative_to(out)) for p in shards]},
        "eval": eval_counts,
        "timing": {
            "train_seconds": round(train_s, 2),
            "train_samples_per_s": round(cfg.train_samples / max(train_s, 1e-9), 1),
            "total_seconds": round(time.perf_counter() - start, 2),
            "workers": workers,
        },
    }
    _dump(out / MANIFEST, manifest)
    return {**manifest, "cached": False}


__all__ = ["AltTextNoise", "WorldConfig", "build_world", "read_manifest", "train_sample"]
