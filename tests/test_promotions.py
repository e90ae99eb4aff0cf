"""flow promote --gate / --rollback and flow promotions, through the real deploy path (an Airflow dags folder, the
Argo stand-in), and in-flow gates run by the Argo runner."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from flowship.providers.storage import LocalStorage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.promotions import promotion_history

SCORED = '''from flowship import FlowSpec, Parameter, project, step


@project(name="demo"{gates})
class ScoredFlow(FlowSpec):
    score = Parameter("score", default=0.9, help="the accuracy this run reports")

    @step
    def start(self):
        self.rows = 2000
        self.next(self.end)

    @step
    def end(self):
        self.accuracy = float(self.score)
'''


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def flow(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


def research_runs(tmp_path: Path, *scores: float, gates: str = "") -> tuple[Path, list[str]]:
    """Local runs of ScoredFlow reporting each score; (research store, run ids in order)."""
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "scored.py").write_text(SCORED.format(gates=gates))
    store = tmp_path / "research"
    for score in scores:
        result = flow("run", str(code / "scored.py"), "--score", str(score), "--datastore", str(store), "--quiet")
        assert result.returncode == 0, result.stderr
    runs = sorted(Flow("ScoredFlow", datastore=str(store)).runs(), key=lambda r: r.created_at)
    return store, [r.id for r in runs]


GATE = ("--gate", "accuracy >= production.accuracy - 0.01", "--gate", "rows > 1000")


@pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="the DagBag check needs apache-airflow")
def test_gates_history_and_rollback_on_an_airflow_dags_folder(tmp_path):
    research, (weak, worse, strong) = research_runs(tmp_path, 0.9, 0.8, 0.95)
    dags, store = tmp_path / "dags", tmp_path / "production"
    dags.mkdir()
    target = ("--target", "airflow", "--operator", "local", "--production", "--dags-folder", str(dags),
              "--datastore", str(store), "--from-datastore", str(research))
    dag = dags / "demo.prod.ScoredFlow.py"

    refused = flow("promote", f"ScoredFlow/{weak}", *target, *GATE)
    assert refused.returncode == 1 and not dag.exists()
    assert refused.stdout.splitlines()[1:] == [
        "production run: none yet",
        "gate accuracy >= production.accuracy - 0.01: FAILED (no production run yet, so it fails: "
        "--gate-if-no-production fail)",
        "gate rows > 1000: passed", "    rows = 2000",
        "held back: accuracy >= production.accuracy - 0.01 failed: no production run yet, so it fails: "
        "--gate-if-no-production fail; nothing deployed"]

    first = flow("promote", f"ScoredFlow/{weak}", *target, *GATE, "--gate-if-no-production", "pass")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == f"recorded: ScoredFlow/{weak} is the production run of production:demo.prod"
    first_dag = dag.read_text()

    held = flow("promote", f"ScoredFlow/{worse}", *target, *GATE)
    assert held.returncode == 1
    assert held.stdout.splitlines()[1:] == [
        f"production run: ScoredFlow/{weak}",
        "gate accuracy >= production.accuracy - 0.01: FAILED", "    accuracy = 0.8", "    production.accuracy = 0.9",
        "gate rows > 1000: passed", "    rows = 2000",
        "held back: accuracy >= production.accuracy - 0.01 failed (accuracy = 0.8, production.accuracy = 0.9) "
        f"against production run ScoredFlow/{weak}; nothing deployed"]
    assert dag.read_text() == first_dag  # nothing deployed

    better = flow("promote", f"ScoredFlow/{strong}", *target, *GATE)
    assert better.returncode == 0, better.stderr
    assert "    accuracy = 0.95" in better.stdout.splitlines() and f"replaced DAG file {dag}" in better.stdout
    assert "Param(0.95" in dag.read_text()

    rollback = ("--target", "airflow", "--operator", "local", "--production", "--dags-folder", str(dags),
                "--datastore", str(store))
    back = flow("promote", "ScoredFlow", "--rollback", *rollback)
    assert back.returncode == 0, back.stderr
    assert back.stdout.splitlines()[0].startswith(f"rolling back 1: ScoredFlow/{weak} as promoted ")
    assert dag.read_text() == first_dag  # the earlier DAG, byte for byte: its package, parameters, promoted-from
    again = flow("promote", "ScoredFlow", "--rollback", *rollback)
    assert again.returncode == 1 and again.stderr.strip() == (
        f"error: cannot roll back 1 in production:demo.prod on airflow: its history in {store} has 1 promotion "
        "deployed (flow promotions ScoredFlow lists them)")

    history = promotion_history(FlowDatastore(LocalStorage(str(store)), "ScoredFlow"))
    assert [(p.kind, p.outcome, p.run.split("/")[1]) for p in history] == [
        ("promote", "held back", weak), ("promote", "promoted", weak), ("promote", "held back", worse),
        ("promote", "promoted", strong), ("rollback", "promoted", weak)]
    assert history[-1].rolled_back_to == history[1].id and history[1].parameters == {"score": "0.9"}
    assert history[1].environment["python"] and history[1].target == "airflow"
    listing = flow("promotions", "ScoredFlow", "--datastore", str(store), "--project", "demo")
    heads = [line.split("  ", 1)[1] for line in listing.stdout.splitlines() if not line.startswith(" ")]
    assert heads == [f"promote   held back  ScoredFlow/{weak}", f"promote   promoted   ScoredFlow/{weak}",
                     f"promote   held back  ScoredFlow/{worse}", f"promote   promoted   ScoredFlow/{strong}",
                     f"rollback  promoted   ScoredFlow/{weak}  (current production run)"]
    assert flow("promotions", "ScoredFlow", "--datastore", str(store), "--project", "other").stdout.strip() == (
        f"no promotions of ScoredFlow in {store} in project other")


def test_promote_option_errors(tmp_path):
    research, (run_id,) = research_runs(tmp_path, 0.9)
    args = ("--target", "argo", "--image", "img", "--datastore", str(tmp_path / "p"), "--from-datastore", str(research))
    bad = flow("promote", f"ScoredFlow/{run_id}", *args, "--gate", "open('x')")
    assert (bad.returncode, bad.stdout, bad.stderr.strip()) == (
        1, "", "error: gate \"open('x')\": only abs, min, max, len can be called at column 1: open('x')")
    dry = flow("promote", f"ScoredFlow/{run_id}", *args, "--gate", "accuracy > 0.95", "--dry-run")
    assert dry.returncode == 1 and dry.stdout.splitlines()[-1] == (
        "dry run: would be held back — accuracy > 0.95 failed (accuracy = 0.9)")
    assert not (tmp_path / "p" / "ScoredFlow" / "promotions").exists()  # nothing was recorded
    both = flow("promote", f"ScoredFlow/{run_id}", "--rollback", *args)
    assert both.returncode == 1 and both.stderr.strip() == (
        "error: flow promote --rollback takes the flow's name (e.g. ScoredFlow) and no --gate: it deploys again "
        "what was promoted before")
    zero = flow("promote", "ScoredFlow", "--rollback", "0", *args)
    assert zero.stderr.strip() == "error: --rollback 0: give how many promotions to go back, 1 or more"


@pytest.fixture
def standin():
    pytest.importorskip("kubernetes", reason="flow promote --target argo needs the kubernetes client")
    from k8s_standin import StandIn

    server = StandIn()
    yield server
    server.close()


def test_argo_a_failed_gate_leaves_the_cluster_unchanged_and_rollback_restores_the_template(standin, tmp_path):
    research, (good, bad, better) = research_runs(tmp_path, 0.9, 0.7, 0.93)
    env = {"KUBECONFIG": str(standin.kubeconfig(tmp_path))}
    args = ("--target", "argo", "--image", "img:1", "--production", "--datastore", str(tmp_path / "production"))
    key = ("ml", "workflowtemplates", "demo-prod-scored-flow")
    assert flow("promote", f"ScoredFlow/{good}", *args, "--from-datastore", str(research), *GATE,
                "--gate-if-no-production", "pass", env=env).returncode == 0
    deployed = yaml.safe_dump(standin.objects[key]["spec"])
    held = flow("promote", f"ScoredFlow/{bad}", *args, "--from-datastore", str(research), *GATE, env=env)
    assert held.returncode == 1 and "    accuracy = 0.7" in held.stdout.splitlines()
    assert yaml.safe_dump(standin.objects[key]["spec"]) == deployed and len(standin.objects) == 1
    assert flow("promote", f"ScoredFlow/{better}", *args, "--from-datastore", str(research), *GATE,
                env=env).returncode == 0
    assert yaml.safe_dump(standin.objects[key]["spec"]) != deployed
    back = flow("promote", "ScoredFlow", "--rollback", *args, env=env)
    assert back.returncode == 0, back.stderr
    assert "replaced WorkflowTemplate ml/demo-prod-scored-flow" in back.stdout
    assert yaml.safe_dump(standin.objects[key]["spec"]) == deployed
    annotations = standin.objects[key]["metadata"]["annotations"]
    assert annotations["flowship.io/promoted-from"] == f"ScoredFlow/{good}"


def test_in_flow_gates_on_argo_record_promoted_and_held_back(tmp_path):
    """Production runs of a flow with @project(gates=...) run by the Argo runner: each end task decides."""
    from argo.runner import ArgoRunner
    from flowship.flowfile import load_flow
    from flowship.runtime.package import build_package, upload_package

    code = tmp_path / "code"
    code.mkdir()
    source = code / "scored.py"
    source.write_text(SCORED.format(gates=', gates=["accuracy > production.accuracy"]'))
    store = tmp_path / "store"
    compiled = flow("compile", str(source), "--target", "argo", "--production", "--image", "img",
                    "--datastore", str(store))
    assert compiled.returncode == 0, compiled.stderr
    template = next(yaml.safe_load_all(compiled.stdout))
    upload_package(FlowDatastore(LocalStorage(str(store)), "ScoredFlow"), build_package(str(source)))
    for name, score in (("first", "0.8"), ("better", "0.9"), ("worse", "0.85")):
        ArgoRunner(template, name, env={"FLOWSHIP_CACHE": str(tmp_path / "cache")}, arguments={"score": score}).run()
    history = Flow("ScoredFlow", datastore=str(store)).promotions()
    assert [(p.kind, p.outcome, p.run, p.namespace) for p in history] == [
        ("in-flow", "promoted", "ScoredFlow/argo-ml.first", "production:demo.prod"),
        ("in-flow", "promoted", "ScoredFlow/argo-ml.better", "production:demo.prod"),
        ("in-flow", "held back", "ScoredFlow/argo-ml.worse", "production:demo.prod")]
    assert history[2].reason == ("accuracy > production.accuracy failed (accuracy = 0.85, production.accuracy = 0.9) "
                                 "against production run ScoredFlow/argo-ml.better")
    worse = Flow("ScoredFlow", datastore=str(store))["argo-ml.worse"]
    assert worse.end_task.stdout.splitlines() == [
        "production run: ScoredFlow/argo-ml.better", "gate accuracy > production.accuracy: FAILED",
        "    accuracy = 0.85", "    production.accuracy = 0.9", f"ScoredFlow/argo-ml.worse: held back — {history[2].reason}"]
