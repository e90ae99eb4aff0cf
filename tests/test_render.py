"""flow show formats, pinned on the foreach-inside-branch fixture."""

from __future__ import annotations

import json

from conftest import FLOWS
from flowship.compiler.render import render_dot, render_json, render_mermaid, render_text
from flowship.flowfile import load_flow

IR = load_flow(str(FLOWS / "foreach_in_branch.py"))


def test_text():
    assert render_text(IR).splitlines()[2:] == [
        "steps:",
        "  start       line 9     -> fan, plain",
        "    fan       line 13    -> double  [foreach nums]",
        "      double  line 18    -> fan_join",
        "    fan_join  line 23    -> join  [joins fan]",
        "    plain     line 28    -> join",
        "  join        line 33    -> end  [joins start]",
        "  end         line 38    (finish)",
    ]


def test_mermaid():
    assert render_mermaid(IR) == """flowchart TD
    step_start(["start"])
    step_fan["fan"]
    step_double["double"]
    step_fan_join["fan_join"]
    step_plain["plain"]
    step_join["join"]
    step_end(["end"])
    step_start --> step_fan
    step_start --> step_plain
    step_fan -->|"foreach nums"| step_double
    step_double --> step_fan_join
    step_fan_join --> step_join
    step_plain --> step_join
    step_join --> step_end
"""


def test_dot_has_every_edge():
    dot = render_dot(IR)
    assert dot.startswith('digraph "ForeachInBranchFlow" {')
    assert '    "fan" -> "double" [label="foreach nums"];' in dot
    assert dot.count(" -> ") == sum(len(s.next) for s in IR.steps)


def test_json_is_the_ir():
    assert json.loads(render_json(IR))["steps"][1]["foreach_var"] == "nums"


def test_output_is_deterministic():
    assert render_json(load_flow(str(FLOWS / "foreach_in_branch.py"))) == render_json(IR)


def test_text_says_what_triggers_the_flow():
    from conftest import EXAMPLES

    assert render_text(load_flow(str(EXAMPLES / "ingest.py"))).splitlines()[1:4] == [
        "schedule: 0 2 * * * (0 2 * * * UTC)",
        "project: demand",
        "triggered by event sales_landed (day <- day)",
    ]
    assert render_text(load_flow(str(EXAMPLES / "score.py"))).splitlines()[2] == "triggered when TrainFlow finishes"
