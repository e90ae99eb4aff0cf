"""Argo target: CRD schema (strict), lint rules, execution by the faithful runner, limits, names, golden files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from argo.runner import ArgoRunError, ArgoRunner
from argo.schema import schema_errors
from conftest import EXAMPLES, FLOWS, REPO, check, shared_dir, two_step_flow
from test_runtime import expected_artifacts

from flowship.compiler.targets import get_target
from flowship.compiler.targets.argo.lint import lint_argo
from flowship.compiler.targets.argo.manifest import MAX_DAG_TASKS, compile_to_argo, render_yaml
from flowship.compiler.targets.shared import DeployOptions
from flowship.flowfile import load_flow
from flowship.providers.storage import LocalStorage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package import build_package, upload_package

sys.path.insert(0, str(REPO / "bench"))
from generate import large_flow_source

UNDEPLOYABLE = {"include.py"}  # IncludeFile: see TestInvalid
ALL_FLOWS = [p for p in sorted(EXAMPLES.glob("*.py")) + sorted(FLOWS.glob("*.py")) + sorted((FLOWS / "behaviour").glob("*.py"))
             if p.name not in UNDEPLOYABLE]
OPTIONS = DeployOptions(datastore="s3://flowship-examples/store", package_sha="0" * 64, flow_path="flow.py", image="flowship:0.1.0")


def manifests(path: Path, options: DeployOptions = OPTIONS) -> list[dict]:
    return compile_to_argo(load_flow(str(path)), options)


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


class TestValid:
    @pytest.mark.parametrize("path", ALL_FLOWS, ids=lambda p: f"{p.parent.name}/{p.stem}")
    def test_schema_and_lint(self, path):
        crds = shared_dir("argo", "crds")
        documents = manifests(path)
        for document in documents:
            assert schema_errors(crds, document) == []
        assert lint_argo(documents, len(render_yaml(documents))) == ([], [])

    def test_output_is_deterministic(self):
        assert render_yaml(manifests(FLOWS / "nested_foreach.py")) == render_yaml(manifests(FLOWS / "nested_foreach.py"))

    @pytest.mark.parametrize("steps", [200, 1000])
    def test_large_flows_fit_argo_limits(self, steps, tmp_path):
        flow = tmp_path / "large.py"
        flow.write_text(large_flow_source(steps))
        documents = manifests(flow)
        text = render_yaml(documents)
        templates = documents[0]["spec"]["templates"]
        assert len(templates) <= 200
        assert all(len(t["dag"]["tasks"]) <= MAX_DAG_TASKS for t in templates if "dag" in t)
        assert len(text.encode()) < 256 * 1024
        assert lint_argo(documents, len(text)) == ([], [])
        crds = shared_dir("argo", "crds")
        assert schema_errors(crds, documents[0]) == []

    def test_schedule_gives_a_cron_workflow(self):
        result = check(two_step_flow(members='    alpha = Parameter("alpha", default=0.5)',
                                     class_decorators='@schedule(cron="30 2 * * 1-5", timezone="Europe/Paris")',
                                     name="NightlyTrainingFlowWithAVeryLongNameIndeedForKubernetes"))
        template, cron = compile_to_argo(result.ir, OPTIONS)
        assert cron["kind"] == "CronWorkflow" and len(cron["metadata"]["name"]) <= 52
        assert len(template["metadata"]["name"]) <= 63
        assert cron["spec"] == {
            "schedules": ["30 2 * * 1-5"], "timezone": "Europe/Paris", "concurrencyPolicy": "Forbid",
            "workflowSpec": {"workflowTemplateRef": {"name": template["metadata"]["name"]},
                             "arguments": {"parameters": [{"name": "alpha", "value": "0.5"}]}}}
        assert lint_argo([template, cron]) == ([], [])
        for document in (template, cron):
            assert schema_errors(shared_dir("argo", "crds"), document) == []

    def test_colliding_step_names_stay_distinct(self):
        documents = manifests(FLOWS / "behaviour" / "colliding.py")
        names = [t["name"] for t in documents[0]["spec"]["templates"][0]["dag"]["tasks"]]
        assert len(set(names)) == len(names) == 5
        assert lint_argo(documents) == ([], [])

    def test_decorators_map_to_the_template(self):
        template = {t["name"]: t for t in manifests(EXAMPLES / "branch.py")[0]["spec"]["templates"]}
        assert template["fit-mean"]["container"]["resources"] == {
            "requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}
        assert template["fit-line"]["retryStrategy"] == {"limit": 2, "retryPolicy": "Always", "backoff": {"duration": "120s"}}
        assert "--retry-count={{retries}}" in template["fit-line"]["container"]["args"]


def compile_problems(ir, options: DeployOptions = OPTIONS) -> list[str]:
    return [str(p) for p in get_target("argo").compile(ir, options).problems]


class TestInvalid:
    def test_kubernetes_namespace_argo_cannot_honour(self):
        result = check(two_step_flow(start_decorators='    @kubernetes(namespace="other")'))
        assert compile_problems(result.ir) == [
            "flow.py:10: @kubernetes(namespace=) on step 'start' cannot be honoured by argo: Argo runs every pod of a "
            "workflow in the workflow's namespace — deploy with --namespace other, or remove namespace= from @kubernetes"]
        assert compile_problems(result.ir, replace(OPTIONS, namespace="other")) == []

    def test_cron_needs_values_for_every_parameter(self):
        result = check(two_step_flow(members='    who = Parameter("who", required=True)', class_decorators="@schedule(daily=True)"))
        assert compile_problems(result.ir) == [
            "flow.py:7: parameter 'who' has no default, so a scheduled run cannot start the flow — give it a default, "
            "or remove @schedule"]

    def test_include_file_cannot_be_deployed(self):
        compiled = get_target("argo").compile(load_flow(str(FLOWS / "behaviour" / "include.py")), OPTIONS)
        assert [p.message for p in compiled.errors] == [
            "IncludeFile on parameter 'notes' cannot be honoured by argo: the file is read on this machine, not in the pods"]
        assert compiled.documents == () and compiled.text == ""

    def test_lint_catches_broken_manifests(self):
        documents = manifests(FLOWS / "foreach.py")
        main = documents[0]["spec"]["templates"][0]
        main["dag"]["tasks"][2]["depends"] = "start-each && missing"
        main["dag"]["tasks"][1]["withParam"] = "{{tasks.nowhere.outputs.parameters.splits}}"
        documents[0]["spec"]["templates"][1]["container"]["args"].append("{{inputs.parameters.typo}}")
        errors, _ = lint_argo(documents)
        assert any("dependency 'missing' not defined" in e for e in errors)
        assert any("withParam must read the output of a task it depends on" in e for e in errors)
        assert any("failed to resolve {{inputs.parameters.typo}}" in e for e in errors)


def deploy_and_run(path: Path, store: Path, name: str, arguments: dict[str, str] | None = None) -> ArgoRunner:
    ir = load_flow(str(path))
    package = build_package(str(path))
    upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
    options = DeployOptions(datastore=str(store), package_sha=package.sha, flow_path=package.flow_path, image="unused")
    (template, *_) = compile_to_argo(ir, options)
    runner = ArgoRunner(template, name, arguments or {}, env={"FLOWSHIP_CACHE": str(store / "cache")})
    runner.run()
    return runner


class TestExecution:
    @pytest.mark.parametrize("path", sorted(FLOWS.glob("*.py")), ids=lambda p: p.stem)
    def test_every_shape_gives_the_local_artifacts(self, path, tmp_path):
        deploy_and_run(path, tmp_path, "wf-1")
        run = Flow(load_flow(str(path)).name, datastore=str(tmp_path))["argo-ml.wf-1"]
        assert run.successful
        assert {k: getattr(run.data, k) for k in expected_artifacts(path)} == expected_artifacts(path)

    def test_retry_timeout_catch_under_argo(self, tmp_path):
        runner = deploy_and_run(FLOWS / "behaviour" / "decorated.py", tmp_path, "wf-2")
        run = Flow("DecoratedFlow", datastore=str(tmp_path))["argo-ml.wf-2"]
        assert run.data.summary["start_attempt"] == 1
        assert [p.attempts for p in runner.pods if p.args[3] == "start"] == [1, 2]

    @pytest.mark.parametrize("text", ["it's \"quoted\"", "$(touch pwned) `id`", "{{ workflow.name }} {{inputs.parameters.step}}",
                                      "two\nlines", "--starts-with-dashes", "naïve 🚀"])
    def test_parameter_text_arrives_verbatim(self, text, tmp_path):
        deploy_and_run(FLOWS / "behaviour" / "params.py", tmp_path, "wf-3", {"text": text})
        seen = Flow("ParamsFlow", datastore=str(tmp_path))["argo-ml.wf-3"]["start"].task.data.seen
        assert (seen[0], seen[6]) == (text, ["a", "b"])

    def test_failing_step_fails_the_workflow(self, tmp_path):
        with pytest.raises(ArgoRunError, match="template start failed after 1 attempts"):
            deploy_and_run(FLOWS / "behaviour" / "broken.py", tmp_path, "wf-4")

    def test_runner_refuses_unresolved_variables(self):
        with pytest.raises(ArgoRunError, match="unresolved variable"):
            ArgoRunner.substitute("{{inputs.parameters.nope}}", {})


def test_compile_command_writes_yaml(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flowship", "compile", "examples/foreach.py", "--target", "argo",
                             "--datastore", "s3://bucket/store", "--no-upload", "-o", str(tmp_path) + "/"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "foreach-flow.yaml"
    assert [d["kind"] for d in yaml.safe_load_all(written.read_text())] == ["WorkflowTemplate"]
