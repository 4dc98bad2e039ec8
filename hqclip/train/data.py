"""Resolve `--train-data` (a world folder, shard folder, tar or brace pattern) to shards + sidecars."""

from __future__ import annotations

from pathlib import Path

from hqclip.data.shards import list_shards


def resolve(train_data: str, sidecars: str | None) -> tuple[list[Path], str | None]:
    root = Path(train_data)
    shards = list_shards(train_data)
    if sidecars is None and (root / "world.json").exists() and (root / "sidecars").is_dir():
        sidecars = str(root / "sidecars")
    if not shards:
        raise FileNotFoundError(f"{train_data}: no .tar shards found; pass a world folder, a shard "
                                "folder, a .tar or a brace pattern like shard-{000000..000009}.tar")
    return shards, sidecars
