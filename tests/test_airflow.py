"""Airflow target, proven against a real Airflow 3.3: DagBag loads, dag.test() runs, KPO pods as Airflow builds them."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None:  # not importorskip: airflow must not be imported before the harness
    pytest.skip("the Airflow tests need apache-airflow (pip install 'flowship[airflow]')", allow_module_level=True)

import airflow_harness as harness  # noqa: E402  (sets AIRFLOW_HOME before airflow is imported)
from conftest import EXAMPLES, FLOWS, REPO, check, two_step_flow  # noqa: E402
from flowship.compiler.targets.airflow.dagfile import compile_to_airflow  # noqa: E402
from flowship.compiler.targets.shared import DeployOptions  # noqa: E402
from flowship.flowfile import load_flow  # noqa: E402
from flowship.providers.storage import LocalStorage  # noqa: E402
from flowship.runtime.client import Flow, namespace  # noqa: E402
from flowship.runtime.datastore import FlowDatastore  # noqa: E402
from flowship.runtime.package import build_package, upload_package  # noqa: E402
from test_runtime import expected_artifacts  # noqa: E402

DEPLOYABLE = [p for p in sorted(EXAMPLES.glob("*.py")) + sorted(FLOWS.glob("*.py")) + sorted((FLOWS / "behaviour").glob("*.py"))
              if p.name != "include.py"]
OPTIONS = DeployOptions(datastore="s3://bucket/store", package_sha="0" * 64, flow_path="flow.py", image="flowship:0.1.0")


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def deploy(path: Path, store: Path, operator: str):
    """Upload the flow's code package to ``store`` and load its DAG file; returns the DAG."""
    ir = load_flow(str(path))
    package = build_package(str(path))
    upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
    options = DeployOptions(datastore=str(store), package_sha=package.sha, flow_path=package.flow_path, image="flowship:test")
    dag, errors, serialization = harness.load_dag(compile_to_airflow(ir, options, operator), ir.name)
    assert (errors, serialization) == ({}, None)
    return dag


class TestDagFiles:
    @pytest.mark.parametrize("operator", ["kubernetes", "local"])
    @pytest.mark.parametrize("path", DEPLOYABLE, ids=lambda p: f"{p.parent.name}/{p.stem}")
    def test_loads_in_a_dagbag_and_serializes(self, path, operator):
        text = compile_to_airflow(load_flow(str(path)), OPTIONS, operator)
        dag, errors, serialization = harness.load_dag(text, path.stem)
        assert (errors, serialization) == ({}, None)
        assert dag.dag_id == load_flow(str(path)).name

    @pytest.mark.parametrize("operator", ["kubernetes", "local"])
    def test_imports_only_airflow_and_its_providers(self, operator):
        text = compile_to_airflow(load_flow(str(EXAMPLES / "branch.py")), OPTIONS, operator)
        modules = {(n.module if isinstance(n, ast.ImportFrom) else n.names[0].name).split(".")[0]
                   for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Import, ast.ImportFrom))}
        assert modules <= {"__future__", "json", "os", "re", "subprocess", "sys", "tempfile", "datetime", "pendulum",
                           "airflow", "kubernetes"}
        assert "flowship" not in modules

    def test_schedule_and_defaults(self):
        result = check(two_step_flow(members='    alpha = Parameter("alpha", default=0.5, help="rate")',
                                     class_decorators='@schedule(cron="30 2 * * 1-5", timezone="Europe/Paris")'))
        dag, errors, _ = harness.load_dag(compile_to_airflow(result.ir, OPTIONS), "nightly")
        assert errors == {}
        assert (dag.catchup, dag.max_active_runs) == (False, 1)
        assert type(dag.timetable).__name__ == "CronTriggerTimetable"
        assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("30 2 * * 1-5", "Europe/Paris")
        assert dag.params["alpha"] == 0.5

    def test_output_is_deterministic(self):
        ir = load_flow(str(FLOWS / "nested_foreach.py"))
        assert compile_to_airflow(ir, OPTIONS) == compile_to_airflow(ir, OPTIONS)


