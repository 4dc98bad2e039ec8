"""Per-shard tallies (stored in each done marker) and the end-of-run stats JSON built from them."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any

_COUNTS = ("samples", "ok", "invalid", "salvaged", "tokens_in", "tokens_out")
_COUNTERS = ("reasons", "dropped", "attempts", "unreadable")


def shard_stats(rows: list[dict[str, Any]], skips: dict[str, int], wall_s: float) -> dict[str, Any]:
    """Counts for one shard's rows. `skips` are samples the reader could not read at all (no row).
    `salvaged`: ok rows that lost some pairs; `dropped`: those pairs, counted per reason."""
    reasons = collections.Counter(r["reason"] for r in rows if r["status"] != "ok")
    dropped = collections.Counter(d.rpartition("@")[0] for r in rows for d in r.get("dropped") or ())
    attempts = collections.Counter(str(r["attempts"]) for r in rows)
    return {
        "samples": len(rows),
        "ok": sum(r["status"] == "ok" for r in rows),
        "invalid": sum(r["status"] != "ok" for r in rows),
        "salvaged": sum(bool(r.get("dropped")) for r in rows),
        "reasons": dict(reasons),
        "dropped": dict(dropped),
        "attempts": dict(attempts),
        "unreadable": dict(skips),
        "tokens_in": sum(r.get("tokens_in") or 0 for r in rows),
        "tokens_out": sum(r.get("tokens_out") or 0 for r in rows),
        "model_s": round(sum(r.get("latency_s") or 0.0 for r in rows), 3),
        "wall_s": round(wall_s, 3),
    }


def merge(stats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {k: 0 for k in _COUNTS}
    counters = {k: collections.Counter() for k in _COUNTERS}
    model_s = 0.0
    for s in stats:
        for k in _COUNTS:
            total[k] += s.get(k, 0)
        for k, c in counters.items():
            c.update(s.get(k, {}))
        model_s += s.get("model_s", 0.0)
    total.update({k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for k, c in counters.items()})
    total["model_s"] = round(model_s, 3)
    total["valid_pct"] = round(100.0 * total["ok"] / total["samples"], 2) if total["samples"] else None
    return total


def run_stats(
    all_shards: list[dict[str, Any]], this_run: list[dict[str, Any]], wall_s: float, shards_skipped: int
) -> dict[str, Any]:
    """The stats JSON: totals over the whole output, and throughput of this invocation."""
    run = merge(this_run)
    return {
        "total": {**merge(all_shards), "shards": len(all_shards)},
        "this_run": {
            **run,
            "shards_done": len(this_run),
            "shards_skipped_done": shards_skipped,
            "wall_s": round(wall_s, 3),
            "samples_per_s": round(run["samples"] / wall_s, 1) if wall_s > 0 else None,
            "tokens_out_per_s": round(run["tokens_out"] / wall_s, 1) if wall_s > 0 else None,
        },
    }
