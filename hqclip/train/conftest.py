"""Fixtures for the train tests: a small coloured-shapes dataset in the world's shard layout with
sidecars (short texts, fast), and a small synthetic world with oracle sidecars (the real thing)."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from hqclip.data.shards import write_shards
from hqclip.data.sidecar import sidecar_path, write_sidecar
from hqclip.data.vocab import write_vocab

COLORS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220), "yellow": (230, 220, 30)}
SHAPES = ("circle", "square")
SIZES = ("small", "large")


def _image(color: str, shape: str, size: str, px: int) -> bytes:
    img = Image.new("RGB", (px, px), (255, 255, 255))
    r = px * (0.2 if size == "small" else 0.42)
    box = (px / 2 - r, px / 2 - r, px / 2 + r, px / 2 + r)
    draw = ImageDraw.Draw(img)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLORS[color])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _other(options, value, rng):
    return rng.choice([o for o in options if o != value])


def make_dataset(
    root: Path, n: int = 64, per_shard: int = 16, px: int = 32, seed: int = 0, annotate: float = 1.0
) -> tuple[Path, Path]:
    """Write `root/train/shard-*.tar` and `root/sidecars/shard-*.parquet`; returns both folders."""
    rng = random.Random(seed)
    samples, rows = [], []
    for i in range(n):
        c, s, z = rng.choice(list(COLORS)), rng.choice(SHAPES), rng.choice(SIZES)
        uid = hashlib.md5(f"{seed}/{i}".encode()).hexdigest()
        key = f"{i:06d}"
        samples.append(
            {
                "__key__": key,
                "png": _image(c, s, z, px),
                "txt": rng.choice([f"photo {i}", "", f"nice {s}"]),
                "json": {"uid": uid},
            }
        )
        rows.append(
            {
                "uid": uid,
                "key": key,
                "status": "ok" if rng.random() < annotate else "invalid",
                "desc": [f"a {c} {s}.", f"the {s} is {z}."],
                "neg_desc": [f"a {_other(COLORS, c, rng)} {s}.", f"the {s} is {_other(SIZES, z, rng)}."],
                "tags": [f"{c} {s}", f"{z} {s}"],
                "neg_tags": [f"{_other(COLORS, c, rng)} {s}", f"{_other(SIZES, z, rng)} {s}"],
            }
        )
    shards = write_shards(samples, root / "train", maxcount=per_shard)
    for j, shard in enumerate(shards):
        write_sidecar(sidecar_path(shard, root / "sidecars"), rows[j * per_shard : (j + 1) * per_shard])
    write_vocab(root / "sidecars", progress=False)
    return root / "train", root / "sidecars"


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    return make_dataset(tmp_path / "data")


def make_world(root: Path, n: int = 192, shard_size: int = 32) -> Path:
    """A world (hqclip.world) whose sidecars come from the oracle LVLM, never malformed."""
    from hqclip.refine.config import RefineConfig
    from hqclip.refine.runners import run_refine
    from hqclip.world.build import build_world
    from hqclip.world.config import WorldConfig

    build_world(root, WorldConfig(train_samples=n, shard_size=shard_size), workers=1, progress=False)
    run_refine(RefineConfig(backend="oracle"), root / "train", root / "sidecars", progress=False)
    return root
