"""Metaflow semantics a flow relies on: each test names the Metaflow behaviour it matches.

The front-end cases state input -> outcome in one line each; the execution cases run one fixture flow,
``flows/semantics.py``, locally, through the Argo runner and in a real Airflow, and read the same artifacts.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import HEADER, REPO, check, two_step_flow

from flowship.compiler import check_flow_source
from flowship.compiler.decospec import parse_decospec
from flowship.compiler.parse import RawCall
from flowship.errors import CaughtException, FlowshipError
from flowship.runtime.client import Flow, namespace
from flowship.runtime.runs import current_user

FIXTURE = Path(__file__).parent / "flows" / "semantics.py"


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def problems(source: str) -> list[str]:
    return [f"{p.severity}: {p.message}" for p in check(source).problems]


FOREACH = """
class F(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.next(self.join)

    @step
    def join(self, {name}):
        self.total = len({name})
        self.next(self.end)

    @step
    def end(self):
        pass
"""

READS = """
class F(FlowSpec):
    @step
    def start(self):
        {body}
        self.next(self.end)

    @step
    def end(self):
        pass
"""


class TestValid:
    @pytest.mark.parametrize("name", ["inputs", "branches", "models"])
    def test_a_join_argument_may_have_any_name(self, name):
        """Metaflow passes a join its inputs positionally: `def average_scores(self, models)` is a join."""
        result = check(FOREACH.format(name=name))
        assert result.ir is not None and result.ir.step("join").is_join

    def test_dashed_parameter_names(self):
        """Metaflow: Parameter('max-depth') is the option --max-depth; the step reads the attribute it is bound to."""
        (parameter,) = check(two_step_flow("    max_depth = Parameter('max-depth', default=3)")).ir.parameters
        assert (parameter.name, parameter.attr, parameter.default) == ("max-depth", "max_depth", 3)

    @pytest.mark.parametrize("declaration, expected", [
        ("Parameter('n', multiple=True, default=[1, 2])", ("int", [1, 2], True)),
        ("Parameter('n', multiple=True, type=float, default=[1])", ("float", [1.0], True)),
        ("Parameter('n', multiple=True)", ("str", None, True)),
        ("Parameter('val', default=2, multiple=True)", ("int", [2], True)),  # Outerbounds' guide writes this
        ("Parameter('t', multiple=True, default=[])", ("str", [], True)),
    ])
    def test_multiple_parameters(self, declaration, expected):
        """Metaflow passes multiple=True to click: the option is given once per value, the step gets a tuple."""
        (parameter,) = check(two_step_flow(f"    n = {declaration}")).ir.parameters
        assert (parameter.type, parameter.default, parameter.multiple) == expected

    @pytest.mark.parametrize("body, outcome", [
        ("x = self.maybe", ["error: step 'start' reads self.maybe, which is not assigned on every path from 'start'"]),
        ("try:\n            x = self.maybe\n        except AttributeError:\n            x = None",
         ["warning: step 'start' reads self.maybe, which is not assigned on every path from 'start'"]),
        ("try:\n            x = self.maybe\n        except (KeyError, Exception):\n            x = None",
         ["warning: step 'start' reads self.maybe, which is not assigned on every path from 'start'"]),
        ("try:\n            x = self.maybe\n        except KeyError:\n            x = None",
         ["error: step 'start' reads self.maybe, which is not assigned on every path from 'start'"]),
        ("x = self.maybe if hasattr(self, 'maybe') else None",
         ["warning: step 'start' reads self.maybe, which is not assigned on every path from 'start'"]),
    ])
    def test_guarded_reads_are_warnings(self, body, outcome):
        """Metaflow has no data-flow lint: a read guarded by try/except AttributeError or hasattr must not fail."""
        assert problems(READS.format(body=body)) == outcome

    def test_several_cards_on_one_step(self):
        """Metaflow allows several @card decorators on a step (one per id)."""
        source = two_step_flow(start_decorators="    @card(id='a')\n    @card(id='b')")
        assert check(source).ir is not None and problems(source) == []

    def test_a_schedule_with_every_preset_off_is_no_schedule(self):
        """Metaflow: @schedule(daily=False) with nothing else deploys no CronWorkflow (its _get_schedule)."""
        result = check(two_step_flow(class_decorators="@schedule(daily=False)"))
        assert result.ir is not None and result.ir.schedule is None
        assert problems(two_step_flow(class_decorators="@schedule(daily=False)")) == [
            "warning: @schedule chooses no schedule (every preset False, no cron): the flow is deployed "
            "unscheduled, as in Metaflow"
        ]

    @pytest.mark.parametrize("spec, call", [
        ("retry", RawCall("retry", 0)),
        ("retry:times=3,minutes_between_retries=0", RawCall("retry", 0, [], {"times": 3, "minutes_between_retries": 0})),
        ("environment:vars={\"A\": \"x,y\"}", RawCall("environment", 0, [], {"vars": {"A": "x,y"}})),
        ("resources:cpu=0.5,memory=512", RawCall("resources", 0, [], {"cpu": 0.5, "memory": 512})),
        ("card", RawCall("card", 0)),
    ])
    def test_with_specs_read_as_metaflow_reads_them(self, spec, call):
        """Metaflow's --with NAME:ARG=VALUE,...: values are JSON, else an int, else a float, else text."""
        assert parse_decospec(spec) == call

    def test_with_adds_a_decorator_only_where_the_step_has_none(self):
        """Metaflow attaches a --with decorator to steps that do not have it; a step's own decorator wins."""
        source = HEADER + textwrap.dedent(two_step_flow(start_decorators="    @retry(times=1)"))
        ir = check_flow_source(source, "flow.py", with_decorators=(parse_decospec("retry:times=4"),)).ir
        assert (ir.step("start").decorators.retry.times, ir.step("end").decorators.retry.times) == (1, 4)


class TestInvalid:
    @pytest.mark.parametrize("source, message", [
        (FOREACH.replace("@step\n    def start", "@catch(var='e')\n    @step\n    def start"),
         "error: @catch on step 'start', a foreach: a caught failure leaves no items to fan out to"),
        (FOREACH.format(name="inputs, more"), "error: step 'join' takes (self, inputs, more)"),
        (two_step_flow("    workers = Parameter('max-workers', default=2)"),
         "error: parameter name 'max-workers' is reserved by flowship"),
        (two_step_flow("    bad = Parameter('-depth', default=2)"), "error: parameter name '-depth' is invalid"),
        (two_step_flow().replace("@step\n    def start", "@step(start=True)\n    def start"),
         "error: @step(start=True) on step 'start': steps other than 'start' and 'end' cannot begin or end a flow "
         "in flowship"),
        (two_step_flow("    n = Parameter('n', multiple=True, separator=',')"),
         "error: parameter 'n': multiple=True and separator= both make a list"),
    ])
    def test_message(self, source, message):
        """Metaflow refuses @catch on a foreach step at start-up; flowship says so at check, with the line."""
        assert message in problems(source.replace("{name}", "inputs"))

    @pytest.mark.parametrize("spec, message", [
        ("retry:tims=3", "--with 'retry:tims=3': @retry has no argument 'tims' — use one of: times, minutes_between_retries"),
        ("retry:times", "--with 'retry:times': 'times' is not NAME=VALUE, e.g. retry:times=3"),
        ("batch", "--with 'batch': use a step decorator: resources, retry, timeout, catch, environment, kubernetes, secrets, parallel, card, pypi, conda"),
        ("retry:times=-1", "--with 'retry:times=-1': @retry: times must be zero or more, got -1 — fix the argument"),
    ])
    def test_with_spec(self, spec, message):
        with pytest.raises(FlowshipError) as caught:
            parse_decospec(spec)
        assert str(caught.value) == message


def test_caught_exception_pickles_as_metaflow_wrapper_does():
    """Metaflow's MetaflowExceptionWrapper keeps .exception, .type and .stacktrace and survives pickling."""
    try:
        1 / 0
    except ZeroDivisionError as exc:
        wrapped = CaughtException(exc)
    back = pickle.loads(pickle.dumps(wrapped))
    assert (back.exception, back.type) == ("division by zero", "builtins.ZeroDivisionError")
    assert back.stacktrace.endswith("ZeroDivisionError: division by zero\n") and str(back) == back.stacktrace


def assert_semantics(run, *, depth: int, local: bool, sizes: tuple = (1, 2)) -> None:
    """What Metaflow gives for the fixture: @catch None/wrapper, constants and parameters in every task."""
    assert [card.type for card in run["start"].task.cards] == ["default"]  # @card, rendered by every scheduler
    join = run["join"].task.data
    assert join.outcomes == {"fine": (True, None), "broken": (False, "builtins.ZeroDivisionError")}
    assert join.message == "division by zero" and join.threshold_in_join == 0.75
    end = run["end"].task.data
    assert (end.THRESHOLD, end.LABELS, end.max_depth) == (0.75, ("a", "b"), depth)
    assert run["start"].task.data.earlier is None and run["start"].task.data.depth_seen == depth
    assert run["start"].task.data.sizes_seen == sizes  # Metaflow's multiple=True: a tuple
    assert run["broken"].task.data.value == 2 and run["fine"].task.data.failure is None
    project, branch, production = end.where
    assert (project, production) == ("compat", False)
    if local:
        assert branch == f"user.{current_user()}"  # Metaflow's branch of a run outside any deployment


class TestExecution:
    def test_local_run(self, tmp_path):
        result = subprocess.run(
            [sys.executable, str(FIXTURE), "--with", "retry:times=0", "--no-pylint", "run", "--max-depth", "5", "--sizes", "7", "--sizes", "8",
             "--datastore", str(tmp_path), "--max-num-splits", "10"],
            cwd=REPO, capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr
        run = Flow("SemanticsFlow", datastore=str(tmp_path)).latest_run
        assert_semantics(run, depth=5, local=True, sizes=(7, 8))
        assert run["broken"].task.stderr.startswith("@catch caught an exception from SemanticsFlow/broken\n")
        assert "flowship" not in run["broken"].task.data.failure.stacktrace.split("semantics.py")[0]

    def test_argo(self, tmp_path):
        from test_argo import deploy_and_run

        deploy_and_run(FIXTURE, tmp_path, "wf-sem", {"max-depth": "4", "sizes": "[3, 4]"})
        run = Flow("SemanticsFlow", datastore=str(tmp_path))["argo-ml.wf-sem"]
        assert_semantics(run, depth=4, local=False, sizes=(3, 4))

    def test_airflow(self, tmp_path, monkeypatch):
        import airflow_harness as harness
        from test_airflow import deploy

        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(FIXTURE, tmp_path, "local")
        assert harness.run_dag_test(dag, {"max-depth": 6, "sizes": [5]}) == "success"
        assert_semantics(Flow("SemanticsFlow", datastore=str(tmp_path)).latest_run, depth=6, local=False, sizes=(5,))


def test_foreach_wider_than_max_num_splits_fails_before_fanning_out(tmp_path):
    """Metaflow's run --max-num-splits N: a foreach with more items fails in its split step."""
    flow = tmp_path / "wide.py"
    flow.write_text(FOREACH.format(name="inputs").replace("class F", "from flowship import *\n\nclass F"))
    result = subprocess.run([sys.executable, "-m", "flowship", "run", str(flow), "--datastore", str(tmp_path / "s"),
                             "--max-num-splits", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    start = Flow("F", datastore=str(tmp_path / "s")).latest_run["start"].task
    assert "has 2 items, more than the 1 its scheduler fans out to (flow run: --max-num-splits" in start.exception


@pytest.mark.parametrize("text, value", [('["3", "4"]', [3, 4]), ("[5]", [5]), ("[]", [])])
def test_multiple_values_travel_as_a_json_list(text, value):
    """The values of a multiple parameter cross schedulers as one JSON list and read back typed."""
    from flowship.param_codec import format_text, parse_text

    (parameter,) = check(two_step_flow("    n = Parameter('n', multiple=True, type=int)")).ir.parameters
    assert parse_text(parameter, text) == value and parse_text(parameter, format_text(parameter, value)) == value


@pytest.mark.parametrize("text, message", [
    ("3", "--n: '3' is not a JSON list (the option was given several times)"),
    ('["x"]', "--n: 'x' is not a valid int (invalid literal for int() with base 10: 'x')"),
    ("[1.5]", "--n: '1.5' is not a valid int (invalid literal for int() with base 10: '1.5')"),
])
def test_multiple_values_checked(text, message):
    from flowship.errors import ParameterError
    from flowship.param_codec import parse_text

    (parameter,) = check(two_step_flow("    n = Parameter('n', multiple=True, type=int)")).ir.parameters
    with pytest.raises(ParameterError) as caught:
        parse_text(parameter, text)
    assert str(caught.value) == message


def test_an_argument_flowship_does_not_take_is_named_even_when_the_module_is_imported(tmp_path):
    """Metaflow hands a Parameter's other keywords to click (external_trigger=, ...): the import that evaluates
    the flow must not fail on one before flow check can name it."""
    from flowship.flowfile import check_flow_file

    flow = tmp_path / "flow.py"
    flow.write_text(HEADER + "import os\n\n" + textwrap.dedent(two_step_flow(
        "    x = Parameter('x', default=1, external_trigger=True)",
        class_decorators="@project(name=os.environ.get('NO_SUCH_VARIABLE', 'demo'))")))
    assert [p.message for p in check_flow_file(str(flow)).problems if p.is_error] == [
        "Parameter 'x' has unknown argument(s) external_trigger"]


def test_a_multiple_parameter_not_given_is_an_empty_tuple():
    """click gives a multiple option that was not given as an empty tuple."""
    from flowship.param_codec import resolve_values

    parameters = check(two_step_flow("    t = Parameter('t', multiple=True)\n    u = Parameter('u', multiple=True, "
                                     "default=[])")).ir.parameters
    assert resolve_values(parameters, {}) == {"t": (), "u": ()}


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_metaflows_datastore_kinds_are_refused_with_what_flowship_takes(kind, tmp_path):
    result = subprocess.run([sys.executable, "-m", "flowship", "run", str(FIXTURE), "--datastore", kind],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.splitlines()[-1]) == (1, (
        f"error: --datastore {kind}: give where runs are stored — a folder, or s3://bucket/prefix (Metaflow's "
        "--datastore names a kind of store; flowship's names the store itself)"))
    assert not (tmp_path / kind).exists()
