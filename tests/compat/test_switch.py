"""Conditional transitions (Metaflow 2.17's switch): ``self.next({"a": self.a, ...}, condition="var")``.

The reference is Metaflow's own source: ``FlowSpec.next`` (the value of ``self.var`` picks one step, a value
that is no key fails the step), ``graph.py``/``lint.py`` (a switch is a "split-switch" that opens no split; a
loop is allowed only from a switch to its own step; a switch branch may not lead straight to a join; @catch is
refused on a switch) and ``runtime.py`` (only the picked step is queued; each repetition of a looping step is a
task of its own; resume clones the repetitions before the failure). Its tests ``switch_basic``,
``switch_nested``, ``switch_in_branch``, ``switch_in_foreach``, ``foreach_in_switch``, ``branch_in_switch``,
``recursive_switch`` and ``resume_recursive_switch`` are the shapes run here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, check, messages
from flowship.errors import NotFound
from flowship.runtime.client import Flow, namespace

SWITCH_FLOWS = Path(__file__).resolve().parent / "flows"
SHAPES = SWITCH_FLOWS / "switch_shapes.py"
IN_FOREACH = SWITCH_FLOWS / "switch_in_foreach.py"
LOOP = SWITCH_FLOWS / "switch_loop.py"
NESTED = SWITCH_FLOWS / "switch_nested.py"
LOOP_IN_FOREACH = SWITCH_FLOWS / "loop_in_foreach.py"
LOOP_EXITS = SWITCH_FLOWS / "loop_two_exits.py"
LOOP_EXIT_CASES = [("done", "finish after 3", ["start", "train", "finish", "end"]),
                   ("other", "other after 3", ["start", "train", "other", "end"])]
# switch_nested: (parameters, the path the run takes, the steps that run)
NESTED_CASES = [
    ({"route": "inner", "pick": "c"}, "start/inner/c", ["start", "inner", "c", "end"]),
    ({"route": "inner", "pick": "end"}, "start/inner", ["start", "inner", "end"]),
    ({"route": "b"}, "start/b", ["start", "b", "end"]),
    ({"route": "end"}, "start", ["start", "end"]),
]
NESTED_IDS = ["inner-c", "inner-end", "b", "straight-to-end"]
EXAMPLE = 'self.next({"a": self.a, "b": self.b}, condition="choice")'
PICKED_STEPS = ["start", "fanout", "a", "ay", "b", "each", "join_each", "join_ab", "merge", "end"]


def flow(next_args: str, extra: str = "") -> str:
    """start sets self.choice and ends with self.next(<next_args>); a and b go to end."""
    return f"""
class F(FlowSpec):
    @step
    def start(self):
        self.choice = "a"
        self.next({next_args})
    @step
    def a(self):
        self.next(self.end)
    @step
    def b(self):
        self.next(self.end)
{extra}
    @step
    def end(self):
        pass
