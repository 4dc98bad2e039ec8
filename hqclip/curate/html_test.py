"""The report's sample page in a real headless browser (Debian's chromium): it renders every sample
with its image, and its screenshot is a picture of the page, not a blank one."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
from PIL import Image

from hqclip.conftest import require
from hqclip.curate.quality_report import summarise, write_report

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium(*args: str, profile) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    require(exe is not None, "chromium is not installed")
    profile.mkdir()
    return subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_the_sample_page_renders_every_sample_with_its_image(scored, tmp_path):
    world, sidecars, scores = scored
    res = summarise(sidecars, scores, samples=8, progress=False)
    page = write_report(res, tmp_path / "report", world)["html"]
    uids = [s["row"]["uid"] for s in res["samples"]]
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "p1").stdout
    cards = {c.split('"', 1)[0]: c for c in dom.split('data-uid="')[1:]}
    assert list(cards) == uids and len(uids) == 8
    for card in cards.values():  # each sample with its image from the shard and its texts
        assert 'src="data:image/png;base64,' in card and "alt-text" in card
    assert dom.count("<th>negative description</th>") >= 1

    shot = tmp_path / "shot.png"
    chromium(
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        "--hide-scrollbars",
        page.as_uri(),
        profile=tmp_path / "p2",
    )
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (1600, 1280, 3)
    background = (img == img[0, 0]).all(axis=2).mean()
    assert background < 0.9  # text, tables and pictures cover the page
    colours = {tuple(c) for c in img.reshape(-1, 3)[::7]}
    assert len(colours) > 200  # the rendered shapes and anti-aliased text, not a blank or flat page
