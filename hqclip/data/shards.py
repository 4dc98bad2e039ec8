"""WebDataset tar shards in the img2dataset / DataComp layout: write once, read robustly.

Layout per sample: `<key>.jpg|png|webp`, `<key>.txt` (alt-text), `<key>.json` (with `uid`).
Reading follows webdataset's tar iterators (same member filter, same key split) and also tells each
sample's byte range in the tar, so a reader can stop and later seek back to any sample boundary
(training's resume) instead of reading the shard from its start. A bad sample is skipped and named,
a truncated shard yields what precedes the cut. Positions are offsets in the tar file: shards are
plain (uncompressed) tars, as img2dataset and webdataset write them.
"""

from __future__ import annotations

import os
import re
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import braceexpand

from hqclip.data.atomic import commit, tmp_name
from hqclip.data.samples import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTS,
    BadSample,
    Sample,
    SkipLog,
    decode_image,
    decode_meta,
    decode_text,
    derived_uid,
)

SHARD_PATTERN = "shard-%06d.tar"


def write_shards(
    samples: Iterable[dict[str, Any]],
    out_dir: str | os.PathLike,
    maxcount: int = 10_000,
    pattern: str = SHARD_PATTERN,
) -> list[Path]:
    """Write webdataset samples (`{"__key__", "png": bytes, "txt": str, "json": dict}`) into
    numbered shards. Each shard appears under its final name only when complete; tar member
    times are fixed so the same samples give byte-identical shards."""
    import webdataset as wds  # here, not at import: webdataset imports torch (seconds)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def opener(fname: str):
        return open(tmp_name(Path(fname)), "wb")

    def post(fname: str):
        commit(tmp_name(Path(fname)), Path(fname))
        written.append(Path(fname))

    n = 0
    writer = wds.ShardWriter(
        str(out_dir / pattern), maxcount=maxcount, verbose=0, opener=opener, post=post, mtime=0.0
    )
    try:
        for sample in samples:
            writer.write(sample)
            n += 1
    finally:
        writer.close()
    if n == 0:  # ShardWriter opens a first shard eagerly; an empty run leaves no empty shard
        for p in written:
            p.unlink()
        written.clear()
    return written


def list_shards(path: str | os.PathLike) -> list[Path]:
    """A tar file, a folder of tars (sorted), a world folder (its `train/` shards), or a brace
    pattern like `shard-{000000..000009}.tar`."""
    p = Path(path)
    if (p / "world.json").exists():
        p = p / "train"
    if p.is_dir():
        return sorted(p.glob("*.tar"))
    if "{" in str(path):
        return [Path(s) for s in braceexpand.braceexpand(str(path))]
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such shard or folder")
    return [p]


def to_sample(raw: dict[str, Any], source: str, decode: bool, max_pixels: int) -> Sample:
    """A webdataset sample (`{"__key__", "__offset__", "__end__", ext: bytes}`) as a Sample; a
    folder of images with captions builds the same dict (`hqclip.data.folders`)."""
    key = raw["__key__"]
    ext = next((e for e in IMAGE_EXTS if e in raw), None)
    if ext is None:
        raise BadSample("missing_image")
    if "txt" not in raw:
        raise BadSample("missing_caption")
    text = decode_text(raw["txt"])
    meta = decode_meta(raw.get("json"))
    uid = str(meta.get("uid") or derived_uid(Path(source).name, key))
    image = decode_image(raw[ext], max_pixels) if decode else None
    return Sample(
        key=key,
        uid=uid,
        text=text,
        image_bytes=raw[ext],
        ext=ext,
        meta=meta,
        source=source,
        image=image,
        offset=raw["__offset__"],
        end=raw["__end__"],
    )


_SKIP_META = re.compile(r"__[^/]*__($|/)")  # webdataset's default `skip_meta`


def _members(f, start: int) -> Iterator[tuple[int, int, str, bytes]]:
    """(header offset, offset after the data, name, data) of each regular file member from
    `start` on; webdataset's filter (its metadata members are skipped)."""
    from webdataset.tariterators import meta_prefix, meta_suffix

    f.seek(start)
    stream = tarfile.open(fileobj=f, mode="r|")
    for info in stream:
        name = info.name
        if (
            not info.isreg()
            or name is None
            or _SKIP_META.match(name)
            or ("/" not in name and name.startswith(meta_prefix) and name.endswith(meta_suffix))
        ):
            continue
        data = stream.extractfile(info).read()
        yield start + info.offset, start + info.offset_data + -(-info.size // 512) * 512, name, data
        stream.members = []


def _grouped(members: Iterator[tuple[int, int, str, bytes]]) -> Iterator[dict[str, Any]]:
    """Consecutive members with one key form a sample (webdataset's `group_by_keys`), with the
    byte range `__offset__`..`__end__` it spans."""
    from webdataset.tariterators import base_plus_ext

    cur: dict[str, Any] | None = None
    for offset, end, name, data in members:
        prefix, suffix = base_plus_ext(name)
        if prefix is None:
            continue
        suffix = suffix.lower()
        if cur is None or prefix != cur["__key__"]:
            if cur is not None:
                yield cur
            cur = {"__key__": prefix, "__offset__": offset}
        if suffix in cur:
            raise BadSample("duplicate_member", f"{name} appears twice in a row")
        cur[suffix] = data
        cur["__end__"] = end
    if cur is not None:
        yield cur


def iter_raw(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """One shard's members grouped into webdataset samples (`{"__key__", ext: bytes}`), undecoded
    and unskipped: for a reader that must not lose a sample (eval's DataComp suite), a truncated
    or unreadable tar is the exception it raises (tarfile.ReadError, EOFError, OSError, BadSample)."""
    with open(path, "rb") as f:
        yield from _grouped(_members(f, 0))


def iter_shard(
    path: str | os.PathLike,
    skips: SkipLog | None = None,
    decode: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    start: int = 0,
) -> Iterator[Sample]:
    """Yield the good samples of one shard in order, from byte `start` (a sample's `offset` or
    `end`); skip and count the bad ones."""
    skips = skips if skips is not None else SkipLog()
    source = str(path)
    key = "<start>"
    try:
        with open(path, "rb") as f:
            for raw in _grouped(_members(f, start)):
                key = raw["__key__"]
                try:
                    yield to_sample(raw, source, decode, max_pixels)
                except BadSample as e:
                    skips.skip(source, key, e.reason, e.detail)
    except BadSample as e:
        skips.skip(source, f"after {key}", e.reason, e.detail)
    except tarfile.ReadError as e:
        reason = "unreadable_shard" if key == "<start>" and start == 0 else "truncated_shard"
        skips.skip(source, f"after {key}", reason, str(e))
    except (EOFError, OSError) as e:
        skips.skip(source, f"after {key}", "truncated_shard", str(e))


def iter_shards(
    paths: Iterable[str | os.PathLike], skips: SkipLog | None = None, **kw: Any
) -> Iterator[Sample]:
    skips = skips if skips is not None else SkipLog()
    for p in paths:
        yield from iter_shard(p, skips, **kw)
