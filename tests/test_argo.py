"""Argo target: CRD schema (strict), lint rules, execution by the faithful runner, limits, names, golden files."""

from __future__ import annotations

import json
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


def valid_for_argo(documents: list[dict]) -> bool:
    """Argo's CRD schema (strict) and our lint rules accept every Argo document."""
    crds = shared_dir("argo", "crds")
    argo = [d for d in documents if d["apiVersion"].startswith("argoproj.io/")]
    return all(schema_errors(crds, d) == [] for d in argo) and lint_argo(documents) == ([], [])


def manifests(path: Path, options: DeployOptions = OPTIONS) -> list[dict]:
    return compile_to_argo(load_flow(str(path)), options)


# Parameter text Argo and the kubelet would rewrite if it were passed as it is.
HOSTILE = [
    "it's \"quoted\"", "$(touch pwned) `id`", "{{ workflow.name }} {{inputs.parameters.step}}", "two\nlines",
    "--starts-with-dashes", "naïve 🚀 \U000E0001", "{{workflow.user}}", "see {{ name", "{{=}} {{= 1 + }}", "}}",
    "cost $$5", "$(FLOWSHIP_USER) $(HOME)", "ring \a \x01 \x7f", "flowship-base64:aGk=", "x" * 100 * 1024,
    "{{pod.name}} {{item}} {{retries}}",
]


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
            "startingDeadlineSeconds": 3540, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
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


def deploy_and_run(path: Path, store: Path, name: str, arguments: dict[str, str] | None = None,
                   target_options: dict | None = None, secrets: dict | None = None) -> ArgoRunner:
    ir = load_flow(str(path))
    package = build_package(str(path))
    upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
    options = DeployOptions(datastore=str(store), package_sha=package.sha, flow_path=package.flow_path, image="unused",
                            target_options=target_options or {})
    (template, *_) = compile_to_argo(ir, options)
    runner = ArgoRunner(template, name, arguments or {}, env={"FLOWSHIP_CACHE": str(store / "cache")},
                        secrets=secrets or {})
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

    @pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
    def test_parameter_text_arrives_verbatim(self, text, tmp_path):
        # given at submission as `flow trigger` gives it, and as a default the manifest holds
        from flowship.step_command import encode_stored_value

        runner = deploy_and_run(FLOWS / "behaviour" / "params.py", tmp_path, "wf-3", {"text": encode_stored_value(text)})
        seen = Flow("ParamsFlow", datastore=str(tmp_path))["argo-ml.wf-3"]["start"].task.data.seen
        assert (seen[0], seen[6]) == (text, ["a", "b"])
        if len(text) > 96 * 1024:  # its base64 is over 128 KiB: Argo hands it over as @/tmp/argo_arg_N.txt
            assert [a for a in runner.pods[0].args if a.startswith("@")]

    @pytest.mark.parametrize("text", [t for t in HOSTILE if "{{=" not in t and len(t) < 1000
                                      and not t.startswith("flowship-base64:")])
    def test_text_a_user_gives_argo_directly_arrives_verbatim_too(self, text, tmp_path):
        """Except a value holding "{{=" (it can keep the workflow from starting) or one that looks encoded."""
        deploy_and_run(FLOWS / "behaviour" / "params.py", tmp_path, "wf-5", {"text": text})
        assert Flow("ParamsFlow", datastore=str(tmp_path))["argo-ml.wf-5"]["start"].task.data.seen[0] == text

    @pytest.mark.parametrize("text, outcome, what", [
        ("{{workflow.name}}", "arrives as", "wf-6"), ("cost $$5", "arrives as", "cost $5"),
        ("$(FLOWSHIP_USER)", "arrives as", "argo"),
        ("{{workflow.user}}", "fails with", r"failed to resolve \{\{workflow.user\}\}"),
        ("ring \a", "fails with", "invalid JSON"),
    ])
    def test_the_plain_tag_form_would_not_survive(self, text, outcome, what, tmp_path):
        """What the model says of `--param=text={{workflow.parameters.text}}`, the form Argo rewrites."""
        ir = load_flow(str(FLOWS / "behaviour" / "params.py"))
        package = build_package(str(FLOWS / "behaviour" / "params.py"))
        upload_package(FlowDatastore(LocalStorage(str(tmp_path)), ir.name), package)
        options = DeployOptions(datastore=str(tmp_path), package_sha=package.sha, flow_path=package.flow_path,
                                image="unused")
        template = compile_to_argo(ir, options)[0]
        start = next(t for t in template["spec"]["templates"] if t["name"] == "start")
        start["container"]["args"] = [
            f"--param={a.split('=')[1]}={{{{workflow.parameters.{a.split('=')[1]}}}}}" if a.startswith("--param-b")
            else a for a in start["container"]["args"]]
        runner = ArgoRunner(template, "wf-6", {"text": text}, env={"FLOWSHIP_CACHE": str(tmp_path / "cache")})
        if outcome == "arrives as":
            runner.run()
            assert Flow("ParamsFlow", datastore=str(tmp_path))["argo-ml.wf-6"]["start"].task.data.seen[0] == what
        else:
            with pytest.raises(ArgoRunError, match=what):
                runner.run()

    def test_failing_step_fails_the_workflow(self, tmp_path):
        with pytest.raises(ArgoRunError, match="template start failed after 1 attempts"):
            deploy_and_run(FLOWS / "behaviour" / "broken.py", tmp_path, "wf-4")

    def test_runner_refuses_unresolved_variables(self):
        template = manifests(EXAMPLES / "hello.py")[0]
        template["spec"]["templates"][1]["container"]["args"].append("{{inputs.parameters.nope}}")
        with pytest.raises(ArgoRunError, match=r"failed to resolve \{\{inputs.parameters.nope\}\}"):
            ArgoRunner(template, "wf-x").run()


