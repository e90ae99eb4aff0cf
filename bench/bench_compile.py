"""Benchmark `flow compile`: time and output size for generated 200- and 1,000-step flows and the examples.

Run: python bench/bench_compile.py [argo] [airflow]   (target: 1,000 steps in under 2 s as a whole process)
With airflow (and Airflow installed), also the DagBag parse + serialization time of the 1,000-task DAG file.
"""

from __future__ import annotations

import importlib.util
import os
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


PARSE = """
import sys, time
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
began = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
parsed = time.perf_counter()
assert not bag.import_errors, bag.import_errors
for dag in bag.dags.values():
    DagSerialization.to_dict(dag)
print(f"{parsed - began:.3f} {time.perf_counter() - parsed:.3f} {len(next(iter(bag.dags.values())).task_dict)}")
"""


def dagbag_parse(path: Path, scratch: str) -> str:
    dag_file = Path(scratch, "dags", "large_dag.py")
    dag_file.parent.mkdir(exist_ok=True)
    dag_file.write_text(subprocess.run([sys.executable, "-m", "flowship", "compile", str(path), "--target", "airflow",
                                        "--datastore", "s3://bench/store"], capture_output=True, check=True, text=True).stdout)
    env = {**os.environ, "AIRFLOW_HOME": os.path.join(scratch, "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", PARSE, str(dag_file)], capture_output=True, text=True, env=env, check=True)
    parse, serialize, tasks = out.stdout.split()[-3:]
    return f"DagBag parse of the {tasks}-task DAG: {float(parse) * 1000:.0f} ms, serialization {float(serialize) * 1000:.0f} ms"


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
        if "airflow" in targets and importlib.util.find_spec("airflow"):
            print(dagbag_parse(flows[1][1], scratch))


if __name__ == "__main__":
    main()
