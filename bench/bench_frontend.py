"""Benchmark the compiler front end: parse + check + IR, in process and as a whole `flow check`.

Run: python bench/bench_frontend.py   (prints a table; the target is well under 0.5 s for 1,000 steps)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import large_flow_source  # noqa: E402

from flowship.compiler import check_flow_source  # noqa: E402

REPEATS = 5


def in_process(source: str, name: str) -> float:
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = check_flow_source(source, name)
        times.append(time.perf_counter() - began)
        assert result.ir is not None, result.problems
    return statistics.median(times)


def whole_process(path: Path) -> float:
    times = []
    for _ in range(3):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flowship", "check", str(path)], check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for steps in (200, 1000):
            source = large_flow_source(steps)
            path = Path(scratch, f"large{steps}.py")
            path.write_text(source)
            rows.append((f"generated, {steps} steps", in_process(source, path.name), whole_process(path)))
    for path in sorted((HERE.parent / "examples").glob("*.py")):
        rows.append((f"examples/{path.name}", in_process(path.read_text(), path.name), whole_process(path)))
    print(f"{'flow':<32} {'parse+check+IR (median of 5)':>30} {'flow check, whole process':>27}")
    for name, inner, outer in rows:
        print(f"{name:<32} {inner * 1000:>27.1f} ms {outer * 1000:>24.1f} ms")


if __name__ == "__main__":
    main()