class TestDeploymentOptions:
    GIVEN = {"max-workers": "8", "run-timeout": "6h", "priority": "5", "label": ["team=ml"],
             "annotation": ["example.com/owner=ml team {x}"], "env": ["PRICE=costs $5, $(HOME) and $$"],
             "secret": ["store-creds"], "startup-timeout": "30m", "max-splits": "2", "starting-deadline": "0"}

    def test_defaults(self):
        template, cron = manifests(EXAMPLES / "daily_retrain.py", replace(OPTIONS, project="wine", branch="prod"))
        spec = template["spec"]
        assert (spec["parallelism"], "activeDeadlineSeconds" in spec, "priority" in spec) == (100, False, False)
        containers = [t for t in spec["templates"] if "container" in t]
        assert {t["pendingTimeout"] for t in containers} == {"600s"}
        foreach = next(t for t in containers if "outputs" in t)
        assert "--max-splits=2000" in foreach["container"]["args"]
        assert all("--max-splits=2000" not in t["container"]["args"] for t in containers if t is not foreach)
        assert spec["podMetadata"]["labels"] == {"app.kubernetes.io/managed-by": "flowship",
                                                 "flowship.io/flow": "daily-retrain-flow",
                                                 "flowship.io/project": "wine", "flowship.io/branch": "prod"}
        assert foreach["metadata"] == {
            "labels": {"flowship.io/step": "{{inputs.parameters.step}}"},
            "annotations": {"flowship.io/run-id": "argo-{{workflow.namespace}}.{{workflow.name}}",
                            "flowship.io/step-name": "{{inputs.parameters.step}}",
                            "flowship.io/task-id": "{{inputs.parameters.task-id}}"}}
        assert {k: cron["spec"][k] for k in ("timezone", "startingDeadlineSeconds", "successfulJobsHistoryLimit",
                                              "failedJobsHistoryLimit")} == {
            "timezone": "UTC", "startingDeadlineSeconds": 3540, "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3}

    def test_given_options_reach_the_workflow_and_every_pod(self):
        documents = manifests(EXAMPLES / "daily_retrain.py", replace(OPTIONS, target_options=self.GIVEN))
        assert valid_for_argo(documents)
        template, cron = documents
        spec = template["spec"]
        assert (spec["parallelism"], spec["activeDeadlineSeconds"], "priority" in spec) == (8, 6 * 3600, False)
        # Argo reads priority from each Workflow: the schedule's, and what flow trigger submits
        assert (cron["spec"]["workflowSpec"]["priority"], template["metadata"]["annotations"]["flowship.io/priority"]) \
            == (5, "5")
        assert spec["podMetadata"]["labels"]["team"] == "ml"
        assert spec["podMetadata"]["annotations"]["example.com/owner"] == "ml team {x}"
        assert spec["workflowMetadata"]["labels"]["team"] == "ml"
        assert cron["spec"]["startingDeadlineSeconds"] == 0
        for container_template in (t for t in spec["templates"] if "container" in t):
            container = container_template["container"]
            assert container_template["pendingTimeout"] == "1800s"
            assert {"name": "PRICE", "value": "costs $$5, $$(HOME) and $$$$"} in container["env"]
            assert {"secretRef": {"name": "store-creds"}} in container["envFrom"]

    def test_rbac_gives_the_least_the_pods_need(self):
        kubernetes = pytest.importorskip("kubernetes")
        documents = manifests(EXAMPLES / "foreach.py", replace(OPTIONS, namespace="ml", target_options={"rbac": True}))
        assert [d["kind"] for d in documents] == ["WorkflowTemplate", "ServiceAccount", "Role", "RoleBinding"]
        assert valid_for_argo(documents)
        assert documents[0]["spec"]["serviceAccountName"] == "foreach-flow-workflow"
        client = kubernetes.client.ApiClient()
        for document in documents[1:]:  # the Kubernetes client's own models refuse a missing required field

            class Response:
                data = json.dumps(document)

            client.deserialize(Response(), f"V1{document['kind']}")
        role, binding = documents[2], documents[3]
        assert role["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"],
                                  "verbs": ["create", "patch"]}]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "foreach-flow-workflow", "namespace": "ml"}]
        given = manifests(EXAMPLES / "foreach.py", replace(OPTIONS, namespace="ml", service_account="mine",
                                                           target_options={"rbac": True}))
        assert [d["kind"] for d in given] == ["WorkflowTemplate", "Role", "RoleBinding"]
        assert given[2]["subjects"][0]["name"] == given[0]["spec"]["serviceAccountName"] == "mine"

    def test_the_exit_handler_runs_as_the_steps_do(self):
        source = ("from flowship import FlowSpec, kubernetes, secrets, step\n\nclass OwnFlow(FlowSpec):\n"
                  "    @kubernetes(image='reg/own:1', service_account='store-reader')\n    @step\n    def start(self):\n"
                  "        self.next(self.end)\n\n    @secrets(sources=['store-creds'])\n"
                  "    @kubernetes(image='reg/own:1')\n    @step\n    def end(self):\n        pass\n")
        ir = check(source).ir
        options = replace(OPTIONS, image="", target_options={"failure-webhook": "hooks/url"})
        template = compile_to_argo(ir, options)[0]
        assert valid_for_argo([template])
        handler = next(t for t in template["spec"]["templates"] if t["name"] == template["spec"]["onExit"])
        assert (handler["container"]["image"], handler["serviceAccountName"]) == ("reg/own:1", "store-reader")
        assert handler["container"]["envFrom"] == [{"secretRef": {"name": "store-creds"}}]
        assert handler["container"]["env"][-1]["valueFrom"]["secretKeyRef"] == {"name": "hooks", "key": "url",
                                                                               "optional": True}

    def test_rbac_needs_a_namespace(self):
        compiled = get_target("argo").compile(load_flow(str(EXAMPLES / "hello.py")),
                                              replace(OPTIONS, target_options={"rbac": True}))
        assert [(p.message, p.fix) for p in compiled.errors] == [
            ("--rbac: a RoleBinding names the namespace of its ServiceAccount", "give --namespace NAMESPACE")]

    def test_a_step_name_that_is_no_label_value_is_only_annotated(self):
        long_step = "prepare_" + "x" * 60  # over a label value's 63 characters
        ir = check("from flowship import FlowSpec, step\n\nclass LongFlow(FlowSpec):\n    @step\n    def start(self):\n"
                   f"        self.next(self.{long_step})\n\n    @step\n    def {long_step}(self):\n"
                   "        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n").ir
        documents = compile_to_argo(ir, OPTIONS)
        assert valid_for_argo(documents)
        pods = [t["metadata"] for t in documents[0]["spec"]["templates"] if "container" in t and t["name"] != "record-outcome"]
        assert pods and all("labels" not in m and m["annotations"]["flowship.io/step-name"] for m in pods)

    def test_the_environment_arrives_as_given(self, tmp_path):
        source = tmp_path / "code" / "envflow.py"
        source.parent.mkdir()
        source.write_text("import os\nfrom flowship import FlowSpec, step\n\nclass EnvFlow(FlowSpec):\n    @step\n"
                          "    def start(self):\n        self.seen = os.environ['PRICE']\n        self.next(self.end)\n\n"
                          "    @step\n    def end(self):\n        pass\n")
        deploy_and_run(source, tmp_path, "wf-env", target_options={"env": ["PRICE=costs $5, $(HOME) and $$"]})
        seen = Flow("EnvFlow", datastore=str(tmp_path))["argo-ml.wf-env"]["start"].task.data.seen
        assert seen == "costs $5, $(HOME) and $$"

    def test_a_foreach_wider_than_max_splits_fails_before_fanning_out(self, tmp_path):
        with pytest.raises(ArgoRunError, match="template start failed"):
            deploy_and_run(EXAMPLES / "foreach.py", tmp_path, "wf-wide", target_options={"max-splits": "2"})
        start = Flow("ForeachFlow", datastore=str(tmp_path))["argo-ml.wf-wide"]["start"].task
        assert not start.successful
        assert "has 3 items, more than the 2 its scheduler fans out to" in start.exception

    @pytest.mark.parametrize("given, message", [
        ({"max-workers": "many"}, "--max-workers 'many': give a whole number above 0"),
        ({"run-timeout": "soon"}, "--run-timeout 'soon': give a positive number of seconds, or minutes/hours as 90m, 6h"),
        ({"priority": "high"}, "--priority 'high': give a whole number (higher runs first) that fits in 32 bits"),
        ({"priority": "99999999999"}, "--priority '99999999999': give a whole number (higher runs first) that fits in "
         "32 bits"),
        ({"max-splits": "²"}, "--max-splits '²': give a whole number above 0"),
        ({"label": ["team=machine learning"]}, "--label 'team=machine learning': a label value is at most 63 letters, "
         "digits, -, _ and ., starting and ending with a letter or digit; use --annotation for other text"),
        ({"label": ["Bad Key=x"]}, "--label 'Bad Key=x': write KEY=VALUE, KEY a Kubernetes label key: [prefix/]name, "
         "the name of letters, digits, -, _ and ."),
        ({"annotation": ["note={{workflow.name}}"]},
         "--annotation 'note={{workflow.name}}': Argo would substitute the {{...}} in it; leave it out"),
        ({"env": ["X={{workflow.name}}"]}, "--env 'X={{workflow.name}}': Argo would substitute the {{...}} in it; "
         "leave it out"),
        ({"secret": ["Creds"]}, "--secret 'Creds': a Kubernetes Secret's name (lowercase letters, digits, - and .)"),
    ])
    def test_a_wrong_option_is_an_error_naming_it(self, given, message):
        ir = load_flow(str(EXAMPLES / "hello.py"))
        assert [p.message for p in get_target("argo").compile(ir, replace(OPTIONS, target_options=given)).errors] == [
            message]


