"""Projects, branches, production namespaces, promotion, and the daily retraining example end to end."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from argo.runner import ArgoRunner
from argo.schema import schema_errors
from conftest import EXAMPLES, FLOWS, REPO, check, shared_dir, two_step_flow
from flowship.compiler.targets.argo.lint import lint_argo
from flowship.deploy import DeploySettings, build_deployment
from flowship.deploy.naming import deployment_for
from flowship.errors import FlowshipError
from flowship.runtime.client import Flow, namespace

PROJECT_FLOW = check(two_step_flow(class_decorators='@project(name="recsys")', name="TrainFlow")).ir


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def flow(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


class TestNamespacing:
    @pytest.mark.parametrize("branch, production, name, run_namespace", [
        (None, True, "recsys.prod.TrainFlow", "production:recsys.prod"),
        ("exp-1", False, "recsys.test.exp-1.TrainFlow", "recsys.test.exp-1"),
        (None, False, "recsys.user.ada.TrainFlow", "recsys.user.ada"),
    ])
    def test_deployment_names_and_namespaces(self, branch, production, name, run_namespace):
        deployment = deployment_for(PROJECT_FLOW, branch=branch, production=production, user="ada")
        assert (deployment.name, deployment.namespace) == (name, run_namespace)

    def test_without_project_branches_are_refused(self):
        plain = check(two_step_flow()).ir
        assert deployment_for(plain, branch=None, production=False, user="ada").namespace == "production:F"
        with pytest.raises(FlowshipError, match="--branch and --production need @project"):
            deployment_for(plain, branch="x", production=False, user="ada")

    @pytest.mark.parametrize("target, option, expected", [
        ("argo", "--production", "name: recsys-prod-daily-retrain-flow"),
        ("argo", "--branch=exp", "name: recsys-test-exp-daily-retrain-flow"),
        ("airflow", "--production", "dag_id='recsys.prod.DailyRetrainFlow'"),
        ("airflow", "--branch=exp", "dag_id='recsys.test.exp.DailyRetrainFlow'"),
    ])
    def test_deployed_names_carry_project_and_branch(self, target, option, expected, tmp_path):
        source = tmp_path / "retrain.py"
        source.write_text((EXAMPLES / "daily_retrain.py").read_text().replace('@project(name="wine"', '@project(name="recsys"'))
        result = flow("compile", str(source), "--target", target, option, "--datastore", "s3://b/s", "--no-upload")
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout

    def test_production_runs_record_their_namespace(self, tmp_path):
        runner = _deploy_with_argo(FLOWS / "linear.py", tmp_path, "--production", project="demo")
        run = Flow("LinearFlow", datastore=str(tmp_path / "store"))["argo-ml.wf-prod"]
        assert (run.namespace, run.project, run.branch) == ("production:demo.prod", "demo", "prod")
        namespace("user:someone")
        assert Flow("LinearFlow", datastore=str(tmp_path / "store")).latest_run is None
        namespace("production:demo.prod")
        assert Flow("LinearFlow", datastore=str(tmp_path / "store")).latest_run.id == "argo-ml.wf-prod"
        assert runner.pods


def _deploy_with_argo(path: Path, tmp_path: Path, *options: str, project: str | None = None) -> ArgoRunner:
    """Compile with the CLI (project flows: a copy with @project), upload the package, run the manifest."""
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    source = folder / path.name
    text = path.read_text()
    if project:
        text = text.replace("\nclass ", f"\n@project(name={project!r})\nclass ", 1).replace(
            "from flowship import ", "from flowship import project, ")
    source.write_text(text)
    store = tmp_path / "store"
    compiled = flow("deploy", str(source), "--target", "argo", "--dry-run", *options, "--datastore", str(store))
    assert compiled.returncode == 0, compiled.stderr
    result = flow("compile", str(source), "--target", "argo", *options, "--datastore", str(store))
    template = next(yaml.safe_load_all(result.stdout))
    from flowship.flowfile import load_flow
    from flowship.providers.storage import LocalStorage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.package import build_package, upload_package

    upload_package(FlowDatastore(LocalStorage(str(store)), load_flow(str(source)).name), build_package(str(source)))
    runner = ArgoRunner(template, "wf-prod", env={"FLOWSHIP_CACHE": str(tmp_path / "cache")})
    runner.run()
    return runner


class TestPromotion:
    def test_promote_deploys_the_recorded_code_and_parameters(self, tmp_path):
        code = tmp_path / "research"
        code.mkdir()
        source = code / "linear.py"
        source.write_text((FLOWS / "linear.py").read_text())
        store = tmp_path / "store"
        assert flow("run", str(source), "--offset", "10", "--datastore", str(store)).returncode == 0
        research = Flow("LinearFlow", datastore=str(store)).latest_run
        assert research.data.x == 13
        source.write_text(source.read_text().replace("self.x += 1", "self.x += 100"))  # the file moves on

        promoted = flow("promote", f"LinearFlow/{research.id}", "--target", "argo", "--dry-run", "--datastore", str(store))
        assert promoted.returncode == 0, promoted.stderr
        assert f"code package {research.code_package[:12]}" in promoted.stdout
        compiled = flow("compile", str(source), "--target", "argo", "--datastore", str(store))  # today's file: differs
        assert research.code_package not in compiled.stdout

        from flowship.runtime.promote import promotable

        source_run = promotable(f"LinearFlow/{research.id}", [str(store)])
        build = build_deployment(source_run.flow_file, source_run.ir, DeploySettings("argo", str(store), "img"),
                                 package=source_run.package, promoted_from=source_run.pathspec)
        template = build.compiled.documents[0].body
        assert template["metadata"]["annotations"]["flowship.io/promoted-from"] == f"LinearFlow/{research.id}"
        assert template["spec"]["arguments"]["parameters"] == [{"name": "offset", "value": "10"}]
        ArgoRunner(template, "promoted", env={"FLOWSHIP_CACHE": str(tmp_path / "cache")}).run()
        production = Flow("LinearFlow", datastore=str(store))["argo-ml.promoted"]
        assert production.data.x == 13  # the recorded code ran, not the edited file
        assert (production.promoted_from, production.code_package) == (f"LinearFlow/{research.id}", research.code_package)
        listing = flow("runs", "LinearFlow", "--all-namespaces", "--datastore", str(store))
        assert f"code from LinearFlow/{research.id}" in listing.stdout

    def test_promote_from_a_research_store_to_a_deployment_store(self, tmp_path):
        research_dir = tmp_path / "research"
        research_dir.mkdir()
        (research_dir / "linear.py").write_text((FLOWS / "linear.py").read_text())
        assert flow("run", "linear.py", "--offset", "2", cwd=research_dir).returncode == 0  # into research/.flowship
        research = Flow("LinearFlow", datastore=str(research_dir / ".flowship")).latest_run
        production_store, dags = tmp_path / "production", tmp_path / "dags"
        dags.mkdir()
        args = ("promote", f"LinearFlow/{research.id}", "--target", "airflow", "--operator", "local",
                "--dags-folder", str(dags), "--datastore", str(production_store))
        elsewhere = flow(*args, cwd=tmp_path)  # no .flowship here or above: the run is not found
        assert elsewhere.returncode == 1
        assert elsewhere.stderr.strip() == (
            f"error: run LinearFlow/{research.id} not found in {tmp_path / '.flowship'}, {production_store}; "
            "give the store it ran in with --from-datastore")
        promoted = flow(*args, "--from-datastore", str(research_dir / ".flowship"), cwd=tmp_path)
        assert promoted.returncode == 0, promoted.stderr
        assert promoted.stdout.startswith(f"promoting LinearFlow/{research.id} from {research_dir / '.flowship'}: "
                                          f"code package {research.code_package[:12]}")
        assert (production_store / "LinearFlow" / "packages" / f"{research.code_package}.tar.gz").is_file()
        assert str(production_store) in (dags / "LinearFlow.py").read_text()
        same_folder = flow(*args, cwd=research_dir)  # from the research folder its store is found by itself
        assert same_folder.returncode == 0, same_folder.stderr

    def test_promoting_a_failed_run_is_refused(self, tmp_path):
        store = tmp_path / "store"
        assert flow("run", str(FLOWS / "behaviour" / "broken.py"), "--datastore", str(store)).returncode == 1
        run_id = Flow("BrokenFlow", datastore=str(store)).latest_run.id
        result = flow("promote", f"BrokenFlow/{run_id}", "--target", "argo", "--datastore", str(store))
        assert (result.returncode, result.stderr.strip()) == (
            1, f"error: run BrokenFlow/{run_id} did not finish (failed or still running): "
               "only a run that finished successfully can be promoted")

    def test_production_deploy_refuses_a_flow_that_fails_check(self, tmp_path):
        bad = tmp_path / "bad.py"
        bad.write_text("from flowship import FlowSpec, project, step\n@project(name='p')\nclass F(FlowSpec):\n"
                       "    @step\n    def start(self):\n        self.next(self.nowhere)\n")
        result = flow("deploy", str(bad), "--target", "argo", "--production", "--dry-run", "--datastore", "s3://b/s")
        assert result.returncode == 1 and "which is not a step" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="the retraining example needs scikit-learn")
class TestDailyRetrainExample:
    def test_a_local_run_leaves_production_alone(self, tmp_path):
        store = str(tmp_path / "store")
        result = flow("run", str(EXAMPLES / "daily_retrain.py"), "--datastore", store)
        assert result.returncode == 0, result.stderr
        run = Flow("DailyRetrainFlow", datastore=store).latest_run
        assert 0.8 < run.data.accuracy <= 1.0 and len(run.data.scores) == 4
        assert f"gates: not evaluated — this run is in {run.namespace}; @project gates decide for production runs" \
            in run.end_task.stdout
        assert Flow("DailyRetrainFlow", datastore=store).promotions() == []

    def test_argo_output_validates_and_schedules_daily(self):
        result = flow("compile", str(EXAMPLES / "daily_retrain.py"), "--target", "argo", "--production",
                      "--datastore", "s3://wine-models/flowship", "--no-upload")
        assert result.returncode == 0, result.stderr
        template, cron = list(yaml.safe_load_all(result.stdout))
        assert cron["kind"] == "CronWorkflow" and cron["spec"]["schedules"] == ["0 0 * * *"]
        assert lint_argo([template, cron]) == ([], [])
        crds = shared_dir("argo", "crds")
        assert schema_errors(crds, template) == [] and schema_errors(crds, cron) == []

    @pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs apache-airflow")
    def test_under_airflow_a_better_model_is_promoted_and_a_worse_one_held_back(self, tmp_path, monkeypatch):
        """Three production runs under a real Airflow (dags test): the first is promoted (nothing in production
        yet), a better one is promoted, a worse one is held back; flow promotions shows each with its values."""
        import airflow_harness as harness
        from flowship.flowfile import load_flow
        from flowship.providers.storage import LocalStorage
        from flowship.runtime.datastore import FlowDatastore
        from flowship.runtime.package import build_package, upload_package

        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        folder, store = tmp_path / "code", tmp_path / "store"
        folder.mkdir()
        shutil.copy(EXAMPLES / "daily_retrain.py", folder)
        ir = load_flow(str(folder / "daily_retrain.py"))
        package = build_package(str(folder / "daily_retrain.py"))
        upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
        settings = DeploySettings("airflow", str(store), "unused", production=True, target_options={"operator": "local"})
        text = build_deployment(str(folder / "daily_retrain.py"), ir, settings, package=package).compiled.text
        dag, errors, serialization = harness.load_dag(text, "retrain")
        assert (errors, serialization, dag.dag_id) == ({}, None, "wine.prod.DailyRetrainFlow")
        for strengths in ([0.003], [0.01, 0.1, 1.0, 10.0], [0.001]):  # accuracy about 0.91, then 1.0, then 0.63
            assert harness.run_dag_test(dag, {"strengths": strengths}) == "success"
        runs = sorted(Flow("DailyRetrainFlow", datastore=str(store)).runs(), key=lambda r: r.created_at)
        assert [(r.successful, r.namespace, r.project, r.branch) for r in runs] == [
            (True, "production:wine.prod", "wine", "prod")] * 3
        first, better, worse = runs
        history = Flow("DailyRetrainFlow", datastore=str(store)).promotions()
        assert [(p.kind, p.outcome, p.run) for p in history] == [
            ("in-flow", "promoted", first.pathspec), ("in-flow", "promoted", better.pathspec),
            ("in-flow", "held back", worse.pathspec)]
        assert history[0].gates[0]["error"] == (
            "no production run yet, so it passes: @project gates let the first production run through")
        assert history[1].gates[0]["values"] == {"accuracy": repr(better.data.accuracy),
                                                 "production.accuracy": repr(first.data.accuracy)}
        assert history[2].reason == (
            f"accuracy >= production.accuracy failed (accuracy = {worse.data.accuracy!r}, production.accuracy = "
            f"{better.data.accuracy!r}); accuracy > 0.8 failed (accuracy = {worse.data.accuracy!r}) against "
            f"production run {better.pathspec}")
        assert f"{worse.pathspec}: held back — " in worse.end_task.stdout
        assert history[2].code_package == {"sha": package.sha, "flow_path": "daily_retrain.py"}
        listing = flow("promotions", "DailyRetrainFlow", "--datastore", str(store))
        assert listing.returncode == 0, listing.stderr
        lines = listing.stdout.splitlines()
        heads = [line.split("  ", 1)[1] for line in lines if not line.startswith(" ")]
        assert heads == [f"in-flow   promoted   {first.pathspec}",
                         f"in-flow   promoted   {better.pathspec}  (current production run)",
                         f"in-flow   held back  {worse.pathspec}"]
        assert f"        production.accuracy = {better.data.accuracy!r}" in lines