"""


class TestFrontEnd:
    """Metaflow's graph.py reads the dict form statically: string keys, self.<step> values, condition a string."""

    def test_switch_in_the_ir(self):
        """graph.py: type "split-switch", condition and switch_cases kept; out_funcs are the cases' steps."""
        ir = check(flow('{"a": self.a, "b": self.b}, condition="choice"')).ir
        start = ir.step("start")
        assert (start.transition, start.condition, dict(start.switch_cases), start.next) == (
            "switch", "choice", {"a": "a", "b": "b"}, ("a", "b"))
        assert [s.name for s in ir.steps if s.conditional] == ["a", "b"]
        assert ir.step("end").parents == ("a", "b") and not ir.step("end").is_join

    @pytest.mark.parametrize("path", [SHAPES, IN_FOREACH, LOOP, NESTED, LOOP_IN_FOREACH, LOOP_EXITS], ids=lambda p: p.stem)
    def test_switch_flows_check_clean_and_round_trip(self, path):
        """Each shape Metaflow's switch tests run is valid; the IR reads back from its JSON unchanged."""
        from flowship.compiler import FlowIR
        from flowship.flowfile import check_flow_file

        result = check_flow_file(str(path))
        assert result.problems == () and FlowIR.from_json(result.ir.to_json()) == result.ir

    def test_condition_may_name_a_parameter(self):
        """FlowSpec.next reads the condition with getattr(self, name): a Parameter is an artifact too."""
        source = flow('{"a": self.a, "b": self.b}, condition="mode"').replace(
            "class F(FlowSpec):\n", "class F(FlowSpec):\n    mode = Parameter('mode', default='a')\n")
        assert messages(source) == []

    def test_flow_show_labels_the_cases(self, tmp_path):
        """Metaflow's graph output labels each switch edge with its case (output_dot)."""
        from flowship.compiler.render import render_mermaid, render_text

        ir = check_file(LOOP)
        assert "train  line 16    -> train, end  [status: again -> train, done -> end]" in render_text(ir)
        assert 'step_train -->|"status: done"| step_end' in render_mermaid(ir)

    def test_several_keys_may_pick_one_step(self):
        """Metaflow maps keys to steps in a dict: two keys may name the same step."""
        ir = check(flow('{"a": self.a, "also_a": self.a, "b": self.b}, condition="choice"')).ir
        assert ir.step("start").next == ("a", "b")

    @pytest.mark.parametrize("next_args, expected", [
        ('{"a": self.a, "b": self.b}',
         "self.next() in step 'start' passes a dict of cases without condition= — name the artifact whose value "
         f"picks the step: {EXAMPLE}"),
        ('self.a, self.b, condition="choice"',
         "self.next() in step 'start' has condition= but not one dict of cases — a switch passes one dict mapping "
         f"each value to a step: {EXAMPLE}"),
        ('{"a": self.a, "b": self.b}, condition=choice',
         "condition= in step 'start' is not a string — name the artifact whose value picks the step as a string, "
         'e.g. condition="choice"'),
        ('{"a": self.a, "b": self.b}, condition="choice", foreach="items"',
         "self.next() in step 'start' combines condition= with foreach= — a switch picks one step; fan out with "
         "foreach= in the step it picks"),
        ('{KEY: self.a, "b": self.b}, condition="choice"',
         "case key KEY in step 'start' is not a string literal — write each key as a string literal, e.g. \"a\"; "
         "the artifact's value must equal it"),
        ('{1: self.a, "b": self.b}, condition="choice"',
         "case key 1 in step 'start' is not a string literal — write each key as a string literal, e.g. \"a\"; "
         "the artifact's value must equal it"),
        ('{**CASES, "b": self.b}, condition="choice"',
         "the cases of the switch in step 'start' unpack a dict (**) — write each case out: " + EXAMPLE),
        ('{"a": self.a, "b": print}, condition="choice"',
         "case 'b' in step 'start' does not name a step — map each key to a step: {\"b\": self.<step>}"),
        ('{"a": self.a}, condition="choice"',
         "the switch in step 'start' has 1 case — a switch needs at least two cases; to always go to one step, "
         "use self.next(self.<step>)"),
        ('{"a": self.a, "a": self.b}, condition="choice"',
         "case 'a' appears twice in step 'start' — give each case once"),
        ('{"a": self.a, "b": self.bb}, condition="choice"',
         "step 'start' goes to 'bb', which is not a step — did you mean self.b?"),
        ('{"a": self.a, "b": self.b}, condition="nope"',
         "condition=\"nope\" in step 'start' names no artifact — assign self.nope in 'start' (or before it) to the "
         "key of the step to run next"),
    ], ids=["no-condition", "condition-without-dict", "condition-not-string", "with-foreach", "key-variable",
            "key-number", "key-unpacked", "value-not-step", "one-case", "duplicate-key", "unknown-step",
            "condition-never-set"])
    def test_malformed_switch(self, next_args, expected):
        """Metaflow's lint: "keys must be string literals ..." and FlowSpec.next's InvalidNextException cases
        (a dict needs condition=, condition needs one non-empty dict, condition is a string, no foreach);
        check_switch_splits: at least two transitions. flowship accepts string keys only (Metaflow also takes
        numbers and config expressions)."""
        assert messages(flow(next_args)) == [f"flow.py:9: {expected}"]

    def test_loop_only_from_a_switch_to_itself(self):
        """lint.py check_for_acyclicity skips only a switch's edge to its own step: other loops are errors."""
        assert messages("""
class F(FlowSpec):
    @step
    def start(self):
        self.next(self.train)
    @step
    def train(self):
        self.next(self.check)
    @step
    def check(self):
        self.status = "done"
        self.next({"again": self.train, "done": self.end}, condition="status")
    @step
    def end(self):
        pass
""") == ["flow.py:10: steps form a cycle: train -> check — a switch loops only to its own step: move the repeated "
         "work into 'check' and pick it again, e.g. self.next({\"again\": self.check, \"done\": self.<next>}, "
         "condition=...)"]

    def test_switch_may_not_lead_straight_to_a_join(self):
        """lint.py check_ambiguous_joins: "A conditional path cannot lead directly to a join step"."""
        assert messages("""
class F(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)
    @step
    def a(self):
        self.c = "x"
        self.next({"x": self.join, "y": self.y}, condition="c")
    @step
    def y(self):
        self.next(self.join)
    @step
    def b(self):
        self.next(self.join)
    @step
    def join(self, inputs):
        self.next(self.end)
    @step
    def end(self):
        pass
""") == ["flow.py:12: switch in step 'a' leads straight to join 'join' — add a step between them on that branch: "
         "a branch of a switch cannot end in a join directly"]

    def test_catch_refused_on_a_switch(self):
        """catch_decorator.py: "@catch is not supported in conditional switch steps"."""
        assert messages(flow('{"a": self.a, "b": self.b}, condition="choice"').replace(
            "    @step\n    def start", "    @catch(var='e')\n    @step\n    def start")) == [
            "flow.py:6: @catch on switch step 'start' — remove @catch: a switch whose step failed has no value to "
            "pick a branch with; catch in a step before"]

    def test_start_may_not_loop(self):
        """lint.py check_start_end_degree: the start step has no incoming transitions."""
        assert messages(flow('{"a": self.start, "b": self.b}, condition="choice"').replace(
            "    @step\n    def a(self):\n        self.next(self.end)\n", "")) == [
            "flow.py:9: the switch in the start step picks its own step again — loop in a step after it: move the "
            "repeated work into a step of its own that picks itself"]

    def test_branches_of_a_split_still_need_a_join(self):
        """A step reached from several steps is a join unless a switch runs only one of them (graph.py
        traverses a switch's targets with the same split stack: they merge into a plain step)."""
        source = flow("self.a, self.b").replace("self.next(self.end)", "self.next(self.m)") + """
    @step
    def m(self):
        self.next(self.end)
"""
        assert messages(source) == [
            "flow.py:22: step 'm' is reached from a, b but does not take inputs — make it a join: def m(self, inputs):"]
        switched = source.replace("self.next(self.a, self.b)", 'self.next({"a": self.a, "b": self.b}, condition="choice")')
        assert messages(switched) == []

    def test_artifact_set_on_one_branch_is_a_warning_after_the_merge(self):
        """Metaflow has no static artifact check; reading what one branch set fails only when another branch
        ran, so flowship warns (never an error: the value may always pick that branch)."""
        source = flow('{"a": self.a, "b": self.b}, condition="choice"').replace(
            "    def a(self):\n        self.next", "    def a(self):\n        self.x = 1\n        self.next").replace(
            "    def end(self):\n        pass", "    def end(self):\n        print(self.x)")
        assert messages(source) == [
            "flow.py:20: warning: step 'end' reads self.x, which is not assigned on every path from 'start' — "
            "assign self.x on every branch of the switch before 'end', or read it only when set"]


