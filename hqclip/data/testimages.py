"""Tiny in-memory images for tests."""

import io

from PIL import Image


def png(color=(200, 30, 30), size=(16, 16), noise: bool = False) -> bytes:
    img = Image.effect_noise(size, 64).convert("RGB") if noise else Image.new("RGB", size, color)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