class TestLocalMode:
    @pytest.mark.parametrize("path", sorted(FLOWS.glob("*.py")), ids=lambda p: p.stem)
    def test_dag_test_gives_the_local_artifacts(self, path, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(path, tmp_path, "local")
        assert harness.run_dag_test(dag) == "success"
        run = Flow(dag.dag_id, datastore=str(tmp_path)).latest_run
        assert run.id.startswith(f"airflow-{dag.dag_id}.manual__") and run.successful
        assert {k: getattr(run.data, k) for k in expected_artifacts(path)} == expected_artifacts(path)

    def test_retry_catch_timeout(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(FLOWS / "behaviour" / "decorated.py", tmp_path, "local")
        assert harness.run_dag_test(dag) == "success"
        run = Flow("DecoratedFlow", datastore=str(tmp_path)).latest_run
        assert run.data.summary["start_attempt"] == 1 and run.data.summary["timed_out"] == "TimeoutException"

    @pytest.mark.parametrize("text", ["it's \"quoted\"", "$(touch pwned) `id`", "{{ 7*7 }} {% raw %}", "two\nlines",
                                      "--dashes", "naïve 🚀"])
    def test_hostile_conf_arrives_verbatim(self, text, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(FLOWS / "behaviour" / "params.py", tmp_path, "local")
        assert harness.run_dag_test(dag, {"text": text, "count": 3}) == "success"
        seen = Flow("ParamsFlow", datastore=str(tmp_path)).latest_run["start"].task.data.seen
        assert seen[:2] == (text, 3) and seen[5] is None and seen[6] == ["a", "b"]

    def test_cards_are_read_with_flow_card_get_and_named_in_the_task_docs(self, tmp_path, monkeypatch):
        """@card is rendered by the step command under Airflow too; each task with cards says where they are in its
        docs (doc_md), since an extra link would need an Airflow plugin."""
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(FLOWS / "behaviour" / "cards.py", tmp_path, "local")
        assert f"`flow card view CardsFlow/RUN/each/TASK --datastore {tmp_path}`" in dag.task_dict["each"].doc_md
        assert dag.task_dict["join"].doc_md is None
        assert harness.run_dag_test(dag) == "success"
        run = Flow("CardsFlow", datastore=str(tmp_path)).latest_run
        got = subprocess.run([sys.executable, "-m", "flowship", "card", "get", f"{run.pathspec}/each/0.2",
                              "--datastore", str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert got.returncode == 0, got.stderr
        assert "<strong>3</strong> squared is <strong>9</strong>" in got.stdout
        assert [c.type for c in run["end"].task.cards] == ["html"]

    def test_failing_step_fails_the_run(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(FLOWS / "behaviour" / "broken.py", tmp_path, "local")
        assert harness.run_dag_test(dag) == "failed"


class TestKubernetesMode:
    @pytest.mark.parametrize("path", sorted(FLOWS.glob("*.py")), ids=lambda p: p.stem)
    def test_pods_as_airflow_builds_them_give_the_local_artifacts(self, path, tmp_path):
        dag = deploy(path, tmp_path, "kubernetes")
        run = harness.KubernetesDagRun(dag, "manual__2026-11-22T10:00:00+00:00", env={"FLOWSHIP_CACHE": str(tmp_path / "c")})
        run.run()
        result = Flow(dag.dag_id, datastore=str(tmp_path))[f"airflow-{dag.dag_id}.manual__2026-11-22T10-00-00-00-00"]
        assert result.successful
        assert {k: getattr(result.data, k) for k in expected_artifacts(path)} == expected_artifacts(path)
        assert all(pod.image == "flowship:test" for pod in run.pods)

    def test_pod_carries_resources_env_secrets_and_retries(self, tmp_path):
        result = check(two_step_flow(start_decorators="""
    @retry(times=2, minutes_between_retries=1)
    @timeout(minutes=5)
    @resources(cpu=2, memory="8Gi", gpu=1)
    @environment(vars={"MODE": "{{ not rendered }}"})
    @secrets(sources=["db-creds"])
    @kubernetes(image="repo/train:1", node_selector={"pool": "gpu"}, service_account="trainer")"""))
        dag, errors, serialization = harness.load_dag(compile_to_airflow(result.ir, OPTIONS), "decorated")
        assert (errors, serialization) == ({}, None)
        task = dag.task_dict["start"]
        assert (task.retries, task.retry_delay.total_seconds(), task.execution_timeout.total_seconds()) == (2, 60, 360)
        task.render_template_fields({"run_id": "manual__x", "params": {}, "ti": harness.FakeTaskInstance(2), "dag": dag},
                                    jinja_env=dag.get_template_env())
        pod = task.build_pod_request_obj(dry_run=True)
        container = pod.spec.containers[0]
        assert container.image == "repo/train:1"
        assert container.args[:6] == ["step", "flow.py", "start", "--run-id=airflow-F.manual__x", "--task-id=0",
                                      "--retry-count=1"]
        assert {e.name: e.value for e in container.env} == {"FLOWSHIP_USER": "airflow"}  # MODE: set by the task
        assert [e.secret_ref.name for e in container.env_from] == ["db-creds"]
        assert container.resources.requests == {"cpu": "2", "memory": "8192Mi", "nvidia.com/gpu": "1"}
        assert container.resources.limits == {"memory": "8192Mi", "nvidia.com/gpu": "1"}
        assert (pod.spec.node_selector, pod.spec.service_account_name) == ({"pool": "gpu"}, "trainer")


HOSTILE = ["{{ 7 * 7 }}", "x{% endraw %}{{ 6*7 }}{% raw %}y", "{{ undefined_name }}", "it's \"q\" $(x) `y`",
           'three """ quotes', "back\\slash {# c #}"]


def _hostile_flow(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    path = folder / "host{{ 7 }}ile.py"  # a file name with Jinja in it, too
    path.write_text(f'''
import os
from flowship import FlowSpec, environment, step

TEXT = {text!r}


class HostileFlow(FlowSpec):
    @environment(vars={{"HOSTILE": TEXT}})
    @step
    def start(self):
        self.start_env = os.environ["HOSTILE"]
        self.items = [1, 2]
        self.next(self.body, foreach="items")

    @environment(vars={{"HOSTILE": TEXT}})
    @step
    def body(self):
        self.body_env = os.environ["HOSTILE"]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.envs = sorted({{i.body_env for i in inputs}})
        self.next(self.end)

    @step
    def end(self):
        pass
''')
    return path


@pytest.mark.parametrize("operator", ["kubernetes", "local"])
@pytest.mark.parametrize("text", HOSTILE)
def test_no_user_or_deployer_text_is_rendered_by_jinja(text, operator, tmp_path, monkeypatch):
    """@environment (mapped and not), the store, the image and file names reach the task as written."""
    source = _hostile_flow(tmp_path / "code", text)
    store = tmp_path / f"store {text.replace('/', '_')}"
    ir = load_flow(str(source))
    package = build_package(str(source))
    upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
    image = f"repo/image:{text}"
    options = DeployOptions(datastore=str(store), package_sha=package.sha, flow_path=package.flow_path, image=image)
    dag, errors, serialization = harness.load_dag(compile_to_airflow(ir, options, operator), "hostile")
    assert (errors, serialization) == ({}, None)
    monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
    if operator == "kubernetes":
        run = harness.KubernetesDagRun(dag, "manual__2026-12-01T00:00:00+00:00", env={"FLOWSHIP_CACHE": str(tmp_path / "c")})
        run.run()
        assert {pod.image for pod in run.pods} == {image}
        assert all(f"--datastore={store}" in pod.command for pod in run.pods)
    else:
        assert harness.run_dag_test(dag) == "success"
    result = Flow("HostileFlow", datastore=str(store)).latest_run
    assert (result["start"].task.data.start_env, result["join"].task.data.envs) == (text, [text])


@pytest.mark.parametrize("operator", ["kubernetes", "local"])
def test_a_foreach_wider_than_airflow_maps_fails_before_fanning_out(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "2")  # the foreach example fans out to 3
    monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
    dag = deploy(EXAMPLES / "foreach.py", tmp_path, operator)
    if operator == "kubernetes":
        with pytest.raises(AssertionError, match="pod for start"):
            harness.KubernetesDagRun(dag, "manual__2026-12-01T00:00:00+00:00", env={"FLOWSHIP_CACHE": str(tmp_path)}).run()
    else:
        assert harness.run_dag_test(dag) == "failed"
    start = Flow("ForeachFlow", datastore=str(tmp_path)).latest_run["start"].task
    assert not start.successful
    assert ("has 3 items, more than the 2 its scheduler fans out to (flow run: --max-num-splits; Airflow: [core] "
            "max_map_length; Argo: the deployment's --max-splits) — raise that limit, or make fewer, larger items"
            ) in start.exception


class TestDeploymentOptions:
    OPTIONS_GIVEN = {"kubernetes-conn-id": "k8s_prod", "startup-timeout": "20m", "pool": "gpu", "queue": "fast",
                     "owner": "ml-team", "run-timeout": "6h", "max-workers": "8", "env": ["AWS_ENDPOINT_URL=http://minio:9000"],
                     "secret": ["store-creds"]}

    def test_they_reach_the_operators_the_dag_and_the_pods(self):
        options = replace(OPTIONS, target_options=self.OPTIONS_GIVEN)
        dag, errors, serialization = harness.load_dag(
            compile_to_airflow(load_flow(str(EXAMPLES / "foreach.py")), options, "kubernetes"), "options")
        assert (errors, serialization) == ({}, None)
        assert (dag.dagrun_timeout.total_seconds(), dag.max_active_tasks) == (6 * 3600, 8)
        start = dag.task_dict["start"]
        assert (start.pool, start.queue, start.owner) == ("gpu", "fast", "ml-team")
        assert (start.kubernetes_conn_id, start.startup_timeout_seconds) == ("k8s_prod", 1200)
        without_connection = {k: v for k, v in self.OPTIONS_GIVEN.items() if k != "kubernetes-conn-id"}  # none here
        dag, _, _ = harness.load_dag(compile_to_airflow(load_flow(str(EXAMPLES / "foreach.py")),
                                                        replace(OPTIONS, target_options=without_connection)), "pod")
        start = dag.task_dict["start"]
        start.render_template_fields({"run_id": "manual__x", "params": {"alphas": [1]}, "ti": harness.FakeTaskInstance(1),
                                      "dag": dag}, jinja_env=dag.get_template_env())
        container = start.build_pod_request_obj(dry_run=True).spec.containers[0]
        assert {e.name: e.value for e in container.env}["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert [e.secret_ref.name for e in container.env_from] == ["store-creds"]

    def test_the_environment_reaches_local_tasks(self, tmp_path, monkeypatch):
        source = tmp_path / "code" / "envflow.py"
        source.parent.mkdir()
        source.write_text("import os\nfrom flowship import FlowSpec, step\n\nclass EnvFlow(FlowSpec):\n    @step\n"
                          "    def start(self):\n        self.seen = os.environ['STORE_HINT']\n        self.next(self.end)\n\n"
                          "    @step\n    def end(self):\n        pass\n")
        ir = load_flow(str(source))
        package = build_package(str(source))
        upload_package(FlowDatastore(LocalStorage(str(tmp_path)), ir.name), package)
        options = DeployOptions(datastore=str(tmp_path), package_sha=package.sha, flow_path=package.flow_path, image="",
                                target_options={"operator": "local", "env": ["STORE_HINT=from --env"]})
        dag, errors, _ = harness.load_dag(compile_to_airflow(ir, options, "local"), "envflow")
        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        assert errors == {} and harness.run_dag_test(dag) == "success"
        assert Flow("EnvFlow", datastore=str(tmp_path)).latest_run["start"].task.data.seen == "from --env"

    @pytest.mark.parametrize("given, message", [
        ({"operator": "local", "secret": ["x"]}, "--secret: for pods, which --operator local does not start"),
        ({"env": ["X={{ ds }}"]}, "--env 'X={{ ds }}': Airflow would render the Jinja syntax in it; set it in the image"),
        ({"env": ["1X=y"]}, "--env '1X=y': write NAME=VALUE, NAME of letters, digits and _"),
        ({"run-timeout": "soon"}, "--run-timeout 'soon': give a positive number of seconds, or minutes/hours as 90m, 6h"),
        ({"max-workers": "0"}, "--max-workers '0': give a whole number above 0"),
        ({"secret": ["Creds"]}, "--secret 'Creds': a Kubernetes Secret's name (lowercase letters, digits, - and .)"),
    ])
    def test_a_wrong_option_is_an_error_naming_it(self, given, message):
        from flowship.compiler.targets import get_target

        compiled = get_target("airflow").compile(load_flow(str(EXAMPLES / "hello.py")), replace(OPTIONS, target_options=given))
        assert [p.message for p in compiled.errors] == [message]


class TestEnvironments:
    """@pypi steps through Airflow: each task in the environment the deployment locked, no index at run time."""

    def deploy_six_flow(self, tmp_path: Path, operator: str):
        from test_environments import write_flow

        from flowship.deploy import DeploySettings, build_deployment, upload_code

        flow = write_flow(tmp_path)
        ir = load_flow(str(flow))
        settings = DeploySettings("airflow", datastore=str(tmp_path / "store"), target_options={"operator": operator})
        build = build_deployment(str(flow), ir, settings)
        upload_code(build)
        dag, errors, serialization = harness.load_dag(build.compiled.text, f"six_{operator}")
        assert (errors, serialization) == ({}, None)
        return dag

    def test_dags_test_runs_each_step_in_its_environment(self, tmp_path, monkeypatch, environments_cache):
        from conftest import NO_INDEX
        from test_environments import PINNED, recorded_versions

        dag = self.deploy_six_flow(tmp_path, "local")
        for name, value in {**NO_INDEX, "FLOWSHIP_ENVIRONMENTS": str(tmp_path / "node"),
                            "FLOWSHIP_CACHE": str(tmp_path / "code")}.items():
            monkeypatch.setenv(name, value)
        assert harness.run_dag_test(dag) == "success"
        assert recorded_versions(tmp_path / "store") == PINNED

    def test_pods_install_from_the_store_only(self, tmp_path, environments_cache):
        from conftest import NO_INDEX
        from test_environments import PINNED, recorded_versions

        dag = self.deploy_six_flow(tmp_path, "kubernetes")
        node = {**NO_INDEX, "FLOWSHIP_ENVIRONMENTS": str(tmp_path / "node"), "FLOWSHIP_CACHE": str(tmp_path / "c")}
        harness.KubernetesDagRun(dag, "manual__2026-11-22T10:00:00+00:00", env=node).run()
        assert recorded_versions(tmp_path / "store") == PINNED
