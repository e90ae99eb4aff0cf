"""Configs: Metaflow's ``Config`` and ``config_expr`` (metaflow/user_configs/).

A config's value comes from ``--config NAME FILE`` or ``--config-value NAME VALUE``, else from its default file
(``default=``) or value (``default_value=``); the text is JSON unless ``parser=`` says otherwise. It is fixed
when the run starts (or the flow is deployed), the same in every task, readable in steps as ``self.<config>``
(a read-only ConfigValue) and usable in decorator and Parameter arguments (``config.cpu``,
``config_expr("...")``). Each test names the behaviour it matches.
"""

from __future__ import annotations

import importlib.util
import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from argo.runner import ArgoRunner
from test_evaluate import flow_cmd, line_of

from flowship.compiler.evaluate import EvaluationInputs
from flowship.compiler.targets.argo.manifest import compile_to_argo
from flowship.compiler.targets.shared import DeployOptions
from flowship.flowfile import check_flow_file, load_flow
from flowship.providers.storage import LocalStorage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package import build_package, upload_package

FLOW = '''
import os
from flowship import FlowSpec, Config, Parameter, config_expr, environment, resources, step


class ConfigFlow(FlowSpec):
    config = Config("config", default="config.json")
    depth = Parameter("depth", default=config.model.depth)

    @resources(cpu=config.cpu)
    @environment(vars={"MODE": config_expr("config.mode.upper()")})
    @step
    def start(self):
        self.seen = [self.config.mode, self.config["model"]["depth"], os.environ["MODE"], self.depth]
        self.next(self.train)

    @step
    def train(self):
        self.seen_in_train = self.config.model.depth
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ConfigFlow()
'''
VALUE = {"cpu": 2, "mode": "fast", "model": {"depth": 4}}


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def config_flow(folder: Path, value: dict | None = VALUE) -> Path:
    path = folder / "config_flow.py"
    path.write_text(FLOW)
    if value is not None:
        (folder / "config.json").write_text(json.dumps(value))
    return path


