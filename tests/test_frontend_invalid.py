"""Invalid flows: each rule's message pinned, all problems reported at once, never a traceback.

Line numbers include the three-line import header that ``check`` prepends.
"""

from __future__ import annotations

from conftest import check, messages

END = """
    @step
    def end(self):
        pass
"""


def flow(body: str, decorators: str = "") -> str:
    return f"{decorators}\nclass F(FlowSpec):\n{body}{END}"


class TestFile:
    def test_syntax_error(self):
        (problem,) = messages("class F(FlowSpec:\n    pass\n")
        assert problem.startswith("flow.py:4: syntax error: ") and problem.endswith(" — fix the Python syntax")

    def test_no_flow_class(self):
        assert messages("x = 1\n") == [
            "flow.py:1: no flow class found — define a class that derives from FlowSpec, e.g. `class MyFlow(FlowSpec):`"]

    def test_two_flow_classes(self):
        assert messages("class A(FlowSpec):\n    pass\nclass B(FlowSpec):\n    pass\n") == [
            "flow.py:4: more than one flow class in one file (A, B) — keep one flow per file"]


class TestStructure:
    def test_missing_start_and_end(self):
        assert messages("class F(FlowSpec):\n    pass\n") == [
            "flow.py:4: flow F has no 'end' step — add `@step def end(self):`",
            "flow.py:4: flow F has no 'start' step — add `@step def start(self):`"]

    def test_next_not_last(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.end)
        print("after")
""")) == ["flow.py:9: self.next() in step 'start' is not the step's last statement — "
          "call self.next(...) exactly once, unconditionally, as the last line of the step"]

    def test_conditional_next(self):
        assert len(messages(flow("""
    @step
    def start(self):
        if True:
            self.next(self.end)
        else:
            self.next(self.end)
"""))) == 2  # both calls are misplaced

    def test_missing_next(self):
        assert messages(flow("""
    @step
    def start(self):
        pass
""")) == ["flow.py:8: step 'start' does not call self.next() — end it with self.next(self.<next step>)"]

    def test_unknown_target_suggests_close_name(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.ned)
""")) == ["flow.py:9: step 'start' goes to 'ned', which is not a step — did you mean self.end?"]

    def test_end_calls_next(self):
        assert messages("""
class F(FlowSpec):
    @step
    def start(self):
        self.next(self.end)
    @step
    def end(self):
        self.next(self.start)
""") == [
            "flow.py:7: steps form a cycle: start -> end — flows are acyclic; repeat work with a foreach instead of looping back",
            "flow.py:11: step 'end' calls self.next() — remove it: the flow finishes at 'end'"]

    def test_cycle(self):
        assert "flow.py:11: steps form a cycle: a -> b — flows are acyclic; repeat work with a foreach instead of looping back" in messages(flow("""
    @step
    def start(self):
        self.next(self.a)
    @step
    def a(self):
        self.next(self.b)
    @step
    def b(self):
        self.next(self.a)
"""))

    def test_unreachable_step(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.end)
    @step
    def lost(self):
        self.next(self.end)
""")) == ["flow.py:11: step 'lost' cannot be reached from 'start' — call self.next(self.lost) from a step, or delete it"]

    def test_bad_step_signature(self):
        assert messages(flow("""
    @step
    def start(self, x, y):
        self.next(self.end)
""")) == ["flow.py:8: step 'start' takes (self, x, y) — a step takes (self), or (self, inputs) when it is a join (any name works for inputs)"]

    def test_foreach_to_two_steps(self):
        assert "flow.py:10: foreach in step 'start' goes to 2 steps — a foreach goes to exactly one step: " \
               "self.next(self.body, foreach=\"items\")" in messages(flow("""
    @step
    def start(self):
        self.items = [1]
        self.next(self.a, self.b, foreach="items")
"""))

    def test_unsupported_next_keyword(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.end, parallel=4)
""")) == ["flow.py:9: self.next() in step 'start' has unsupported argument 'parallel' — "
          "self.next takes steps, optionally foreach=\"<artifact>\", num_parallel=N, or one dict of cases with "
              "condition=\"<artifact>\""]


class TestJoins:
    def test_merge_without_inputs(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.a, self.b)
    @step
    def a(self):
        self.next(self.join)
    @step
    def b(self):
        self.next(self.join)
    @step
    def join(self):
        self.next(self.end)
""")) == ["flow.py:17: step 'join' is reached from a, b but does not take inputs — make it a join: def join(self, inputs):"]

    def test_inputs_without_split(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.a)
    @step
    def a(self, inputs):
        self.next(self.end)
""")) == ["flow.py:11: step 'a' takes inputs but closes no split — remove `inputs` from def a(self, inputs), "
          "or make a parent split with self.next(a, b) or foreach="]

    def test_split_never_joined(self):
        assert messages(flow("""
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.a, foreach="items")
    @step
    def a(self):
        self.next(self.end)
""")) == ["flow.py:10: foreach in step 'start' is never joined — add a join step, def join(self, inputs):, "
          "that its branches lead to before 'end'"]

    def test_join_written_without_inputs_is_named(self):
        assert messages(flow("""
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.a, foreach="items")
    @step
    def a(self):
        self.next(self.join)
    @step
    def join(self):
        self.next(self.end)
""")) == ["flow.py:15: foreach in step 'start' is never joined: step 'join', the last step before 'end', does not "
          "take inputs — make it the join, def join(self, inputs):, or add a join step after it"]

    def test_join_mixing_splits(self):
        problems = messages(flow("""
    @step
    def start(self):
        self.next(self.a, self.b)
    @step
    def a(self):
        self.next(self.a1, self.a2)
    @step
    def a1(self):
        self.next(self.join)
    @step
    def a2(self):
        self.next(self.join)
    @step
    def b(self):
        self.next(self.join)
    @step
    def join(self, inputs):
        self.next(self.end)
"""))
        assert problems[0] == ("flow.py:23: step 'join' joins steps from different splits: a1, a2 (inside start > a); "
                               "b (inside start) — a join must merge the branches of one split; join inner splits first")


