"""The flow graph as SVG (flowship/report/graph_svg.py): every step drawn once, every edge, layers, colours."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowship.flowfile import load_flow
from flowship.report.graph_svg import STATUS_COLOURS, graph_svg

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def _svg(path: str, **kwargs: object) -> ET.Element:
    return ET.fromstring(graph_svg(load_flow(str(ROOT / path)), **kwargs))  # type: ignore[arg-type]


def _steps(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-step"): g for g in svg.iter(f"{SVG}g") if g.get("class") == "step"}


def _top(group: ET.Element) -> float:
    return float(group.find(f"{SVG}rect").get("y"))  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "path",
    [
        "examples/nested_foreach.py",
        "examples/branch.py",
        "tests/compat/flows/switch_shapes.py",
        "tests/flows/foreach.py",
    ],
)
def test_every_step_once_and_every_edge(path: str) -> None:
    ir = load_flow(str(ROOT / path))
    svg = _svg(path)
    assert sorted(_steps(svg)) == sorted(step.name for step in ir.steps)
    edges = [p for p in svg.iter(f"{SVG}path") if p.get("marker-end")]
    assert len(edges) == sum(len(step.next) for step in ir.steps)


def test_a_step_sits_below_all_its_parents() -> None:
    ir = load_flow(str(ROOT / "tests/compat/flows/switch_shapes.py"))
    steps = _steps(_svg("tests/compat/flows/switch_shapes.py"))
    for step in ir.steps:
        for parent in step.parents:
            assert _top(steps[parent]) < _top(steps[step.name]), (parent, step.name)


def test_a_loop_goes_back_to_its_own_step_on_the_side() -> None:
    svg = _svg("tests/compat/flows/switch_loop.py")
    steps = _steps(svg)
    train = steps["train"].find(f"{SVG}rect")
    right = float(train.get("x")) + float(train.get("width"))  # type: ignore[arg-type, union-attr]
    starts = [float(p.get("d", "M0,0")[1:].split(",")[0]) for p in svg.iter(f"{SVG}path") if p.get("marker-end")]
    assert any(abs(x - right) < 0.2 for x in starts)  # the edge back to train leaves from its right side


def test_status_colours_highlight_notes_and_links() -> None:
    svg = _svg(
        "examples/branch.py",
        status={"start": "succeeded", "fit_line": "failed"},
        highlight="pick",
        notes={"fit_mean": "3 tasks"},
        links={"pick": "#step-pick"},
    )
    steps = _steps(svg)
    assert steps["start"].find(f"{SVG}rect").get("fill") == STATUS_COLOURS["succeeded"][0]  # type: ignore[union-attr]
    assert steps["fit_line"].find(f"{SVG}rect").get("stroke") == STATUS_COLOURS["failed"][1]  # type: ignore[union-attr]
    assert steps["pick"].find(f"{SVG}rect").get("stroke-width") == "3"  # type: ignore[union-attr]
    assert [t.text for t in steps["fit_mean"].iter(f"{SVG}text")] == ["fit_mean", "3 tasks"]
    links = [a for a in svg.iter(f"{SVG}a") if a.get("href") == "#step-pick"]
    assert len(links) == 1 and links[0].find(f"{SVG}g").get("data-step") == "pick"  # type: ignore[union-attr]


def test_names_and_notes_are_escaped() -> None:
    text = graph_svg(load_flow(str(ROOT / "examples/hello.py")), notes={"start": "<script>x</script> & co"})
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt; &amp; co" in text
