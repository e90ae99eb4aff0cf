"""num_parallel= and @parallel: Metaflow's gang of nodes, run locally; the targets refuse it at compile.

Metaflow (flowspec.py ``next``, plugins/parallel_decorator.py): ``self.next(self.train, num_parallel=N)`` runs
N tasks of a ``@parallel`` step that all start together, node 0 being the control node; ``current.parallel``
has ``main_ip``, ``num_nodes``, ``node_index`` and ``control_task_id``; ``self.input`` is the node index; the
step after them is a join. Metaflow's local runtime runs the nodes on the same machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, check

from flowship.compiler.targets import get_target
from flowship.compiler.targets.shared import DeployOptions
from flowship.flowfile import load_flow
from flowship.runtime.client import Flow, namespace

FIXTURE = Path(__file__).parent / "flows" / "gang.py"

GANG = """
class F(FlowSpec):
    @step
    def start(self):
        self.next(self.train{next_args})

    {decorator}
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def problems(next_args: str, decorator: str) -> list[str]:
    return [f"{p.severity}: {p.message}" for p in check(GANG.format(next_args=next_args, decorator=decorator)).problems]


def test_a_gang_checks_clean():
    assert problems(", num_parallel=4", "@parallel") == []
    assert check(GANG.format(next_args=", num_parallel=4", decorator="@parallel")).ir.step("start").transition == "foreach"


@pytest.mark.parametrize("next_args, decorator, message", [
    (", num_parallel=4", "", "error: step 'train' is started with num_parallel= in step 'start' but is not @parallel"),
    ("", "@parallel", "error: @parallel on step 'train', which no self.next(..., num_parallel=N) starts"),
    (", num_parallel='4'", "@parallel", "error: num_parallel= in step 'start' is not a whole number"),
])
def test_metaflow_gang_rules(next_args, decorator, message):
    """Metaflow's lint: the step num_parallel= starts must be @parallel, and @parallel needs num_parallel=."""
    assert message in problems(next_args, decorator)


def test_every_node_runs_at_once_even_with_one_worker(tmp_path):
    """The nodes wait for each other at a rendezvous: they can only finish if all started together."""
    (tmp_path / "meet").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "flowship", "run", str(FIXTURE), "--nodes", "4", "--rendezvous", str(tmp_path / "meet"),
         "--max-workers", "1", "--datastore", str(tmp_path / "store"), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    join = Flow("GangFlow", datastore=str(tmp_path / "store")).latest_run["join"].task.data
    assert join.nodes_seen == [(i, 4, "127.0.0.1", "0.0", i) for i in range(4)]


@pytest.mark.parametrize("target, extra", [("argo", {"image": "x"}), ("airflow", {"image": "x"})])
def test_targets_refuse_a_gang_at_compile(target, extra):
    ir = load_flow(str(FIXTURE))
    options = DeployOptions(datastore="s3://b/p", package_sha=None, flow_path="gang.py", **extra)
    compiled = get_target(target).compile(ir, options)
    assert [p.message for p in compiled.problems if p.is_error] == [
        f"num_parallel= (a gang of @parallel nodes) on step 'start' cannot be honoured by {target}: a gang needs its "
        "nodes started together and able to reach each other (Metaflow uses a JobSet); "
        f"{'Argo' if target == 'argo' else 'Airflow'} runs a foreach's tasks independently"
    ]


def test_a_gang_larger_than_flowship_starts_together_fails_before_fanning_out(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flowship", "run", str(FIXTURE), "--nodes", "257", "--rendezvous", str(tmp_path),
         "--datastore", str(tmp_path / "store"), "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1
    start = Flow("GangFlow", datastore=str(tmp_path / "store")).latest_run["start"].task
    assert start.exception.endswith("num_parallel=257: a gang's nodes all start together, and flowship starts at "
                                    "most 256 — use fewer nodes\n")