def flow_cli(*args: str, store: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", *args, "--datastore", str(store)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)
    yield
    namespace(None)


class TestLocalRun:
    """Metaflow's runtime.py queues only the step the switch picked (_queue_task_switch)."""

    def test_only_the_picked_branches_run(self, tmp_path):
        """switch_in_branch, foreach_in_switch, branch_in_switch: untaken steps have no tasks, so the Client
        lists only the steps that ran; a join gets the inputs that ran."""
        result = flow_cli("run", str(SHAPES), "--kind", "y", store=tmp_path)
        assert result.returncode == 0, result.stderr
        run = Flow("SwitchShapesFlow", datastore=str(tmp_path)).latest_run
        assert run.successful and run.data.result == "ay|1:odd|2:even|3:odd"
        assert [s.id for s in run] == PICKED_STEPS
        with pytest.raises(NotFound, match=f"step 'ax' did not run in {run.pathspec}: no switch picked it"):
            run["ax"]

    @pytest.mark.parametrize("parameters, walked, steps", NESTED_CASES, ids=NESTED_IDS)
    def test_nested_switches_and_cases_that_skip_ahead(self, parameters, walked, steps, tmp_path):
        """switch_nested and switch_basic: the step the branches merge into reads the branch that ran, also
        when a switch goes to it straight."""
        options = [token for name, value in parameters.items() for token in (f"--{name}", value)]
        result = flow_cli("run", str(NESTED), *options, store=tmp_path)
        assert result.returncode == 0, result.stderr
        run = Flow("SwitchNestedFlow", datastore=str(tmp_path)).latest_run
        assert (run.data.walked, [s.id for s in run]) == (walked, steps)

    def test_each_foreach_item_picks_its_own_branch(self, tmp_path):
        """switch_in_foreach: the switch runs per item; the foreach join gets each item's picked branch."""
        result = flow_cli("run", str(IN_FOREACH), store=tmp_path)
        assert result.returncode == 0, result.stderr
        run = Flow("SwitchInForeachFlow", datastore=str(tmp_path)).latest_run
        assert run.data.rs == ["1:odd", "2:even", "3:odd"]
        assert [t.id for t in run["odd"]] == ["0.0", "0.2"] and [t.id for t in run["even"]] == ["0.1"]

    def test_a_branch_skipping_to_the_merge_step(self, tmp_path):
        """switch_basic / foreach_in_switch's 'skip' case: a whole region (a split, a foreach) never runs."""
        result = flow_cli("run", str(SHAPES), "--mode", "skip", store=tmp_path)
        assert result.returncode == 0, result.stderr
        run = Flow("SwitchShapesFlow", datastore=str(tmp_path)).latest_run
        assert [s.id for s in run] == ["start", "skip", "merge", "end"] and run.data.result == "skipped"

    def test_a_value_that_is_no_key_fails_the_step(self, tmp_path):
        """FlowSpec.next: "has value ... which is not in the available cases" (a RuntimeError in Metaflow)."""
        result = flow_cli("run", str(SHAPES), "--mode", "nope", store=tmp_path)
        assert result.returncode == 1
        assert ("switch in step 'start': self.route is 'nope', which is not one of its cases ('fanout', 'skip'); "
                "set self.route to one of them") in result.stdout + result.stderr

    def test_a_loop_inside_a_foreach_repeats_per_item(self, tmp_path):
        """recursive_switch_inside_foreach: each item's repetitions are its own tasks (item 1: 0.1.0, 0.1.1,
        0.1.2), and the step after the loop reads the item's last one."""
        result = flow_cli("run", str(LOOP_IN_FOREACH), store=tmp_path)
        assert result.returncode == 0, result.stderr
        run = Flow("LoopInForeachFlow", datastore=str(tmp_path)).latest_run
        assert run["join"].task.data.counts == [2, 3]
        assert [t.id for t in run["body"]] == ["0.0.0", "0.0.1", "0.1.0", "0.1.1", "0.1.2"]

    @pytest.mark.parametrize("leave_to, result, steps", LOOP_EXIT_CASES, ids=["done", "other"])
    def test_a_loop_may_leave_to_one_of_several_steps(self, leave_to, result, steps, tmp_path):
        """recursive_switch with more cases: the repetition that picks another step ends the loop there."""
        completed = flow_cli("run", str(LOOP_EXITS), "--leave_to", leave_to, store=tmp_path)
        assert completed.returncode == 0, completed.stderr
        run = Flow("LoopExitsFlow", datastore=str(tmp_path)).latest_run
        assert (run.data.result, [s.id for s in run]) == (result, steps)

    def test_loop_repeats_a_step_then_resume_clones_the_repetitions_before_the_failure(self, tmp_path):
        """recursive_switch and resume_recursive_switch: each repetition is a task of the looping step, in
        order; a resumed run clones the repetitions that succeeded and runs the rest again."""
        failed = flow_cli("run", str(LOOP), "--times", "4", "--fail_at", "3", store=tmp_path)
        assert failed.returncode == 1 and "failing at 3 until resumed" in failed.stdout + failed.stderr
        resumed = flow_cli("resume", str(LOOP), store=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        run = Flow("SwitchLoopFlow", datastore=str(tmp_path)).latest_run
        assert run.data.total == 4
        tasks = list(run["train"])
        assert [(t.id, t.data.count) for t in tasks] == [("0.0", 1), ("0.1", 2), ("0.2", 3), ("0.3", 4)]
        assert ["cloned_from" in t.metadata for t in tasks] == [True, True, False, False]


def _argo_run(path: Path, store: Path, name: str, arguments: dict[str, str] | None = None):
    from test_argo import deploy_and_run

    deploy_and_run(path.resolve(), store, name, arguments)
    return Flow(check_file(path).name, datastore=str(store))[f"argo-ml.{name}"]


def check_file(path: Path):
    from flowship.flowfile import load_flow

    return load_flow(str(path))


class TestArgo:
    """Metaflow's Argo compiler (plugins/argo/argo_workflows.py): the switch task outputs the picked step
    (`switch-step`), its targets carry a `when` on it, and a recursive switch is a template that calls itself."""

    @pytest.mark.parametrize("path", [SHAPES, IN_FOREACH, LOOP, NESTED, LOOP_IN_FOREACH, LOOP_EXITS],
                             ids=lambda p: p.stem)
    def test_manifest_passes_the_crd_schema_and_lint(self, path):
        """Metaflow's switch shapes compile to manifests Argo's CRD schema and validation accept (when, depends
        on results, steps templates, a valueFrom default)."""
        from argo.schema import schema_errors
        from conftest import shared_dir
        from flowship.compiler.targets.argo.lint import lint_argo
        from flowship.compiler.targets.argo.manifest import compile_to_argo, render_yaml
        from test_argo import OPTIONS

        documents = compile_to_argo(check_file(path), OPTIONS)
        assert [schema_errors(shared_dir("argo", "crds"), d) for d in documents] == [[]]
        assert lint_argo(documents, len(render_yaml(documents))) == ([], [])

    def test_switch_targets_wait_on_the_picked_step(self):
        """The picked step's name is the switch task's output; each target runs when it is its own name."""
        from flowship.compiler.targets.argo.manifest import compile_to_argo
        from test_argo import OPTIONS

        (template,) = compile_to_argo(check_file(SHAPES), OPTIONS)
        tasks = {t["name"]: t for t in template["spec"]["templates"][0]["dag"]["tasks"]}
        assert (tasks["skip"]["depends"], tasks["skip"]["when"]) == (
            "start.Succeeded", "'{{tasks.start.outputs.parameters.switch}}' == 'skip'")
        assert tasks["merge"]["depends"] == (
            "(join-ab.Succeeded || join-ab.Skipped || join-ab.Omitted) && (skip.Succeeded || skip.Skipped || "
            "skip.Omitted) && (join-ab.Succeeded || skip.Succeeded)")

    @pytest.mark.parametrize("arguments, steps, result", [
        ({"kind": "y"}, PICKED_STEPS, "ay|1:odd|2:even|3:odd"),
        ({"mode": "skip"}, ["start", "skip", "merge", "end"], "skipped"),
    ], ids=["fanout", "skip"])
    def test_only_the_picked_branches_run(self, arguments, steps, result, tmp_path):
        """Argo skips the targets the switch did not pick and omits what follows only from them."""
        run = _argo_run(SHAPES, tmp_path, "wf-switch", arguments)
        assert run.successful and run.data.result == result and [s.id for s in run] == steps

    @pytest.mark.parametrize("parameters, walked, steps", NESTED_CASES, ids=NESTED_IDS)
    def test_nested_switches_and_cases_that_skip_ahead(self, parameters, walked, steps, tmp_path):
        """A step several switches lead to runs when one picked it or a branch it ends succeeded; a skipped
        switch's output reads as its declared default there."""
        run = _argo_run(NESTED, tmp_path, "wf-nested", parameters)
        assert (run.data.walked, [s.id for s in run]) == (walked, steps)

    def test_each_foreach_item_picks_its_own_branch(self, tmp_path):
        """switch_in_foreach, on Argo: the body DAG of each item skips the branch its switch did not pick."""
        run = _argo_run(IN_FOREACH, tmp_path, "wf-each")
        assert run.data.rs == ["1:odd", "2:even", "3:odd"]

    def test_loop_repeats_as_a_template_calling_itself(self, tmp_path):
        """recursive_switch: each repetition is a task of the step, numbered as flow run numbers them."""
        run = _argo_run(LOOP, tmp_path, "wf-loop", {"times": "4"})
        assert run.data.total == 4 and [t.id for t in run["train"]] == ["0.0", "0.1", "0.2", "0.3"]

    def test_a_loop_inside_a_foreach_repeats_per_item(self, tmp_path):
        """recursive_switch_inside_foreach, on Argo: the loop template runs inside each item's body DAG."""
        run = _argo_run(LOOP_IN_FOREACH, tmp_path, "wf-loop-each")
        assert run["join"].task.data.counts == [2, 3]
        assert [t.id for t in run["body"]] == ["0.0.0", "0.0.1", "0.1.0", "0.1.1", "0.1.2"]

    def test_a_loop_stops_before_argo_nests_too_deep(self, tmp_path, monkeypatch):
        """Argo's controller errors a template call nested 100 deep (maxAllowedStackDepth; Metaflow's recursive
        template meets the same limit): the task that would nest deeper fails first, saying why."""
        from flowship.compiler.targets.argo.manifest import compile_to_argo
        from test_argo import OPTIONS

        (template,) = compile_to_argo(check_file(LOOP), OPTIONS)
        (loop,) = [t for t in template["spec"]["templates"] if t["name"] == "train-loop"]
        container = next(t for t in template["spec"]["templates"] if t["name"] == loop["steps"][0][0]["template"])
        assert "--max-repetitions=97" in container["container"]["args"]  # 3 levels above: main, the loop, the pod

        import flowship.compiler.targets.argo.switches as switches
        from test_argo import deploy_and_run

        monkeypatch.setattr(switches, "MAX_NESTING", 5)  # the same rule, reached after 2 repetitions, not 97
        with pytest.raises(AssertionError, match="template switch-step failed"):
            deploy_and_run(LOOP.resolve(), tmp_path, "wf-deep", {"times": "4"})
        run = Flow("SwitchLoopFlow", datastore=str(tmp_path))["argo-ml.wf-deep"]
        assert [t.id for t in run["train"]] == ["0.0", "0.1"]
        assert run["train"]["0.1"].exception.strip().endswith(
            "the loop in step 'train' picked its step again after 2 repetitions, the most its scheduler runs (Argo "
            "nests each repetition one template deeper, and stops at 100) — repeat inside the step, or run the "
            "flow with flow run")

    @pytest.mark.parametrize("leave_to, result, steps", LOOP_EXIT_CASES, ids=["done", "other"])
    def test_a_loop_may_leave_to_one_of_several_steps(self, leave_to, result, steps, tmp_path):
        """Metaflow's recursive template reports the last repetition's pick as its output; so does flowship's,
        and the step it left to runs (the other is skipped)."""
        run = _argo_run(LOOP_EXITS, tmp_path, "wf-exits", {"leave_to": leave_to})
        assert (run.data.result, [s.id for s in run]) == (result, steps)


class TestAirflow:
    """On Airflow the switch step's return value (XCom) feeds a BranchPythonOperator, which Airflow uses to
    skip the targets not picked; steps after the branches use trigger rule none_failed_min_one_success."""

    @pytest.mark.parametrize("conf, steps, result", [
        ({"kind": "y"}, PICKED_STEPS, "ay|1:odd|2:even|3:odd"),
        ({"mode": "skip"}, ["start", "skip", "merge", "end"], "skipped"),
    ], ids=["fanout", "skip"])
    def test_dags_test_runs_only_the_picked_branches(self, conf, steps, result, tmp_path, monkeypatch):
        """Metaflow's switch_in_branch / foreach_in_switch / branch_in_switch under a real Airflow 3."""
        import airflow_harness as harness
        from test_airflow import deploy

        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(SHAPES, tmp_path, "local")
        assert harness.run_dag_test(dag, conf) == "success"
        run = Flow(dag.dag_id, datastore=str(tmp_path)).latest_run
        assert run.successful and run.data.result == result and [s.id for s in run] == steps

    @pytest.mark.parametrize("conf, walked, steps", NESTED_CASES, ids=NESTED_IDS)
    def test_nested_switches_and_cases_that_skip_ahead(self, conf, walked, steps, tmp_path, monkeypatch):
        """A branch task skips the targets it did not follow, except one downstream of the followed branch
        (Airflow's branching rule), so 'end' waits for that branch."""
        import airflow_harness as harness
        from test_airflow import deploy

        monkeypatch.setenv("FLOWSHIP_CACHE", str(tmp_path / "cache"))
        dag = deploy(NESTED, tmp_path, "local")
        assert harness.run_dag_test(dag, conf) == "success"
        run = Flow(dag.dag_id, datastore=str(tmp_path)).latest_run
        assert (run.data.walked, [s.id for s in run]) == (walked, steps)

    def test_pod_mode_dag_loads_with_the_switch_output_as_xcom(self, tmp_path):
        """As Metaflow's Argo switch task outputs the picked step, the switch pod returns it as its XCom, which
        the branch task after it follows."""
        import airflow_harness as harness  # noqa: F401  (sets up Airflow before test_airflow imports it)
        from test_airflow import deploy

        dag = deploy(SHAPES, tmp_path, "kubernetes")
        start = dag.task_dict["start"]
        assert start.do_xcom_push and "--switch-file=/airflow/xcom/return.json" in start.arguments
        assert dag.task_dict["start-switch"].downstream_task_ids == {"fanout", "skip"}
        assert dag.task_dict["merge"].trigger_rule == "none_failed_min_one_success"

    @pytest.mark.parametrize("path, message", [
        (LOOP, "a switch that picks its own step again (a loop) on step 'train' cannot be honoured by airflow: an "
               "Airflow DAG is acyclic, so a step cannot run again after itself"),
        (IN_FOREACH, "the switch in step 'each' is inside a foreach, and Airflow skips a mapped task for all of its "
                     "items or none"),
    ], ids=["loop", "switch-in-foreach"])
    def test_what_airflow_cannot_run_is_refused_at_compile(self, path, message, tmp_path):
        """Airflow DAGs are acyclic: flowship refuses loops rather than unrolling them."""
        result = subprocess.run([sys.executable, "-m", "flowship", "compile", str(path), "--target", "airflow",
                                 "--datastore", str(tmp_path), "--no-upload", "--image", "x/y:1", "-o",
                                 str(tmp_path / "out.py")], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and message in result.stderr + result.stdout
