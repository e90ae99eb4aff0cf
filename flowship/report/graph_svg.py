"""A flow's graph as one inline SVG, for cards and run reports: no layout engine, no script.

Steps are laid out top to bottom in layers (a step sits one layer below its
lowest parent, so a join lines up under its branches); within a layer, steps
follow the mean position of their parents, which keeps branches from
crossing in the graphs flows have. Edges that go back up (a switch picking
an earlier step or itself) are drawn on the right side so they never hide a
step. Colours are inline attributes, so the SVG reads the same pasted into
any page, opened on its own, or shown offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from flowship.compiler.ir import FlowIR, StepIR

__all__ = ["STATUS_COLOURS", "graph_svg"]

# status -> (fill, stroke): the words the store and the report use for a step's tasks
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "succeeded": ("#dcf5e3", "#2f9e55"),
    "failed": ("#fde0e0", "#d03b3b"),
    "running": ("#dde9fd", "#3b6fd0"),
    "unfinished": ("#fdf0d5", "#c98a12"),  # started, no record of its end yet: running, or killed
    "reused": ("#e8ecf3", "#8a94a6"),  # a resume took the task's results from its origin run
    "not run": ("#f1f1f1", "#9a9a9a"),
    "": ("#ffffff", "#5a5a5a"),
}
_FONT = 12
_CHAR = 7.2  # an average glyph width of the sans-serif font at 12px, enough to size a box around a name
_ROW = 78
_GAP = 28
_PAD = 16
_TEXT_STYLE = ('font-weight="bold"', 'fill="#444"')  # a step's name, then its note


@dataclass
class _Box:
    step: StepIR
    layer: int
    x: float = 0.0
    width: float = 0.0
    lines: tuple[str, ...] = ()

    @property
    def height(self) -> float:
        return 14 + 16 * len(self.lines)

    @property
    def y(self) -> float:
        return _PAD + self.layer * _ROW

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


def _layers(ir: FlowIR) -> dict[str, int]:
    """Each step's layer: one below its lowest parent that comes before it (later parents are loops back)."""
    order = {step.name: index for index, step in enumerate(ir.steps)}
    layer: dict[str, int] = {}
    for step in ir.steps:
        earlier = [layer[p] for p in step.parents if p in layer and order[p] < order[step.name]]
        layer[step.name] = max(earlier, default=-1) + 1
    return layer


def _place(ir: FlowIR, notes: Mapping[str, str]) -> list[_Box]:
    layer_of = _layers(ir)
    boxes = {step.name: _Box(step, layer_of[step.name]) for step in ir.steps}
    for box in boxes.values():
        note = notes.get(box.step.name, "")
        box.lines = (box.step.name, note) if note else (box.step.name,)
        box.width = max(64.0, max(len(line) for line in box.lines) * _CHAR + 24)
    rows: dict[int, list[_Box]] = {}
    for box in boxes.values():
        rows.setdefault(box.layer, []).append(box)
    widest = max(sum(b.width for b in row) + _GAP * (len(row) - 1) for row in rows.values())
    for number in sorted(rows):
        row = rows[number]

        def parents_mean(box: _Box, number: int = number) -> float:
            above = [boxes[p].centre for p in box.step.parents if boxes[p].layer < number]
            return sum(above) / len(above) if above else 0.0

        row.sort(key=parents_mean)
        x = _PAD + (widest - (sum(b.width for b in row) + _GAP * (len(row) - 1))) / 2
        for box in row:
            box.x = x
            x += box.width + _GAP
    return list(boxes.values())


def _edge(source: _Box, target: _Box, right: float) -> str:
    if target.layer > source.layer:  # downwards: a smooth curve from the bottom of one box to the top of the next
        x1, y1, x2, y2 = source.centre, source.y + source.height, target.centre, target.y
        middle = (y1 + y2) / 2
        path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} {x2:.1f},{y2 - 4:.1f}"
    else:  # back up (a loop): out of the right side, around, into the right side of the target
        x1, y1 = source.x + source.width, source.y + source.height * (0.3 if source is target else 0.5)
        x2, y2 = target.x + target.width, target.y + target.height * (0.7 if source is target else 0.5)
        path = f"M{x1:.1f},{y1:.1f} C{right:.1f},{y1:.1f} {right:.1f},{y2:.1f} {x2 + 4:.1f},{y2:.1f}"
    return f'<path d="{path}" fill="none" stroke="#777" stroke-width="1.4" marker-end="url(#arrow)"/>'


def graph_svg(
    ir: FlowIR,
    *,
    highlight: str | None = None,
    status: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
) -> str:
    """The flow's steps and edges as an ``<svg>`` element.

    ``status`` colours steps (keys of :data:`STATUS_COLOURS`), ``highlight`` draws one step with a heavy
    border (a card's own step), ``notes`` adds a second line under a step's name ("foreach × 120",
    "3 failed"), and ``links`` makes a step a link (an ``#anchor`` in a report).
    """
    status, notes, links = status or {}, notes or {}, links or {}
    boxes = _place(ir, notes)
    by_name = {box.step.name: box for box in boxes}
    loops = any(by_name[n].layer <= box.layer for box in boxes for n in box.step.next if n in by_name)
    width = max(box.x + box.width for box in boxes) + _PAD + (40 if loops else 0)
    height = max(box.y + box.height for box in boxes) + _PAD
    right = width - _PAD - 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="{_FONT}" role="img" '
        f'aria-label="{escape(ir.name)} graph">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" fill="#777"/></marker></defs>',
    ]
    for box in boxes:
        parts.extend(_edge(box, by_name[n], right) for n in box.step.next if n in by_name)
    for box in boxes:
        name = box.step.name
        fill, stroke = STATUS_COLOURS.get(status.get(name, ""), STATUS_COLOURS[""])
        heavy = name == highlight
        shape = (
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" rx="7" '
            f'fill="{fill}" stroke="{"#1b1b1b" if heavy else stroke}" stroke-width="{3 if heavy else 1.5}"/>'
        )
        texts = "".join(
            f'<text x="{box.centre:.1f}" y="{box.y + 22 + 16 * i:.1f}" text-anchor="middle" {_TEXT_STYLE[i > 0]}>'
            f"{escape(line)}</text>"
            for i, line in enumerate(box.lines)
        )
        said = f": {status[name]}" if name in status else ""
        title = f"<title>{escape(f'{name} ({box.step.kind}){said}')}</title>"
        node = f'<g class="step" data-step="{escape(name)}" data-status="{escape(status.get(name, ""))}">'
        node += title + shape + texts + "</g>"
        if name in links:
            node = f'<a href="{escape(links[name])}">{node}</a>'
        parts.append(node)
    parts.append("</svg>")
    return "".join(parts)
