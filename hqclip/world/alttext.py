"""Noisy web-like alt-text for a scene: partial, sometimes wrong, padded with stock-site words,
sometimes empty — what DFN/DataComp captions look like for the world's images. A wrong colour or
shape still names a train composition (hqclip.world.scene.train_pairs), as all training text does."""

from __future__ import annotations

import random

from hqclip.world.config import AltTextNoise
from hqclip.world.scene import Scene, train_pairs

TRAIN = train_pairs()

FILLER = (
    "stock photo",
    "vector illustration",
    "free download",
    "clipart",
    "icon set",
    "abstract background",
    "geometric pattern",
    "wallpaper",
    "royalty free",
    "design element",
    "high resolution",
    "flat design",
    "logo template",
    "pattern",
)
GENERIC = ("shapes", "geometric shapes", "colorful shapes", "abstract art", "graphic")


def _mention(obj: dict, rng: random.Random, noise: AltTextNoise) -> str:
    color, shape = obj["color"], obj["shape"]
    if rng.random() < noise.wrong_attr_rate:
        if rng.random() < 0.5:
            color = rng.choice([c for c, s in TRAIN if s == shape and c != color])
        else:
            shape = rng.choice([s for c, s in TRAIN if c == color and s != shape])
    form = rng.random()
    if form < 0.2:
        return shape
    if form < 0.3:
        return f"{color} {shape}s"
    return f"{color} {shape}"


def alt_text(scene: Scene, rng: random.Random, noise: AltTextNoise) -> str:
    if rng.random() < noise.empty_rate:
        return ""
    phrases = [_mention(o, rng, noise) for o in scene["objects"] if rng.random() < noise.mention_rate]
    if not phrases:
        phrases = [rng.choice(GENERIC)]
    text = rng.choice((" and ", ", ", " ")).join(phrases)
    if rng.random() < noise.irrelevant_rate:
        filler = rng.choice(FILLER)
        roll = rng.random()
        if roll < 0.4:
            text = f"{text} {filler}"
        elif roll < 0.7:
            text = f"{filler} - {text}"
        else:
            text = f"{text} | {filler} | IMG_{rng.randint(1000, 9999)}.png"
    roll = rng.random()
    if roll < 0.3:
        text = text.title()
    elif roll < 0.4:
        text = text.upper()
    return text
