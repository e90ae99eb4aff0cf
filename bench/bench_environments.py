"""Benchmark @pypi environments: making one with numpy + pandas + scikit-learn, and what entering it adds to a task.

Run: python bench/bench_environments.py   (needs the network: it resolves and downloads from PyPI)

- cold: a new environment from nothing — uv's cache empty, so resolving, downloading every wheel and installing;
- cold, uv cache warm: a new spec whose wheels uv has seen — resolving and installing, no download;
- warm start: a foreach of 10 tasks in the environment, one at a time, against the same flow run in this
  interpreter; the difference per task is what entering the environment adds (a fresh interpreter, against a
  fork of a warm one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = '{"numpy": "", "pandas": "", "scikit-learn": ""}'
TASKS = 10

FLOW = f'''
from flowship import FlowSpec, pypi, step


class EnvBenchFlow(FlowSpec):
    @pypi(packages={PACKAGES})
    @step
    def start(self):
        self.items = list(range({TASKS}))
        self.next(self.work, foreach="items")

    @pypi(packages={PACKAGES})
    @step
    def work(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
'''


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(REPO), **env}, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - began


def make_environment(folder: Path, env: dict[str, str]) -> float:
    """Resolve and make the flow's environment (what flow run --environment=pypi does before any task)."""
    code = (
        "import sys, time; from flowship.flowfile import load_flow; from flowship.envs.prepare import local_records;"
        "from flowship.envs.install import ensure_environment; from flowship.envs.lock import host_platform;"
        f"ir = load_flow({str(folder / 'flow.py')!r}); began = time.perf_counter();"
        "record = local_records(ir, 'local')['start'];"
        "ensure_environment(record.locks[host_platform()], record.python, 'bench');"
        "print(time.perf_counter() - began)"
    )
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO), **env},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="flowship-bench-env-") as scratch:
        folder = Path(scratch)
        (folder / "flow.py").write_text(FLOW)
        uv_cache = {"UV_CACHE_DIR": str(folder / "uv-cache")}
        cold = make_environment(folder, {**uv_cache, "FLOWSHIP_ENVIRONMENTS": str(folder / "cold")})
        again = make_environment(folder, {**uv_cache, "FLOWSHIP_ENVIRONMENTS": str(folder / "second")})
        env = {**uv_cache, "FLOWSHIP_ENVIRONMENTS": str(folder / "cold")}
        run = [sys.executable, "-m", "flowship", "run", str(folder / "flow.py"), "--max-workers", "1", "--quiet",
               "--datastore", str(folder / "store")]
        timed([*run, "--environment=pypi"], env)  # once, so both runs below find everything made
        in_environment = min(timed([*run, "--environment=pypi"], env) for _ in range(3))
        here = min(timed([*run, "--environment=local"], env) for _ in range(3))
    print("numpy + pandas + scikit-learn, resolved with uv for this machine")
    print(f"  cold (empty uv cache: resolve, download, install)   {cold:6.1f} s")
    print(f"  cold (uv cache warm: resolve, install)              {again:6.1f} s")
    added = (in_environment - here) / (TASKS + 1)
    print(f"  warm start: {TASKS + 1} tasks in the environment {in_environment:.2f} s, in this interpreter "
          f"{here:.2f} s: {added:+.2f} s a task")


if __name__ == "__main__":
    main()