SIX_WIDE = """from flowship import FlowSpec, step

class SixFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        import time
        time.sleep(0.5)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


class TestArgoBehaviour:
    def write(self, tmp_path: Path, source: str) -> Path:
        path = tmp_path / "code" / "flow.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
        return path

    @pytest.mark.parametrize("max_workers, most", [("2", 2), (None, 6)])
    def test_max_workers_bounds_the_pods_running_at_once(self, max_workers, most, tmp_path):
        options = {"max-workers": max_workers} if max_workers else {}
        runner = deploy_and_run(self.write(tmp_path, SIX_WIDE), tmp_path, "wf-p", target_options=options)
        assert runner.peak_pods == most

    def test_a_step_named_like_a_word_of_depends_runs(self, tmp_path):
        path = self.write(tmp_path, "from flowship import FlowSpec, step\n\nclass WordFlow(FlowSpec):\n"
                          "    @step\n    def start(self):\n        self.next(self.matches)\n\n"
                          "    @step\n    def matches(self):\n        self.next(self.end)\n\n"
                          "    @step\n    def end(self):\n        pass\n")
        template = compile_to_argo(load_flow(str(path)), OPTIONS)[0]
        main = template["spec"]["templates"][0]["dag"]["tasks"]
        assert [(t["name"], t.get("depends")) for t in main] == [
            ("start", None), ("matches-step", "start"), ("end", "matches-step")]
        deploy_and_run(path, tmp_path, "wf-k")
        assert Flow("WordFlow", datastore=str(tmp_path))["argo-ml.wf-k"].successful

    def test_a_missing_secret_fails_the_task_instead_of_waiting(self, tmp_path):
        with pytest.raises(ArgoRunError, match="Secret store-creds not found .failed after pendingTimeout 600s"):
            deploy_and_run(EXAMPLES / "hello.py", tmp_path, "wf-s", target_options={"secret": ["store-creds"]})

    def test_pods_say_which_run_step_and_task_they_are(self, tmp_path):
        runner = deploy_and_run(EXAMPLES / "foreach.py", tmp_path, "wf-m", target_options={"label": ["team=ml"]})
        steps = [p for p in runner.pods if p.template != "record-outcome"]
        seen = {(p.metadata["annotations"]["flowship.io/step-name"], p.metadata["annotations"]["flowship.io/task-id"])
                for p in steps}
        assert ("start", "0") in seen and {t for s, t in seen if s == "score"} == {"0.0", "0.1", "0.2"}
        assert {p.metadata["annotations"]["flowship.io/run-id"] for p in runner.pods} == {"argo-ml.wf-m"}
        assert all(p.metadata["labels"]["team"] == "ml" for p in runner.pods)
        assert all(p.metadata["labels"]["flowship.io/step"] == p.metadata["annotations"]["flowship.io/step-name"]
                   for p in steps)


def test_compile_command_writes_yaml(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flowship", "compile", "examples/foreach.py", "--target", "argo",
                             "--datastore", "s3://bucket/store", "--no-upload", "-o", str(tmp_path) + "/"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "foreach-flow.yaml"
    assert [d["kind"] for d in yaml.safe_load_all(written.read_text())] == ["WorkflowTemplate"]


def test_cards_made_under_argo_are_read_with_flow_card_get(tmp_path):
    """The step command renders @card into the store on every scheduler: flow card get reads Argo's the same way."""
    deploy_and_run(FLOWS / "behaviour" / "cards.py", tmp_path, "wf-cards")
    pathspec = "CardsFlow/argo-ml.wf-cards"
    got = subprocess.run([sys.executable, "-m", "flowship", "card", "get", f"{pathspec}/start", "--id", "summary",
                          "--datastore", str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert got.returncode == 0, got.stderr
    assert "<h1>Items</h1>" in got.stdout and "<td>3</td><td>9</td>" in got.stdout
    listed = subprocess.run([sys.executable, "-m", "flowship", "card", "list", pathspec, "--datastore", str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert sorted(line.split("  ")[0].split("/", 2)[2] + " " + line.split("  ")[1] for line in listed.stdout.splitlines()) == [
        "each/0.0 blank", "each/0.1 blank", "each/0.2 blank", "end/0 html", "start/0 blank id=summary",
        "start/0 default"]
