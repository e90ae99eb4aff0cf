"""Benchmark the flow command's start-up: what a user waits for before anything happens.

Run: python bench/bench_cli.py   (prints a table; `flow --help` should stay under 0.2 s)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REPEATS = 9
COMMANDS = [
    ("flow --help", ["--help"]),
    ("flow --version", ["--version"]),
    ("flow run --help", ["run", "--help"]),
    ("flow step --help", ["step", "--help"]),
    ("flow check examples/hello.py", ["check", str(EXAMPLES / "hello.py")]),
    ("flow run examples/hello.py --help", ["run", str(EXAMPLES / "hello.py"), "--help"]),
]


def whole_process(argv: list[str]) -> tuple[float, float]:
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flowship", *argv], check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times), min(times)


def main() -> None:
    baseline = whole_process_python()
    print(f"{'command':<36} {'median':>9} {'best':>9}   (of {REPEATS}; bare `python -c pass`: {baseline * 1000:.0f} ms)")
    for name, argv in COMMANDS:
        median, best = whole_process(argv)
        print(f"{name:<36} {median * 1000:>6.0f} ms {best * 1000:>6.0f} ms")


def whole_process_python() -> float:
    times = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


if __name__ == "__main__":
    main()
