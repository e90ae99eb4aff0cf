"""Benchmark `flow compile --target argo`: time and output size for generated 200- and 1,000-step flows and the examples.

Run: python bench/bench_compile.py   (target: 1,000 steps in under 2 s as a whole process)
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


def compile_once(path: Path, target: str) -> tuple[float, int]:
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "flowship", "compile", str(path), "--target", target,
                             "--datastore", "s3://bench/store"], capture_output=True, check=True)
    return time.perf_counter() - began, len(result.stdout)


def main() -> None:
    targets = sys.argv[1:] or ["argo"]
    with tempfile.TemporaryDirectory() as scratch:
        flows = []
        for steps in (200, 1000):
            folder = Path(scratch, f"large{steps}")
            folder.mkdir()
            path = folder / "flow.py"
            path.write_text(large_flow_source(steps))
            flows.append((f"generated, {steps} steps", path))
        flows += [(f"examples/{p.name}", p) for p in sorted((HERE.parent / "examples").glob("*.py"))]
        print(f"{'flow':<28}{'target':<9}{'compile, whole process (median of 3)':>38}{'output':>12}")
        for target in targets:
            for name, path in flows:
                runs = [compile_once(path, target) for _ in range(3)]
                seconds = statistics.median(r[0] for r in runs)
                print(f"{name:<28}{target:<9}{seconds * 1000:>35.0f} ms{runs[0][1] / 1024:>9.1f} KiB")


if __name__ == "__main__":
    main()
