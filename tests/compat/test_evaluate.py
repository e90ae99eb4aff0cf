"""Decorator and Parameter arguments that are not literals: flowship imports the flow module, as Metaflow does.

Metaflow imports the flow file, so any Python expression works as an argument: its tutorials write
``IncludeFile("movie_data", default=script_path("movies.csv"))`` with a helper defined in the file, flows build
``@environment(vars=...)`` with f-strings, and a function as a Parameter default is a deploy-time field
(metaflow/parameters.py: ``DeployTimeField``, ``ParameterContext``). Each test names the behaviour it matches.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from argo.runner import ArgoRunner
from conftest import REPO

from flowship.compiler.evaluate import EvaluationInputs
from flowship.compiler.targets.argo.manifest import compile_to_argo
from flowship.compiler.targets.shared import DeployOptions
from flowship.flowfile import check_flow_file, load_flow
from flowship.providers.storage import LocalStorage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package import build_package, upload_package

TAIL = '''
    @step
    def end(self):
        pass


if __name__ == "__main__":
    {name}()
'''


def write_flow(folder: Path, body: str, name: str = "EvalFlow", head: str = "") -> Path:
    """A flow file ``flow.py`` in ``folder``: imports, ``head`` (module level), the class ``body``, an end step."""
    source = "import os\nfrom flowship import *\n" + textwrap.dedent(head) + f"\n\nclass {name}(FlowSpec):\n"
    source += textwrap.indent(textwrap.dedent(body), "    ") + TAIL.format(name=name)
    path = folder / "flow.py"
    path.write_text(source)
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def flow_cmd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowship", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


START = """
@step
def start(self):
    self.next(self.end)
"""


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


class TestLiteralFastPath:
    def test_a_flow_of_literals_is_never_imported(self, tmp_path):
        """flowship's own rule (Metaflow always imports): literal arguments are read from the source alone."""
        marker = tmp_path / "imported"
        path = write_flow(tmp_path, 'n = Parameter("n", default=3)\n' + START, head=f"open({str(marker)!r}, 'w')")
        result = check_flow_file(str(path))
        assert result.ir is not None and result.ir.parameters[0].default == 3
        assert (result.evaluated, marker.exists()) == ((), False)


