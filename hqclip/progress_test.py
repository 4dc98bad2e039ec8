import io
import time

from hqclip import progress


def test_a_log_file_gets_plain_lines_not_redraws(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.05)
    b = progress.bar(total=100, desc="train", unit="step", file=out)
    for _ in range(100):
        b.update(1)
        time.sleep(0.002)
    b.close()
    lines = [line for line in out.getvalue().splitlines() if line]
    assert "\r" not in out.getvalue() and 2 <= len(lines) < 20
    assert lines[-1].startswith("train: 100/100 [")