class TestDataFlow:
    def test_read_of_unassigned_artifact_names_its_line(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.a, self.b)
    @step
    def a(self):
        self.x = 1
        self.next(self.join)
    @step
    def b(self):
        self.next(self.join)
    @step
    def join(self, inputs):
        self.merge_artifacts(inputs)
        self.next(self.after)
    @step
    def after(self):
        print(self.x, self.y)
        self.next(self.end)
""")) == ["flow.py:23: step 'after' reads self.y, which is not assigned on every path from 'start' — "
          "assign self.y in an earlier step on every path, or make it a Parameter"]

    def test_join_without_merge_sees_nothing(self):
        assert messages(flow("""
    @step
    def start(self):
        self.x = 1
        self.next(self.a, self.b)
    @step
    def a(self):
        self.next(self.join)
    @step
    def b(self):
        self.next(self.join)
    @step
    def join(self, inputs):
        print(self.x)
        self.next(self.end)
""")) == ["flow.py:19: step 'join' reads self.x, which is not assigned on every path from 'start' — "
          "a join sees its inputs' artifacts only through inputs.<step>.x or self.merge_artifacts(inputs)"]

    def test_merge_exclude_removes(self):
        assert len(messages(flow("""
    @step
    def start(self):
        self.x = 1
        self.next(self.a, self.b)
    @step
    def a(self):
        self.next(self.join)
    @step
    def b(self):
        self.next(self.join)
    @step
    def join(self, inputs):
        self.merge_artifacts(inputs, exclude=["x"])
        print(self.x)
        self.next(self.end)
"""))) == 1

    def test_input_outside_foreach(self):
        assert messages(flow("""
    @step
    def start(self):
        print(self.input)
        self.next(self.end)
""")) == ["flow.py:9: step 'start' reads self.input outside a foreach — self.input exists only in steps between a foreach and its join"]

    def test_foreach_names_no_artifact(self):
        assert messages(flow("""
    @step
    def start(self):
        self.next(self.a, foreach="missing")
    @step
    def a(self):
        self.next(self.join)
    @step
    def join(self, inputs):
        self.next(self.end)
""")) == ["flow.py:9: foreach=\"missing\" in step 'start' names no artifact — assign self.missing = [...] in 'start' or before it"]

    def test_dynamic_setattr_downgrades_to_warning(self):
        result = check(flow("""
    @step
    def start(self):
        setattr(self, "x", 1)
        self.next(self.a)
    @step
    def a(self):
        print(self.x)
        self.next(self.end)
"""))
        assert result.ir is not None
        assert [str(p) for p in result.warnings] == [
            "flow.py:13: warning: step 'a' reads self.x, which is not assigned on every path from 'start' — "
            "assign self.x in an earlier step on every path, or make it a Parameter"]

    def test_catch_var_helper_writes_params_and_class_attributes_count(self):
        assert messages(flow("""
    alpha = Parameter("alpha", default=1)
    LIMIT = 3
    def helper(self):
        self.from_helper = 1
    @catch(var="failure")
    @step
    def start(self):
        self.helper()
        self.next(self.a)
    @step
    def a(self):
        print(self.failure, self.from_helper, self.alpha, self.LIMIT)
        self.next(self.end)
""")) == []

    def test_read_then_write_in_same_step_is_error_only_when_never_written(self):
        assert messages(flow("""
    @step
    def start(self):
        self.count += 1
        self.next(self.end)
""")) == ["flow.py:9: warning: step 'start' reads self.count, which is not assigned on every path from 'start' — "
          "assign self.count in an earlier step on every path, or make it a Parameter"]


class TestAllAtOnce:
    def test_problems_from_every_stage_are_reported_together(self):
        problems = messages(flow("""
    run_id = Parameter("run_id")
    @retry(times="x")
    @step
    def start(self):
        self.next(self.nowhere)
""", decorators='@schedule(cron="* * *")'))
        assert problems == [
            "flow.py:4: @schedule: '* * *' has 3 fields; write five: minute hour day-of-month month day-of-week (or six, the last a year of '*', as in Metaflow) — fix the argument",
            "flow.py:7: parameter name 'run_id' is reserved by flowship — rename the parameter, e.g. 'my_run_id'",
            "flow.py:8: @retry: times must be a whole number, got 'x' — fix the argument",
            "flow.py:11: step 'start' goes to 'nowhere', which is not a step — define `@step def nowhere(self):` or name an existing step",
        ]
