"""Exactly-once output: the run fingerprint, per-unit done markers, and the resume plan.

A unit (a shard for refine) is done when its output (written atomically) and then its done marker
exist, and the marker's fingerprint equals this run's and its input stamp (size, mtime) the
input's. Anything else — no output, an output without a marker (killed between the two writes), an
input rewritten since, leftover temp files — is redone from scratch, and the atomic rename makes a
redo replace, never append. What the fingerprint covers is the job's: the parts that decide its
output (refine's are in `hqclip.refine.fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hqclip.data.atomic import write_text
from hqclip.errors import ConfigMismatch

log = logging.getLogger("hqclip.units")


def fingerprint(parts: Any) -> str:
    """A short, stable hash of JSON-able `parts`."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def done_path(sidecar: Path) -> Path:
    return sidecar.with_name(sidecar.name + ".done")


def running_path(sidecar: Path) -> Path:
    """Written when a shard starts (pid, host), removed when it is done: shows what is in flight."""
    return sidecar.with_name(sidecar.name + ".running")


def mark_running(sidecar: Path) -> None:
    write_text(
        running_path(sidecar),
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}),
    )


def input_stamp(unit: Path) -> dict[str, int] | None:
    """What a rerun compares to notice that an input shard was rewritten (as make and rsync do);
    None for a unit that is no file (e.g. a hash bucket of an import)."""
    if not unit.exists():
        return None
    st = unit.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def mark_done(sidecar: Path, fp: str, stats: dict[str, Any], stamp: Any) -> None:
    """`stamp`: the input's `input_stamp` (or the `stamp` that `plan` is given), taken before it
    was read."""
    write_text(
        done_path(sidecar), json.dumps({"fingerprint": fp, "stats": stats, "input": stamp}, sort_keys=True)
    )
    running_path(sidecar).unlink(missing_ok=True)


def read_done(sidecar: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads(done_path(sidecar).read_text())
    except (OSError, ValueError):
        return None
    return marker if sidecar.exists() else None


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def clean_leftovers(folder: Path) -> None:
    """Temp files and in-flight markers of a killed run (their units are redone)."""
    for leftover in [*folder.glob(".*.tmp-*"), *folder.glob("*.running")]:
        leftover.unlink(missing_ok=True)


def prepare(
    out_dir: Path, parts: dict[str, Any], config: dict[str, Any], overwrite: bool, manifest_name: str
) -> str:
    """Check the folder's manifest against this configuration (`parts`: what decides the output),
    clean leftovers of killed runs, write the manifest; returns the fingerprint."""
    fp = fingerprint(parts)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / manifest_name
    if manifest.exists() and not overwrite:
        old = json.loads(manifest.read_text())
        if old.get("fingerprint") != fp:
            raise ConfigMismatch(
                f"{out_dir} was made under a different configuration (changed: "
                f"{', '.join(_diff(old.get('parts', {}), parts))}); rerun with --overwrite to redo "
                f"its shards under the new one, or choose another --output"
            )
    clean_leftovers(out_dir)
    write_text(
        manifest,
        json.dumps(
            {"fingerprint": fp, "parts": parts, "config": config}, indent=1, sort_keys=True, default=str
        ),
    )
    return fp


def plan(
    units: list[Path],
    output: Callable[[Path], Path],
    fp: str,
    overwrite: bool = False,
    stamp: Callable[[Path], Any] = input_stamp,
) -> tuple[list[Path], dict[Path, dict]]:
    """(units to run, {unit: stats} of units already done under this fingerprint); `output(unit)`
    is the file whose done marker says so. A unit done under another fingerprint is redone only
    with `overwrite` (its rows would be stale); a unit whose input changed since it was done is
    redone (markers older than the stamp are trusted). `stamp(unit)`: what `mark_done` recorded
    of the unit's inputs (a unit read with a second file, as `hqclip score` reads a shard with its
    sidecar, stamps both)."""
    todo, done, stale = [], {}, []
    for unit in units:
        marker = read_done(output(unit))
        if marker is not None and marker.get("fingerprint") == fp:
            now = stamp(unit)
            if marker.get("input", now) == now:
                done[unit] = marker.get("stats", {})
            else:
                log.warning("%s changed since it was done; doing it again", unit)
                todo.append(unit)
        else:
            todo.append(unit)
            if marker is not None:
                stale.append(unit)
    if stale and not overwrite:
        raise ConfigMismatch(
            f"{output(stale[0])} (and {len(stale) - 1} more) were made under a "
            f"different configuration; rerun with --overwrite to redo them, or "
            f"choose another --output"
        )
    return todo, done