class TestScriptPath:
    """Metaflow's tutorial 'Episode 01 playlist': IncludeFile default from a helper defined in the flow file."""

    BODY = """
    movie_data = IncludeFile("movie_data", help="The path to a movie metadata file.", default=script_path("movies.csv"))

    @step
    def start(self):
        self.first = self.movie_data.splitlines()[1]
        self.next(self.end)
    """
    HEAD = '''
    def script_path(filename):
        """A path relative to this file, so the flow runs from any folder (as in Metaflow's tutorials)."""
        return os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
    '''

    def test_check_evaluates_the_default_and_says_so(self, tmp_path):
        path = write_flow(tmp_path, self.BODY, head=self.HEAD)
        (tmp_path / "movies.csv").write_text("title,genre\nAlien,sci-fi\n")
        result = flow_cmd("check", str(path), cwd=REPO)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[0] == (
            f"{path}: imported the flow module to evaluate: IncludeFile 'movie_data' "
            f'default=script_path("movies.csv") (line {line_of(path, "IncludeFile")})'
        )
        assert load_flow(str(path)).parameters[0].default == str(tmp_path / "movies.csv")

    def test_run_from_another_folder_reads_the_file(self, tmp_path):
        path = write_flow(tmp_path, self.BODY, head=self.HEAD)
        (tmp_path / "movies.csv").write_text("title,genre\nAlien,sci-fi\n")
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        result = flow_cmd("run", str(path), "--datastore", str(tmp_path / "store"), cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        assert Flow("EvalFlow", datastore=str(tmp_path / "store")).latest_run.data.first == "Alien,sci-fi"


class TestExpressions:
    def test_f_string_environment_vars(self, tmp_path):
        """@environment(vars={"V": f"...{os.getenv('X')}"}): the value Metaflow's import computes, on this machine."""
        body = """
        @environment(vars={"GREETING": f"hello-{os.getenv('EVAL_TEST_WHO')}", "N": 2 ** 3})
        @step
        def start(self):
            self.seen = (os.environ["GREETING"], os.environ["N"])
            self.next(self.end)
        """
        path = write_flow(tmp_path, body)
        result = flow_cmd(
            "run", str(path), "--datastore", str(tmp_path / "store"), cwd=tmp_path, env={"EVAL_TEST_WHO": "ana"}
        )
        assert result.returncode == 0, result.stderr
        assert Flow("EvalFlow", datastore=str(tmp_path / "store")).latest_run.data.seen == ("hello-ana", "8")

    def test_a_module_beside_the_flow_is_importable(self, tmp_path):
        """A flow imports modules from its own folder, as `python flow.py` does, whatever the current folder."""
        (tmp_path / "settings.py").write_text("RETRIES = 2\n")
        path = write_flow(tmp_path, "@retry(times=settings.RETRIES)" + START, head="import settings")
        ir = load_flow(str(path))
        assert ir.step("start").decorators.retry.times == 2

    def test_the_main_block_does_not_run(self, tmp_path):
        """Importing the module (not running it as __main__) never starts the flow, as Metaflow's import does."""
        marker = tmp_path / "ran"
        path = write_flow(tmp_path, "n = Parameter('n', default=int('3'))" + START)
        path.write_text(path.read_text() + f"    open({str(marker)!r}, 'w')\n")
        assert load_flow(str(path)).parameters[0].default == 3
        assert not marker.exists()

    def test_a_flow_created_at_import_is_an_error_at_its_line(self, tmp_path):
        path = write_flow(tmp_path, "n = Parameter('n', default=int('3'))" + START)
        path.write_text(path.read_text() + "EvalFlow()\n")
        (problem,) = check_flow_file(str(path)).problems
        assert (problem.line, problem.message.split(" (traceback")[0]) == (
            len(path.read_text().splitlines()),  # the unguarded EvalFlow() on the last line
            "importing "
            f"{path} to evaluate Parameter 'n' failed: the flow file creates EvalFlow() when it is imported; "
            'put it under `if __name__ == "__main__":`',
        )

    def test_a_value_json_cannot_hold_is_a_problem(self, tmp_path):
        path = write_flow(tmp_path, "@environment(vars={'D': datetime.date(2020, 1, 2)})" + START, head="import datetime")
        (problem,) = check_flow_file(str(path)).problems
        assert str(problem) == (
            f"{path}:{line_of(path, '@environment')}: evaluating @environment of step 'start': 'vars' is "
            "datetime.date(2020, 1, 2) (a date), which JSON cannot hold — give a string, a number, True/False, None, "
            "or a list or dict of those"
        )


class TestImportFailures:
    def test_an_import_error_points_at_the_users_line(self, tmp_path):
        """What Metaflow shows as the traceback of `python flow.py`: the user's frames, not flowship's."""
        (tmp_path / "lookup.py").write_text('def load(name):\n    return {"a": 1}[name]\n')
        path = write_flow(tmp_path, "n = Parameter('n', default=X)" + START, head='from lookup import load\nX = load("b")')
        (problem,) = check_flow_file(str(path)).problems
        assert problem.line == line_of(path, 'X = load("b")')
        assert problem.message == (
            f"importing {path} to evaluate Parameter 'n' failed: KeyError: 'b' (traceback, innermost last: "
            f"{os.path.relpath(path)}:{problem.line} in <module>: X = load(\"b\"); "
            f"{os.path.relpath(tmp_path / 'lookup.py')}:2 in load: return {{\"a\": 1}}[name])"
        )
        assert "flowship" not in problem.message.replace(str(tmp_path), "")

    def test_a_slow_import_times_out_and_says_how_to_allow_more(self, tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_EVALUATE_TIMEOUT", "1")
        path = write_flow(tmp_path, "n = Parameter('n', default=int('3'))" + START, head="import time\ntime.sleep(60)")
        started = time.monotonic()
        (problem,) = check_flow_file(str(path)).problems
        assert time.monotonic() - started < 20
        assert str(problem) == (
            f"{path}:{line_of(path, 'class EvalFlow')}: importing {path} to evaluate Parameter 'n' did not finish "
            "within 1 s — keep the module's top level quick (do the work in steps), or allow more time: "
            "FLOWSHIP_EVALUATE_TIMEOUT=SECONDS (default 60)"
        )


class TestDeployTimeDefaults:
    """A function as a Parameter default: Metaflow's DeployTimeField, called with a ParameterContext."""

    BODY = """
    who = Parameter("who", default=lambda ctx: f"{ctx.flow_name}/{ctx.parameter_name}/{ctx.user_name}/{ctx.ds_type}")
    size = Parameter("size", type=int, default=lambda ctx: len(ctx.user_name))

    @step
    def start(self):
        self.seen = (self.who, self.size)
        self.next(self.end)
    """

    def test_evaluated_when_the_run_starts(self, tmp_path):
        path = write_flow(tmp_path, self.BODY)
        store = tmp_path / "store"
        result = flow_cmd("run", str(path), "--datastore", str(store), cwd=tmp_path, env={"FLOWSHIP_USER": "alice"})
        assert result.returncode == 0, result.stderr
        run = Flow("EvalFlow", datastore=str(store)).latest_run
        assert run.data.seen == ("EvalFlow/who/alice/local", 5)

    def test_compile_records_the_evaluated_value_in_the_output(self, tmp_path):
        path = write_flow(tmp_path, self.BODY)
        result = flow_cmd(
            "compile", str(path), "--target", "argo", "--image", "img:1", "--no-upload",
            "--datastore", "s3://bucket/flows", cwd=tmp_path, env={"FLOWSHIP_USER": "bob"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        template = next(yaml.safe_load_all(result.stdout))
        assert template["spec"]["arguments"]["parameters"] == [
            {"name": "who", "value": "EvalFlow/who/bob/s3"},
            {"name": "size", "value": "3"},
        ]

    def test_a_json_default_may_be_data_at_deploy_time_but_must_be_text_at_run_time(self, tmp_path):
        """DeployTimeField._check_type: a JSONType field's function may return data only when deploying."""
        body = 'cfg = Parameter("cfg", type=JSONType, default=lambda ctx: {"k": [1, 2]})' + START
        path = write_flow(tmp_path, body)
        assert load_flow(str(path), EvaluationInputs(deploy_time=True)).parameters[0].default == {"k": [1, 2]}
        (problem,) = check_flow_file(str(path)).problems
        assert problem.message == (
            "evaluating Parameter 'cfg': the value returned by the deploy-time function for parameter 'cfg' "
            "field 'default' is {'k': [1, 2]}: expected a string"
        )

    def test_the_value_must_have_the_declared_type(self, tmp_path):
        path = write_flow(tmp_path, 'n = Parameter("n", type=int, default=lambda ctx: "3")' + START)
        (problem,) = check_flow_file(str(path)).problems
        assert str(problem) == (
            f"{path}:{line_of(path, 'Parameter(')}: evaluating Parameter 'n': the value returned by the deploy-time "
            "function for parameter 'n' field 'default' is '3': expected a int — return a str (it is converted with "
            "the parameter's type), or the exact type given as type="
        )

    def test_a_function_taking_deploy_time_is_told_which(self, tmp_path):
        """Metaflow calls fun(ctx, deploy_time) when the function takes both (IncludeFile's functions do)."""
        path = write_flow(tmp_path, 'when = Parameter("when", default=lambda ctx, deploying: str(deploying))' + START)
        assert load_flow(str(path)).parameters[0].default == "False"
        assert load_flow(str(path), EvaluationInputs(deploy_time=True)).parameters[0].default == "True"


def deploy_and_run(path: Path, store: Path, inputs: EvaluationInputs, name: str) -> Flow:
    """Compile ``path`` for Argo as ``flow deploy`` does and run it in the tests' Argo runner; the run's Flow."""
    ir = load_flow(str(path), inputs)
    package = build_package(str(path))
    upload_package(FlowDatastore(LocalStorage(str(store)), ir.name), package)
    options = DeployOptions(datastore=str(store), package_sha=package.sha, flow_path=package.flow_path, image="unused")
    ArgoRunner(compile_to_argo(ir, options)[0], name, env={"FLOWSHIP_CACHE": str(store / "cache")}).run()
    return Flow(ir.name, datastore=str(store))


def test_a_deployed_run_uses_the_values_evaluated_at_deploy(tmp_path, monkeypatch):
    """Metaflow evaluates decorator arguments when it deploys (argo-workflows create); the pods do not re-evaluate
    them: here the pod lacks the variable the deploying machine had."""
    body = """
    @environment(vars={"WHO": os.getenv("EVAL_TEST_DEPLOYER", "the pod")})
    @step
    def start(self):
        self.who = os.environ["WHO"]
        self.next(self.end)
    """
    path = write_flow(tmp_path, body)
    monkeypatch.setenv("EVAL_TEST_DEPLOYER", "ci")
    flow = deploy_and_run(path, tmp_path / "store", EvaluationInputs(deploy_time=True), "wf-e")
    assert flow["argo-ml.wf-e"].data.who == "ci"


def test_an_evaluated_tuple_is_a_list_as_a_literal_one_is(tmp_path):
    """The values come back as JSON data: a tuple arrives as a list, which every list argument accepts."""
    path = write_flow(tmp_path, '@secrets(sources=tuple(f"db-{n}" for n in ("a", "b")))' + START)
    assert load_flow(str(path)).step("start").decorators.secrets == ("db-a", "db-b")


class TestParametersMadeByCode:
    """Metaflow finds Parameters by looking at the class (``_get_parameters`` walks ``dir(cls)``), so a helper
    that returns them works: ``param_a, param_b = parameterize_flow()`` (Outerbounds' guide to reusing
    parameters across flows)."""

    HELPER = """
        from flowship import Parameter

        def parameterize_flow():
            return Parameter("a", default=11), Parameter("b", default=77, help="made by a helper")
    """
    BODY = """
    param_a, param_b = parameterize_flow()
    LABELS = sorted({"y", "x"})

    @step
    def start(self):
        self.seen = (self.param_a, self.param_b, self.LABELS)
        self.next(self.end)
    """

    def flow(self, folder: Path) -> Path:
        (folder / "shared_params.py").write_text(textwrap.dedent(self.HELPER))
        return write_flow(folder, self.BODY, head="from shared_params import parameterize_flow")

    def test_check_declares_them_and_says_so(self, tmp_path):
        result = check_flow_file(str(self.flow(tmp_path)))
        assert [(p.name, p.attr, p.default, p.help) for p in result.ir.parameters] == [
            ("a", "param_a", 11, ""), ("b", "param_b", 77, "made by a helper")]
        assert result.evaluated == ("Parameter 'param_a' made by code (line 7)", "Parameter 'param_b' made by code (line 7)")

    def test_run_and_deployed_run(self, tmp_path):
        path = self.flow(tmp_path)
        result = flow_cmd("run", str(path), "--a", "5", "--datastore", str(tmp_path / "local"), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert Flow("EvalFlow", datastore=str(tmp_path / "local")).latest_run.data.seen == (5, 77, ["x", "y"])
        flow = deploy_and_run(path, tmp_path / "store", EvaluationInputs(deploy_time=True), "wf-made")
        assert flow["argo-ml.wf-made"]["start"].task.data.seen == (11, 77, ["x", "y"])

    def test_a_module_that_cannot_be_imported_leaves_a_warning(self, tmp_path):
        """Computed class attributes need not be Parameters: an import failure is then no reason to refuse the flow."""
        path = write_flow(tmp_path, self.BODY, head="from shared_params import parameterize_flow")
        result = check_flow_file(str(path))
        assert result.ir is not None and [p.severity for p in result.problems] == ["warning"]
        assert "so flow check cannot tell whether LABELS, param_a, param_b (computed at class level) are Parameters" in (
            result.problems[0].message)
