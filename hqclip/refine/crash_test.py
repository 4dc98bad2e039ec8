"""Exactly-once under crashes: `kill -9` of a whole run then a rerun, and a Ray worker killed in
the middle of a shard (Ray retries the task). Both must give every sample exactly once."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from hqclip.data.sidecar import read_sidecar

pytestmark = pytest.mark.slow

KEEP = ("uid", "key", "desc", "neg_desc", "tags", "neg_tags", "status", "reason", "attempts")


def refine_cmd(world, out, *extra):
    return [
        sys.executable,
        "-m",
        "hqclip.cli.main",
        "refine",
        "--input",
        str(world),
        "--output",
        str(out),
        "--no-progress",
        "--malformed",
        "0.2",
        *extra,
    ]


def rows_of(out):
    rows = [r for p in sorted(out.glob("*.parquet")) for r in read_sidecar(p)]
    return [{k: r[k] for k in KEEP} for r in rows]


def wait_for(predicate, timeout, proc):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def test_kill_9_then_rerun_gives_the_uninterrupted_rows(world, tmp_path, kill_9):
    subprocess.run(refine_cmd(world, tmp_path / "ref"), check=True, capture_output=True)
    out = tmp_path / "out"
    mid_shard = kill_9(
        refine_cmd(world, out, "--delay", "0.01"),
        lambda: list(out.glob("*.done")) and list(out.glob("*.running")),
        60,
    )
    assert mid_shard, "the run ended before a shard was in flight"
    assert 1 <= len(list(out.glob("*.done"))) < 4
    subprocess.run(refine_cmd(world, out), check=True, capture_output=True)
    rows = rows_of(out)
    assert rows == rows_of(tmp_path / "ref")
    assert len({r["uid"] for r in rows}) == len(rows) == 200


def test_ray_worker_killed_mid_shard_is_retried_exactly_once(world, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        refine_cmd(world, out, "--runner", "ray", "--delay", "0.05", "--ray-retries", "3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killed = None
    try:
        assert wait_for(lambda: list(out.glob("*.running")), 120, proc), "no shard started"
        marker = sorted(out.glob("*.running"))[0]
        info = json.loads(marker.read_text())
        assert info["pid"] != proc.pid  # a Ray worker process, not the driver
        os.kill(info["pid"], signal.SIGKILL)
        killed = marker.name.removesuffix(".running")
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, output[-3000:]
    assert len(list(out.glob("*.done"))) == 4 and not list(out.glob("*.running"))
    rows = rows_of(out)
    assert len(rows) == 200 and len({r["uid"] for r in rows}) == 200
    assert len(read_sidecar(out / killed)) == 50
    assert rows == rows_of_reference(world, tmp_path)


def rows_of_reference(world, tmp_path):
    subprocess.run(refine_cmd(world, tmp_path / "ref"), check=True, capture_output=True)
    return rows_of(tmp_path / "ref")
