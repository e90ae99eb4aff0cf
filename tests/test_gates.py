"""The gate and alert expression language (flowship/expressions.py), gates against a real store, in-flow gates at check."""

from __future__ import annotations

import os
import time

import pytest

from conftest import check, two_step_flow
from flowship.expressions import ExpressionError, UnknownName, evaluate, parse_expression
from flowship.providers.storage import LocalStorage
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.gates import artifact_lookup, check_gates
from flowship.runtime.promotions import record_promotion

VALUES = {"accuracy": 0.95, "production.accuracy": 0.94, "rows": 2000, "drift_alarm": False, "name": "lr",
          "scores": [0.9, 0.95], "production.name": "lr"}


def run(text: str, values: dict | None = None):
    return evaluate(parse_expression(text), (values or VALUES).__getitem__)


class TestValidExpressions:
    @pytest.mark.parametrize("text, expected", [
        ("accuracy >= production.accuracy - 0.01", True),
        ("rows > 1000 and not drift_alarm", True),
        ("0.9 < accuracy <= 1", True),
        ("0.96 < accuracy <= 1", False),
        ("abs(accuracy - production.accuracy) < 0.02", True),
        ("max(scores) == accuracy", True),
        ("min(accuracy, production.accuracy) == 0.94", True),
        ("len(scores) == 2 and len(name) == 2", True),
        ("name == production.name", True),
        ("name < 'z'", True),
        ("-accuracy < 0 or drift_alarm", True),
        ("rows / 4 * 2 + 1 == 1001", True),
        ("drift_alarm or rows < 10", False),
    ])
    def test_evaluates_as_python_would(self, text, expected):
        assert run(text)[0] is expected

    def test_reports_every_value_it_read_in_order(self):
        value, read = run("accuracy >= production.accuracy - 0.01 and rows > 1000")
        assert value is True and read == {"accuracy": 0.95, "production.accuracy": 0.94, "rows": 2000}
        assert parse_expression(" accuracy > production.accuracy ").names == ("accuracy", "production.accuracy")

    def test_numpy_numbers_are_numbers(self):
        numpy = pytest.importorskip("numpy")
        assert run("accuracy > 0.5 and rows > 3", {"accuracy": numpy.float64(0.9), "rows": numpy.int64(5)})[0]


class TestRefused:
    @pytest.mark.parametrize("text, message", [
        ("__import__('os').system('touch /tmp/x')",
         'gate "__import__(\'os\').system(\'touch /tmp/x\')": only abs, min, max, len can be called at column 1: '
         "__import__('os').system('touch /tmp/x')"),
        ("accuracy.__class__", 'gate "accuracy.__class__": attribute access: only production.NAME is allowed at '
                               "column 1: accuracy.__class__"),
        ("production.__dict__", 'gate "production.__dict__": this name cannot be read at column 1: production.__dict__'),
        ("__builtins__", 'gate "__builtins__": this name cannot be read at column 1: __builtins__'),
        ("(lambda: 1)()", 'gate "(lambda: 1)()": only abs, min, max, len can be called at column 1: (lambda: 1)()'),
        ("accuracy > (lambda: 1)", 'gate "accuracy > (lambda: 1)": a function cannot be defined at column 13: '
                                   "lambda: 1"),
        ("[x for x in scores]", 'gate "[x for x in scores]": a comprehension is not allowed at column 1: '
                                "[x for x in scores]"),
        ("9 ** 9 ** 9 > 1", 'gate "9 ** 9 ** 9 > 1": only + - * / are allowed at column 1: 9 ** 9 ** 9'),
        ("scores[0] > 1", 'gate "scores[0] > 1": indexing is not allowed at column 1: scores[0]'),
        ("rows if drift_alarm else 0", 'gate "rows if drift_alarm else 0": a conditional expression is not allowed '
                                       "at column 1: rows if drift_alarm else 0"),
        ("'x' in name", 'gate "\'x\' in name": only == != < <= > >= compare at column 1: \'x\' in name'),
        ("production > 1", 'gate "production > 1": write production.NAME, an artifact of the production run at '
                           "column 1: production"),
        ("max(scores, key=len)", 'gate "max(scores, key=len)": max() takes plain arguments at column 1: '
                                 "max(scores, key=len)"),
        ("accuracy >", 'gate "accuracy >": not an expression (invalid syntax) at column 11'),
        ("", "gate '': write an expression, e.g. accuracy >= 0.9"),
    ])
    def test_hostile_or_unknown_syntax_is_refused_at_the_offending_part(self, text, message):
        with pytest.raises(ExpressionError) as caught:
            parse_expression(text)
        assert str(caught.value) == message

    def test_hostile_text_runs_nothing(self, tmp_path):
        marker = tmp_path / "ran"
        for text in (f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')",
                     "().__class__.__bases__[0].__subclasses__()", "exec('x=1')", "globals()"):
            with pytest.raises(ExpressionError):
                run(text)
        assert not marker.exists()

    def test_no_blow_up_from_repetition_or_length(self):
        started = time.monotonic()
        with pytest.raises(ExpressionError, match=r"is str 'a', not a number"):
            run("'a' * 10000000000 > name")
        with pytest.raises(ExpressionError, match="at most 2000"):
            parse_expression("1 + " * 600 + "1")
        with pytest.raises(ExpressionError):
            parse_expression("(" * 500 + "1" + ")" * 500)
        assert time.monotonic() - started < 2

    @pytest.mark.parametrize("text, message", [
        ("name > 1", 'gate "name > 1": cannot compare str \'lr\' > int 1 (numbers with numbers, text with text) in '
                     "name > 1"),
        ("accuracy + name > 1", 'gate "accuracy + name > 1": name is str \'lr\', not a number in name'),
        ("rows / (rows - 2000) > 1", 'gate "rows / (rows - 2000) > 1": division by zero in rows / (rows - 2000)'),
        ("len(rows) > 1", 'gate "len(rows) > 1": int 2000 has no length in len(rows)'),
        ("1e308 * 10.0 ** 1 > 1", None),
    ])
    def test_type_mismatches_say_what_was_compared(self, text, message):
        if message is None:  # ** is refused before anything is evaluated
            with pytest.raises(ExpressionError, match="only \\+ - \\* / are allowed"):
                run(text)
            return
        with pytest.raises(ExpressionError) as caught:
            run(text)
        assert str(caught.value) == message

    def test_alert_names_are_limited(self):
        with pytest.raises(ExpressionError) as caught:
            parse_expression("valu < 1", what="alert", names=("value", "mean"), production=False)
        assert str(caught.value) == 'alert "valu < 1": unknown name (use mean, value) at column 1: valu'
        with pytest.raises(ExpressionError, match="attribute access: no attribute can be read"):
            parse_expression("production.value < 1", what="alert", names=("value",), production=False)


