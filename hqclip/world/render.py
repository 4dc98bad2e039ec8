"""Draw a scene graph with Pillow: flat shapes on a pale background, slightly jittered so no two
renderings of a layout are pixel-identical."""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageDraw

from hqclip.world.config import BACKGROUNDS, COLORS, GRID, SIZES
from hqclip.world.scene import Scene


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "triangle":
        angles = [-90, 30, 150]
    elif shape == "diamond":
        angles = [-90, 0, 90, 180]
    elif shape == "star":
        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.45
            a = math.radians(-90 + 36 * k)
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    else:
        raise ValueError(shape)
    return [(cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))) for a in angles]


def _draw(d: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill) -> None:
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        s = r * 0.85
        d.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill)
    elif shape == "cross":
        w = r * 0.35
        d.rectangle([cx - r, cy - w, cx + r, cy + w], fill=fill)
        d.rectangle([cx - w, cy - r, cx + w, cy + r], fill=fill)
    else:
        d.polygon(_polygon(shape, cx, cy, r), fill=fill)


def render(scene: Scene, size: int, rng: random.Random) -> Image.Image:
    img = Image.new("RGB", (size, size), rng.choice(BACKGROUNDS))
    d = ImageDraw.Draw(img)
    cell = size / GRID
    jitter = cell * 0.08
    for obj in scene["objects"]:
        r = cell * SIZES[obj["size"]] / 2
        cx = (obj["col"] + 0.5) * cell + rng.uniform(-jitter, jitter)
        cy = (obj["row"] + 0.5) * cell + rng.uniform(-jitter, jitter)
        shade = rng.randint(-20, 20)
        fill = tuple(max(0, min(255, v + shade)) for v in COLORS[obj["color"]])
        _draw(d, obj["shape"], cx, cy, r, fill)
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
