"""A miniature of DataComp's 40 tasks in their exact on-disk formats, for tests and the benchmark:
wds folders written with webdataset's TarWriter (webp/png/jpg images, `cls`, `npy` metadata with
the fields each WILDS / fairness scorer reads), and the three Hugging Face sets as CSV + images
(zip archives or files) with five captions per image and 5-12 WinoGAViL candidates."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from hqclip.eval.datacomp import tasks as T
from hqclip.eval.datacomp.layout import CLASSNAMES, TEMPLATES

COLORS = ("red", "green", "blue", "yellow", "purple", "orange")
RGB = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (230, 220, 40),
    "purple": (140, 40, 170),
    "orange": (240, 140, 20),
}
FORMATS = ("webp", "png", "jpg")
# metadata vector per kind (notes/datacomp-38.md §4): (number of columns, builder from (label, i))
META = {
    T.IWILDCAM: lambda y, i: [i % 3, i, 2013, 1 + i % 12, 1, 12, 0, 0, y],
    T.CAMELYON17: lambda y, i: [i % 2, i % 4, y],
    T.FMOW: lambda y, i: [i % 5, i % 3, y],
    T.DOLLAR_STREET: lambda y, i: [i % 4, 100 * (i % 4), i % 3],
    T.GEODE: lambda y, i: [i % 6, i % 9],
}
FACE_HEADS = {
    "age": ["0-2", "3-9", "10-19"],
    "gender": ["man", "woman"],
    "race": ["black", "white", "asian"],
    "toxic": [f"thing {k}" for k in range(20)],
}
FACE_TEMPLATES = {
    "age": "a photo of a person {c} years old",
    "gender": "a photo of a {c}",
    "race": "a photo of a {c} person",
    "toxic": "a photo of a {c}",
}


def image_bytes(color: str, fmt: str, rng: random.Random, size: int) -> bytes:
    """A patch of `color` with noise, encoded (webp lossless, as CLIP_benchmark's converter writes)."""
    base = np.array(RGB[color], np.int16)
    arr = np.clip(
        base + np.array([[[rng.randint(-40, 40)] * 3 for _ in range(size)] for _ in range(size)]), 0, 255
    )
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(
        buf, format="jpeg" if fmt == "jpg" else fmt, **({"lossless": True} if fmt == "webp" else {})
    )
    return buf.getvalue()


def _write_wds(folder: Path, samples: list[dict], shards: int) -> None:
    import webdataset as wds

    (folder / "test").mkdir(parents=True, exist_ok=True)
    (folder / "test" / "nshards.txt").write_text(f"{shards}\n")
    per = -(-len(samples) // shards)
    for s in range(shards):
        with wds.TarWriter(str(folder / "test" / f"{s}.tar")) as w:
            for sample in samples[s * per : (s + 1) * per]:
                w.write(sample)


def _thing(task: T.Task) -> str:
    """Each task its own class list, except the ImageNet variants that share one in DataComp."""
    same = task.key in ("imagenet1k", "imagenetv2", "imagenet_sketch")
    return "thing" if same else f"thing {T.TASKS.index(task)}"


def _wds_task(root: Path, task: T.Task, rng: random.Random, n: int, size: int, shards: int) -> None:
    folder = root / task.folder
    folder.mkdir(parents=True, exist_ok=True)
    n_cls = {T.CAMELYON17: 2, T.DOLLAR_STREET: 6}.get(task.kind, 5)
    if task.kind == T.FACE:
        (folder / CLASSNAMES).write_text("".join(f"{h}:{c}\n" for h, cs in FACE_HEADS.items() for c in cs))
        (folder / TEMPLATES).write_text("".join(f"{h}:{t}\n" for h, t in FACE_TEMPLATES.items()))
    else:
        (folder / CLASSNAMES).write_text("".join(f"{c} {_thing(task)}\n" for c in COLORS[:n_cls]))
        (folder / TEMPLATES).write_text("a photo of a {c} thing.\n\na {c} patch.\n")
    samples = []
    for i in range(n):
        y = i % n_cls
        fmt = FORMATS[i % len(FORMATS)]
        sample = {"__key__": f"s{i:07d}", fmt: image_bytes(COLORS[y % len(COLORS)], fmt, rng, size)}
        if task.kind == T.FACE:
            sample["npy"] = np.array([i % 3, i % 2, i % 3, int(i % 3 != 1)], np.int64)
        else:
            sample["cls"] = y
            if task.kind in META:
                sample["npy"] = np.array(META[task.kind](y, i), np.int64)
        samples.append(sample)
    _write_wds(folder, samples, shards)


# (CSV, zip archive or None for loose files) as the repositories name them: Flickr's files as
# public code that reads them shows; MSCOCO's images kept loose here to cover that path too
HF_FILES = {
    "retrieval/flickr_1k_test_image_text_retrieval": ("test_1k_flickr.csv", "images_flickr_1k_test.zip"),
    "retrieval/mscoco_2014_5k_test_image_text_retrieval": ("test_5k_mscoco_2014.csv", None),
    "misc/winogavil": ("winogavil_dataset.csv", "winogavil_images.zip"),
}


def _write_hf(folder: Path, task: T.Task, rows: list[dict], images: dict[str, bytes]) -> None:
    table, archive = HF_FILES[task.key]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    if archive:
        with zipfile.ZipFile(folder / archive, "w") as z:
            for name, data in images.items():
                z.writestr(f"{archive.removesuffix('.zip')}/{name}", data)
    else:
        (folder / "images").mkdir(exist_ok=True)
        for name, data in images.items():
            (folder / "images" / name).write_bytes(data)


def _retrieval_task(root: Path, task: T.Task, rng: random.Random, n: int, size: int) -> None:
    """`raw` as a JSON list (Flickr's CSV), or `caption` as a Python list (the other path)."""
    rows, images = [], {}
    as_json = HF_FILES[task.key][1] is not None
    for i in range(n):
        color = COLORS[i % len(COLORS)]
        name = f"{i:05d}.jpg"
        images[name] = image_bytes(color, "jpg", rng, size)
        caps = [f"a {color} patch number {i} view {k}" for k in range(5)]
        cell = {"raw": json.dumps(caps)} if as_json else {"caption": repr(caps)}
        rows.append({"filename": name, **cell, "split": "test"})
    _write_hf(root / task.folder, task, rows, images)


def _winogavil_task(root: Path, task: T.Task, rng: random.Random, n: int, size: int) -> None:
    rows, images = [], {}
    for i in range(n):
        k = (5, 6, 10, 12)[i % 4]
        cands = [f"c{i}_{j}" for j in range(k)]
        for j, c in enumerate(cands):
            images[f"{c}.jpg"] = image_bytes(COLORS[j % len(COLORS)], "jpg", rng, size)
        assoc = rng.sample(cands, 2 if k <= 6 else 3)
        rows.append(
            {
                "cue": ("apple", "Tree", "ocean", "Stone")[i % 4],
                "candidates": json.dumps(cands),
                "associations": json.dumps(assoc),
                "num_candidates": k,
            }
        )
    _write_hf(root / task.folder, task, rows, images)


def build(root: Path, n: int = 8, size: int = 16, shards: int = 2, seed: int = 0, keys=None) -> Path:
    """Every task (or those `keys` name) under `root`: `n` samples each (rows for the HF sets)."""
    rng = random.Random(seed)
    for task in T.TASKS:
        if keys and task.key not in keys:
            continue
        if task.kind == T.RETRIEVAL:
            _retrieval_task(root, task, rng, n, size)
        elif task.kind == T.WINOGAVIL:
            _winogavil_task(root, task, rng, n, size)
        else:
            _wds_task(root, task, rng, n, size, shards)
    return root