class TestValues:
    def test_default_file_is_read_from_the_current_folder(self, tmp_path, monkeypatch):
        """Config(default="config.json"): Metaflow opens the path as given, from the current folder."""
        monkeypatch.chdir(tmp_path)
        ir = load_flow(str(config_flow(tmp_path)))
        assert [(c.name, c.attr, c.value) for c in ir.configs] == [("config", "config", VALUE)]
        assert ir.step("start").decorators.resources.cpu_millicores == 2000
        assert (ir.step("start").decorators.environment, ir.parameters[0].default) == ({"MODE": "FAST"}, 4)

    def test_config_value_on_the_command_line_wins_over_the_default(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        given = {"cpu": 0.5, "mode": "slow", "model": {"depth": 9}}
        ir = load_flow(str(config_flow(tmp_path)), EvaluationInputs(config_values={"config": json.dumps(given)}))
        assert (ir.configs[0].value, ir.step("start").decorators.resources.cpu_millicores) == (given, 500)

    def test_default_value_and_a_parser(self, tmp_path):
        """default_value= is the text (or dict) itself; parser= turns text into a mapping instead of JSON."""
        path = tmp_path / "flow.py"
        path.write_text(
            FLOW.replace('Config("config", default="config.json")', 'Config("config", default_value="cpu=3,mode=x"'
                         ", parser=pairs)").replace(
                "class ConfigFlow",
                "def pairs(text):\n    return dict(p.split('=') for p in text.split(','))\n\n\nclass ConfigFlow",
            ).replace("default=config.model.depth", "default=config_expr('int(config.cpu) + 1')")
        )  # fmt: skip
        ir = load_flow(str(path))
        assert ir.configs[0].value == {"cpu": "3", "mode": "x"}
        assert (ir.step("start").decorators.resources.cpu_millicores, ir.parameters[0].default) == (3000, 4)

    def test_flow_check_says_it_evaluated_the_configs(self, tmp_path):
        path = config_flow(tmp_path)
        result = flow_cmd("check", path.name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == (
            "config_flow.py: imported the flow module to evaluate: @resources of step 'start' cpu=config.cpu "
            f"(line 10); @environment of step 'start' vars={{\"MODE\": config_expr(\"config.mode.upper()\")}} "
            "(line 11); Parameter 'depth' default=config.model.depth (line 8); config 'config'"
        )


class TestRuns:
    def test_run_with_config_value_in_steps_and_decorators(self, tmp_path):
        """--config-value: every task sees the value fixed at run start, and it is recorded with the run."""
        path = config_flow(tmp_path)
        given = {"cpu": 1, "mode": "slow", "model": {"depth": 7}}
        store = tmp_path / "store"
        result = flow_cmd("run", path.name, "--config-value", "config", json.dumps(given), "--datastore", str(store),
                          cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        run = Flow("ConfigFlow", datastore=str(store)).latest_run
        assert run["start"].task.data.seen == ["slow", 7, "SLOW", 7]
        assert run["train"].task.data.seen_in_train == 7
        assert run.data.config == given
        record = FlowDatastore(LocalStorage(str(store)), "ConfigFlow").read_run(run.id)
        assert record["ir"]["configs"] == [{"name": "config", "attr": "config", "value": given, "plain": False}]

    def test_a_config_from_a_file(self, tmp_path):
        path = config_flow(tmp_path)
        other = tmp_path / "prod.json"
        other.write_text(json.dumps({"cpu": 4, "mode": "prod", "model": {"depth": 1}}))
        store = tmp_path / "store"
        result = flow_cmd("run", path.name, "--config", "config", str(other), "--datastore", str(store), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert Flow("ConfigFlow", datastore=str(store)).latest_run["start"].task.data.seen == ["prod", 1, "PROD", 1]

    def test_resume_keeps_the_configs_of_the_run_it_resumes(self, tmp_path):
        """Metaflow: configs cannot be given to resume; the resumed run has its origin's."""
        path = config_flow(tmp_path)
        store = tmp_path / "store"
        given = json.dumps({"cpu": 1, "mode": "origin", "model": {"depth": 2}})
        first = flow_cmd("run", path.name, "--config-value", "config", given, "--datastore", str(store), cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        resumed = flow_cmd("resume", path.name, "--datastore", str(store), cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert Flow("ConfigFlow", datastore=str(store)).latest_run.data.config["mode"] == "origin"
        refused = flow_cmd("resume", path.name, "--config-value", "config", given, "--datastore", str(store),
                           cwd=tmp_path)  # fmt: skip
        assert refused.stderr == (
            "error: flow resume takes no --config or --config-value: a resumed run keeps its origin's configs\n"
        )

    def test_deployed_run_uses_the_config_given_at_compile_in_every_task(self, tmp_path):
        """Configs are fixed at deploy: the pods never read the file, and the manifest carries the decorator value."""
        path = config_flow(tmp_path, value=None)
        given = tmp_path / "deploy-config.json"
        given.write_text(json.dumps({"cpu": 3, "mode": "deployed", "model": {"depth": 5}}))
        ir = load_flow(str(path), EvaluationInputs(config_files={"config": str(given)}, deploy_time=True))
        given.unlink()
        store = tmp_path / "store"
        package = build_package(str(path))
        upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
        options = DeployOptions(datastore=str(store), package_sha=package.sha, flow_path=package.flow_path,
                                image="unused")  # fmt: skip
        template = compile_to_argo(ir, options)[0]
        start = next(t for t in template["spec"]["templates"] if t["name"] == "start")
        assert start["container"]["resources"]["requests"]["cpu"] == "3"
        ArgoRunner(template, "wf-c", env={"FLOWSHIP_CACHE": str(store / "cache")}).run()
        run = Flow("ConfigFlow", datastore=str(store))["argo-ml.wf-c"]
        assert run["start"].task.data.seen == ["deployed", 5, "DEPLOYED", 5]
        assert run["train"].task.data.seen_in_train == 5
        assert yaml.safe_dump(template).count("--evaluated-base64=") == 1  # only the start task is given it


class TestInvalid:
    @pytest.mark.parametrize(
        ("inputs", "message"),
        [
            (EvaluationInputs(), "evaluating config config: default configuration file 'config.json' could not be "
                                 "read for 'config'"),
            (EvaluationInputs(config_values={"config": "[1, 2]"}), "evaluating config config: config 'config': the "
             "value is a list, not a mapping (a JSON object); give an object, or declare the Config with plain=True"),
            (EvaluationInputs(config_values={"config": "{nope"}), "evaluating config config: config 'config': the "
             "value is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
            (EvaluationInputs(config_values={"cnofig": "{}", "config": "{}"}), "--config cnofig: the flow has no "
             "config 'cnofig'"),
        ],
        ids=["missing default file", "not a mapping", "not json", "unknown name"],
    )  # fmt: skip
    def test_bad_values(self, tmp_path, monkeypatch, inputs, message):
        """Metaflow's ConfigInput.process_configs refuses these before anything runs."""
        monkeypatch.chdir(tmp_path)
        path = config_flow(tmp_path, value=None)
        problems = check_flow_file(str(path), inputs).problems
        assert message in [p.message for p in problems]

    def test_flow_mutators_are_refused_at_their_line(self, tmp_path):
        """Metaflow's FlowMutator rewrites the flow in code; flowship reads it from the source, so it refuses."""
        path = config_flow(tmp_path)
        path.write_text(
            FLOW.replace("class ConfigFlow", "from flowship import FlowMutator\n\n\nclass Mutate(FlowMutator):\n"
                         "    pass\n\n\n@Mutate\nclass ConfigFlow")
        )
        problems = [str(p) for p in check_flow_file(str(path)).problems]
        assert problems == [
            f"{path}:{line_of(path, 'import FlowMutator')}: `from flowship import FlowMutator`: flowship has no "
            "'FlowMutator' — mutators are not supported; write the decorators on the flow",
            f"{path}:{line_of(path, '@Mutate')}: @Mutate is not a decorator flowship supports on a flow — remove it, "
            "or use one of: @schedule, @project, @pypi_base, @conda_base, @trigger, @trigger_on_finish",
        ]

    def test_unpacking_a_config_into_a_decorator_is_refused(self, tmp_path):
        """Metaflow allows @resources(**config.res); flowship reads arguments by name, so it says so."""
        path = config_flow(tmp_path)
        path.write_text(FLOW.replace("@resources(cpu=config.cpu)", "@resources(**config.res)"))
        (problem,) = check_flow_file(str(path)).problems
        assert str(problem) == (
            f"{path}:{line_of(path, '@resources')}: `**` in decorator arguments is not supported (flowship reads "
            "each argument by its name) — write each argument, e.g. @resources(cpu=config.cpu, memory=config.memory)"
        )

    def test_a_config_is_read_only_in_a_step(self, tmp_path):
        """ConfigValue is immutable (Metaflow raises TypeError on assignment)."""
        from flowship.configs import ConfigValue

        value = ConfigValue({"a": {"b": 1}})
        with pytest.raises(TypeError, match="a config is read-only"):
            value.a.b = 2
        assert (value.a.b, value["a"]["b"], value.to_dict()) == (1, 1, {"a": {"b": 1}})


def test_options_only_for_flows_with_configs(tmp_path):
    """A flow without configs keeps a parameter named config (Metaflow's --config is not a run option there)."""
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent('''
        from flowship import FlowSpec, Parameter, step

        class PlainFlow(FlowSpec):
            config = Parameter("config", default="x")

            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass
    '''))  # fmt: skip
    result = flow_cmd("run", str(path), "--config", "y", "--datastore", str(tmp_path / "store"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.path.isdir(tmp_path / "store")


def test_a_deployed_airflow_run_uses_the_config_given_at_compile(tmp_path, monkeypatch):
    """As on Argo: the DAG's start task carries the values fixed at compile (Airflow renders none of it)."""
    if importlib.util.find_spec("airflow") is None:
        pytest.skip("the Airflow tests need apache-airflow (pip install 'flowship[airflow]')")
    import airflow_harness as harness  # sets AIRFLOW_HOME before airflow is imported

    from flowship.compiler.targets.airflow.dagfile import compile_to_airflow

    monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
    path = config_flow(tmp_path, value=None)
    given = {"cpu": 1, "mode": "{{ ds }}", "model": {"depth": 6}}  # text Jinja would render, if it saw it
    ir = load_flow(str(path), EvaluationInputs(config_values={"config": json.dumps(given)}, deploy_time=True))
    package = build_package(str(path))
    upload_package(FlowDatastore(LocalStorage(str(tmp_path)), ir.name), package)
    options = DeployOptions(datastore=str(tmp_path), package_sha=package.sha, flow_path=package.flow_path,
                            image="flowship:test")  # fmt: skip
    dag, errors, serialization = harness.load_dag(compile_to_airflow(ir, options, "local"), ir.name)
    assert (errors, serialization) == ({}, None)
    assert harness.run_dag_test(dag) == "success"
    run = Flow(dag.dag_id, datastore=str(tmp_path)).latest_run
    assert run["start"].task.data.seen == ["{{ ds }}", 6, "{{ DS }}", 6]
    assert run["train"].task.data.seen_in_train == 6