@pytest.fixture
def store(tmp_path) -> FlowDatastore:
    return FlowDatastore(LocalStorage(str(tmp_path / "store")), "GateFlow")


def _finished_run(store: FlowDatastore, artifacts: dict) -> str:
    """A finished run of GateFlow in the store, made by flow run; its id."""
    import subprocess
    import sys

    flow = os.path.join(os.path.dirname(store.storage.url), "gateflow.py")
    with open(flow, "w") as handle:
        handle.write("from flowship import FlowSpec, step\n\nclass GateFlow(FlowSpec):\n    @step\n"
                     "    def start(self):\n" + "".join(f"        self.{k} = {v!r}\n" for k, v in artifacts.items())
                     + "        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n")
    result = subprocess.run([sys.executable, "-m", "flowship", "run", flow, "--datastore", store.storage.url,
                             "--quiet"], capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr
    return store.run_ids()[-1]


class TestGatesAgainstTheStore:
    def test_compares_with_the_recorded_production_run(self, store):
        run_id = _finished_run(store, {"accuracy": 0.9})
        production = record_promotion(store, kind="promote", outcome="promoted", reason="", run=f"GateFlow/{run_id}",
                                      run_datastore=store.storage.url, namespace="production:p.prod")
        candidate = artifact_lookup({"accuracy": 0.93, "rows": 10}, "run GateFlow/new")
        report = check_gates(["accuracy >= production.accuracy", "rows > 1000", "recall > 0.5", "accuracy"],
                             candidate, production, store, if_no_production="fail", rule="")
        assert [r.passed for r in report.results] == [True, False, False, False]
        assert report.lines() == [
            f"production run: GateFlow/{run_id}",
            "gate accuracy >= production.accuracy: passed", "    accuracy = 0.93", "    production.accuracy = 0.9",
            "gate rows > 1000: FAILED", "    rows = 10",
            "gate recall > 0.5: FAILED (run GateFlow/new has no artifact 'recall' (it has accuracy, rows))",
            "gate accuracy: FAILED (it gives float 0.93, not True or False — compare it, e.g. x > 0)",
            "    accuracy = 0.93",
        ]
        assert report.reason.startswith("rows > 1000 failed (rows = 10); recall > 0.5 failed: run GateFlow/new has")

    @pytest.mark.parametrize("choice, passed", [("pass", True), ("fail", False)])
    def test_no_production_run_yet_is_decided_by_the_option(self, store, choice, passed):
        report = check_gates(["accuracy > production.accuracy"], artifact_lookup({"accuracy": 1.0}, "run"), None,
                             store, if_no_production=choice, rule=f"--gate-if-no-production {choice}")
        verb = "passes" if passed else "fails"
        assert report.passed is passed
        assert report.results[0].error == f"no production run yet, so it {verb}: --gate-if-no-production {choice}"

    def test_a_production_run_that_cannot_be_read_fails_the_gate(self, store):
        production = record_promotion(store, kind="promote", outcome="promoted", reason="", run="GateFlow/gone",
                                      run_datastore="/nonexistent/store", namespace="production:p.prod")
        report = check_gates(["accuracy > production.accuracy"], artifact_lookup({"accuracy": 1.0}, "run"),
                             production, store, if_no_production="pass", rule="")
        assert not report.passed and report.results[0].error.startswith("the production run GateFlow/gone cannot be read")

    def test_unknown_name_is_its_own_error(self):
        with pytest.raises(UnknownName):
            artifact_lookup({}, "run X")("a")


class TestInFlowGatesAtCheck:
    def test_a_malformed_gate_is_reported_at_its_line(self):
        source = two_step_flow(class_decorators="@project(name='p', gates=['accuracy > 0.9', 'open(\"x\")'])")
        result = check(source)
        assert [str(p) for p in result.problems] == [
            "flow.py:5: @project: gate \"open(\"x\")\": only abs, min, max, len can be called at column 1: "
            "open(\"x\") — fix the argument"]

    def test_gates_must_be_a_list_of_strings(self):
        result = check(two_step_flow(class_decorators="@project(name='p', gates='accuracy > 0.9')"))
        assert [p.message for p in result.problems] == [
            "@project: gates must be a list of expressions (strings), got 'accuracy > 0.9'"]

    def test_the_ir_carries_the_gates(self):
        ir = check(two_step_flow(class_decorators="@project(name='p', gates=[' accuracy > 0.9 '])")).ir
        assert ir.project.gates == ("accuracy > 0.9",)
        from flowship.compiler.ir import FlowIR

        assert FlowIR.from_json(ir.to_json()) == ir
