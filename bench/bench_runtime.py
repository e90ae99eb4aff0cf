"""Benchmark local runs on the shared yardstick flows, optionally next to Metaflow.

Run: python bench/bench_runtime.py [--flows DIR] [--metaflow-python PYTHON] [--repeat N]

Prints, per flow, the wall time of `flow run --max-workers 2` and the time per
task; for artifact_big, the 256 MiB artifact's save and load time next to a
raw numpy.save / numpy.load of the same array. With --metaflow-python (an
interpreter that has metaflow installed), the same flows run under Metaflow
with only the import line changed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOWS = REPO.parent / "shared" / "bench" / "flows"
TASKS = {"linear3": 3, "linear20": 20, "branch": 5, "foreach100": 103, "nested_foreach": 63}


def timed(command: list[str], cwd: str, env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def flowship_run(flow: Path, scratch: str) -> float:
    store = os.path.join(scratch, "store")
    return timed([sys.executable, "-m", "flowship", "run", str(flow), "--max-workers", "2", "--datastore", store],
                 scratch, dict(os.environ))


def metaflow_run(flow: Path, scratch: str, python: str) -> float:
    copy = Path(scratch, flow.name)
    copy.write_text(flow.read_text().replace("from flowship import", "from metaflow import"))
    env = {**os.environ, "USERNAME": "bench", "METAFLOW_DEFAULT_DATASTORE": "local", "METAFLOW_DEFAULT_METADATA": "local"}
    return timed([python, str(copy), "--no-pylint", "run", "--max-workers", "2"], scratch, env)


def artifact_figures(flows: Path) -> tuple[float, float, float, float]:
    """(our save, our load, numpy.save, numpy.load) for the 256 MiB array, in seconds."""
    import numpy as np

    from flowship.runtime.client import Flow, namespace

    with tempfile.TemporaryDirectory() as scratch:
        flowship_run(flows / "artifact_big.py", scratch)
        namespace(None)
        run = Flow("ArtifactBigFlow", datastore=os.path.join(scratch, "store")).latest_run
        start = run["start"].task
        save = start.metadata["finished_at"] - start.data.t_start_body[1]
        t0, t1, _ = run["load"].task.data.t_load
        array = np.random.default_rng(0).random(32 * 1024 * 1024)
        path = os.path.join(scratch, "raw.npy")
        began = time.perf_counter()
        np.save(path, array)
        saved = time.perf_counter()
        np.load(path)
        loaded = time.perf_counter()
    return save, t1 - t0, saved - began, loaded - saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", type=Path, default=FLOWS)
    parser.add_argument("--metaflow-python", help="a Python interpreter with metaflow installed")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.flows.is_dir():
        raise SystemExit(f"{args.flows} not found; pass --flows DIR with the yardstick flows")

    header = f"{'flow':<16}{'tasks':>6}{'flowship':>11}{'per task':>10}"
    print(header + (f"{'metaflow':>11}{'ratio':>8}" if args.metaflow_python else ""))
    for name, tasks in TASKS.items():
        flow = args.flows / f"{name}.py"
        ours, theirs = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as scratch:
                ours.append(flowship_run(flow, scratch))
            if args.metaflow_python:
                with tempfile.TemporaryDirectory() as scratch:
                    theirs.append(metaflow_run(flow, scratch, args.metaflow_python))
        mine = statistics.median(ours)
        line = f"{name:<16}{tasks:>6}{mine:>10.2f}s{mine / tasks * 1000:>8.0f}ms"
        if theirs:
            other = statistics.median(theirs)
            line += f"{other:>10.2f}s{mine / other:>8.2f}"
        print(line)

    save, load, raw_save, raw_load = artifact_figures(args.flows)
    print()
    print("256 MiB artifact   save      load      total")
    print(f"flowship         {save:>6.2f}s  {load:>6.2f}s  {save + load:>6.2f}s")
    print(f"numpy save/load  {raw_save:>6.2f}s  {raw_load:>6.2f}s  {raw_save + raw_load:>6.2f}s")
    print(f"ratio                               {(save + load) / (raw_save + raw_load):>6.2f}")


if __name__ == "__main__":
    main()
