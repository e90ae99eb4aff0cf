"""Valid flows: every fixture and example checks clean and gives the IR a target needs."""

from __future__ import annotations

import pytest

from conftest import EXAMPLES, FLOWS, check, shared_dir
from flowship.compiler import FlowIR
from flowship.flowfile import check_flow_file

FIXTURES = sorted(FLOWS.glob("*.py")) + sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_checks_clean_and_round_trips(path):
    result = check_flow_file(str(path))
    assert result.problems == ()
    assert FlowIR.from_json(result.ir.to_json()) == result.ir


def test_shared_bench_flows_check_clean():
    for path in sorted(shared_dir("bench", "flows").glob("*.py")):
        result = check_flow_file(str(path))
        assert result.problems == (), path


class TestShapes:
    """What the IR says about each graph shape, one line per fact."""

    def ir(self, name: str) -> FlowIR:
        return check_flow_file(str(FLOWS / name)).ir

    def test_linear(self):
        ir = self.ir("linear.py")
        assert [(s.name, s.kind, s.next) for s in ir.steps] == [
            ("start", "start", ("a",)), ("a", "linear", ("b",)), ("b", "linear", ("end",)), ("end", "end", ())]

    def test_branch_join_closes_start(self):
        ir = self.ir("branch.py")
        assert ir.step("start").transition == "split"
        assert (ir.step("join").is_join, ir.step("join").join_of, ir.step("join").parents) == (True, "start", ("a", "b", "c"))
        assert ir.step("b").split_stack == ("start",)

    def test_nested_branches_stack(self):
        ir = self.ir("nested_branches.py")
        assert ir.step("a1").split_stack == ("start", "a")
        assert ir.step("a_join").join_of == "a"
        assert ir.step("join").join_of == "start"

    def test_foreach(self):
        ir = self.ir("foreach.py")
        assert (ir.step("start").transition, ir.step("start").foreach_var) == ("foreach", "letters")
        assert (ir.step("body").foreach_depth, ir.step("join").foreach_depth) == (1, 0)

    def test_nested_foreach_depths(self):
        ir = self.ir("nested_foreach.py")
        assert [ir.step(n).foreach_depth for n in ("start", "level1", "level2", "level3", "join3", "join2", "join1")] == [0, 1, 2, 3, 2, 1, 0]
        assert [ir.step(n).join_of for n in ("join3", "join2", "join1")] == ["level2", "level1", "start"]

    def test_foreach_inside_branch(self):
        ir = self.ir("foreach_in_branch.py")
        assert ir.step("double").split_stack == ("start", "fan")
        assert ir.step("join").parents == ("fan_join", "plain")

    def test_topological_order_is_stable(self):
        assert [s.name for s in self.ir("nested_branches.py").steps] == [
            "start", "a", "a1", "a2", "a_join", "b", "join", "end"]


class TestAuthoring:
    def test_steps_inherited_from_a_base_flow_in_the_same_file(self):
        result = check("""
            class Base(FlowSpec):
                @step
                def start(self):
                    self.x = 1
                    self.next(self.end)

            class Child(Base):
                @step
                def end(self):
                    print(self.x)
        """)
        assert result.problems == () and result.ir.name == "Child"

    def test_module_constants_and_arithmetic_in_decorators(self):
        result = check("""
            MEMORY = 4 * 1024
            class F(FlowSpec):
                @resources(memory=MEMORY, cpu="500m")
                @step
                def start(self):
                    self.next(self.end)

                @step
                def end(self):
                    pass
        """)
        resources = result.ir.step("start").decorators.resources
        assert (resources.memory_mib, resources.cpu_millicores) == (4096, 500)

    def test_parameters_typed_and_defaulted(self):
        result = check("""
            class F(FlowSpec):
                alpha = Parameter("alpha", default=0.5, help="rate")
                n = Parameter("n", default=3)
                flag = Parameter("flag", default=False)
                config = Parameter("config", type=JSONType, default='{"a": 1}')
                person = Parameter("who", required=True)
                data = IncludeFile("data", default="data.csv")
                @step
                def start(self):
                    self.next(self.end)
                @step
                def end(self):
                    pass
        """)
        assert [(p.name, p.attr, p.type, p.default, p.required) for p in result.ir.parameters] == [
            ("alpha", "alpha", "float", 0.5, False), ("n", "n", "int", 3, False), ("flag", "flag", "bool", False, False),
            ("config", "config", "json", {"a": 1}, False), ("who", "person", "str", None, True),
            ("data", "data", "file", "data.csv", False)]


def test_ir_recorded_before_a_field_existed_reads_back_with_its_default():
    """A run's record holds the IR of the flowship that started it: fields added since keep their defaults."""
    ir = check_flow_file(str(FLOWS / "branch.py")).ir
    recorded = ir.to_dict()
    for step in recorded["steps"]:
        for added in ("condition", "switch_cases", "conditional"):
            del step[added]
    assert FlowIR.from_dict(recorded) == ir
