"""Fixtures: a tiny random-weight open_clip model (registered from a config written here) and a
small eval folder in the world's formats with rendered shape images."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

TINY = "hqclip-eval-tiny"
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
COLORS = {"red": (215, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 215)}
SHAPES = ("circle", "square")
SIZES = ("small", "large")


@pytest.fixture(scope="session")
def tiny_model_name(tmp_path_factory) -> str:
    import open_clip

    cfg = tmp_path_factory.mktemp("configs") / f"{TINY}.json"
    cfg.write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(cfg)
    return TINY


def draw(path: Path, objs: list[tuple[str, str, str]], size: int = 32) -> str:
    """objs: (size, color, shape) drawn left to right."""
    img = Image.new("RGB", (size, size), (245, 245, 245))
    d = ImageDraw.Draw(img)
    cell = size // max(1, len(objs))
    for i, (sz, color, shape) in enumerate(objs):
        r = cell * (0.45 if sz == "large" else 0.25)
        cx, cy = cell * i + cell / 2, size / 2
        box = (cx - r, cy - r, cx + r, cy + r)
        (d.ellipse if shape == "circle" else d.rectangle)(box, fill=COLORS[color])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path.name


def phrase(o: tuple[str, str, str]) -> str:
    return f"a {o[0]} {o[1]} {o[2]}"


def build_eval(root: Path, seed: int = 0) -> Path:
    """WORLD/world.json + WORLD/eval/... in the CONTRACT's formats, a few dozen 32px images."""
    rng = random.Random(seed)
    obj = lambda: (rng.choice(SIZES), rng.choice(list(COLORS)), rng.choice(SHAPES))  # noqa: E731
    ev = root / "eval"
    (root / "world.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "world.json").write_text(
        json.dumps({"vocab": {"shapes": list(SHAPES), "colors": list(COLORS), "sizes": list(SIZES)}})
    )
    classes = [f"{c} {s}" for c in COLORS for s in SHAPES]
    zs = ev / "zeroshot"
    samples = []
    for i in range(18):
        label = i % len(classes)
        c, s = classes[label].split()
        draw(zs / "images" / f"zs-{i:06d}.png", [("large", c, s)])
        samples.append({"filename": f"images/zs-{i:06d}.png", "label": label})
    (zs / "classes.json").write_text(
        json.dumps(
            {
                "classnames": classes,
                "templates": ["a photo of a {}.", "a drawing of a {}."],
                "heldout": ["red square", "blue circle"],
            }
        )
    )
    (zs / "samples.json").write_text(json.dumps(samples))
    ret = ev / "retrieval"
    caps = []
    for i in range(12):
        objs = [obj(), obj()]
        draw(ret / "images" / f"ret-{i:06d}.png", objs)
        caps.append(
            {
                "filename": f"images/ret-{i:06d}.png",
                "captions": [
                    f"{phrase(objs[0])} and {phrase(objs[1])}",
                    f"{phrase(objs[0])} left of {phrase(objs[1])}",
                ],
            }
        )
    (ret / "captions.json").write_text(json.dumps(caps))
    sc = ev / "sugarcrepe"
    for subset in ("replace_att", "swap_att"):
        entries = {}
        for i in range(6):
            a, b = obj(), obj()
            name = f"images/sc-{subset}-{i:06d}.png"
            draw(sc / name, [a, b])
            neg = (
                (a[0], b[1], a[2])
                if subset == "swap_att"
                else (a[0], a[1], "square" if a[2] == "circle" else "circle")
            )
            entries[str(i)] = {
                "filename": name,
                "caption": f"{phrase(a)} and {phrase(b)}",
                "negative_caption": f"{phrase(neg)} and {phrase(b)}",
            }
        (sc / f"{subset}.json").write_text(json.dumps(entries))
    wg = ev / "winoground"
    examples = []
    for i in range(4):
        a, b = ("large", "red", "circle"), ("small", "blue", "square")
        draw(wg / "images" / f"wg-{i:06d}-0.png", [a, b])
        draw(wg / "images" / f"wg-{i:06d}-1.png", [b, a])
        examples.append(
            {
                "id": str(i),
                "image_0": f"images/wg-{i:06d}-0.png",
                "image_1": f"images/wg-{i:06d}-1.png",
                "caption_0": f"{phrase(a)} left of {phrase(b)}",
                "caption_1": f"{phrase(b)} left of {phrase(a)}",
            }
        )
    (wg / "examples.json").write_text(json.dumps(examples))
    return root


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    return build_eval(tmp_path_factory.mktemp("world"))
