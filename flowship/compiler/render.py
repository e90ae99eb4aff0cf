"""Show a flow: as text for a terminal, Mermaid for docs, Graphviz dot, or IR JSON.

Every renderer reads only the IR, so what ``flow show`` prints is exactly
what the targets will compile.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flowship.compiler.ir import FlowIR, StepDecorators, StepIR

__all__ = ["RENDERERS", "render_text", "render_mermaid", "render_dot", "render_json"]


def _decorator_summary(d: StepDecorators) -> list[str]:
    parts = []
    if d.resources:
        r = d.resources
        gpu = f", gpu={r.gpu}" if r.gpu else ""
        parts.append(f"@resources(cpu={r.cpu_millicores / 1000:g}, memory={r.memory_mib}{gpu})")
    if d.retry:
        parts.append(f"@retry(times={d.retry.times})")
    if d.timeout_seconds:
        parts.append(f"@timeout(seconds={d.timeout_seconds})")
    if d.catch:
        parts.append(f"@catch(var={d.catch.var!r})")
    if d.environment:
        parts.append(f"@environment({', '.join(d.environment)})")
    if d.kubernetes:
        parts.append("@kubernetes" + (f"(image={d.kubernetes.image!r})" if d.kubernetes.image else ""))
    if d.secrets:
        parts.append(f"@secrets({', '.join(d.secrets)})")
    for card in d.cards:
        parts.append(f"@card(type={card.type!r}" + (f", id={card.id!r})" if card.id else ")"))
    if d.python_env:
        python = [f"python {d.python_env.python}"] if d.python_env.python else []
        parts.append(f"@{d.python_env.decorator}({', '.join([*d.python_env.packages.values(), *python])})")
    return parts


def _edge_note(step: StepIR, target: str | None = None) -> str:
    """What labels a step's edges (to ``target``, for a switch: the values that pick it)."""
    if step.transition == "foreach":
        return f"foreach {step.foreach_var}"
    if step.transition == "switch":
        cases = [(key, to) for key, to in step.switch_cases.items() if target is None or to == target]
        picks = ", ".join(f"{key} -> {to}" if target is None else key for key, to in cases)
        return f"{step.condition}: {picks}".replace('"', "'")
    return ""


def render_text(ir: FlowIR) -> str:
    counts = f"{len(ir.steps)} steps, {len(ir.parameters)} parameter{'s' * (len(ir.parameters) != 1)}"
    lines = [f"{ir.name}  {ir.file}:{ir.line}  ({counts})"]
    if ir.schedule:
        tz = f" {ir.schedule.timezone}" if ir.schedule.timezone else " UTC"
        lines.append(f"schedule: {ir.schedule.preset or ir.schedule.cron} ({ir.schedule.cron}{tz})")
    if ir.project:
        lines.append(f"project: {ir.project.name}")
        lines += [f"gate: {gate}" for gate in ir.project.gates]
    for event in ir.triggers.events if ir.triggers else ():
        mapping = ", ".join(f"{p} <- {f}" for p, f in event.parameters.items())
        lines.append(f"triggered by event {event.name}" + (f" ({mapping})" if mapping else ""))
    for upstream in ir.triggers.finishes if ir.triggers else ():
        where = f" in project {upstream.project}" if upstream.project else ""
        where += f", branch {upstream.branch}" if upstream.branch else ""
        lines.append(f"triggered when {upstream.flow} finishes{where}")
    if ir.parameters:
        lines.append("")
        lines.append("parameters:")
        width = max(len(p.name) for p in ir.parameters)
        for p in ir.parameters:
            default = "required" if p.required else f"default {json.dumps(p.default, ensure_ascii=False)}"
            help_text = f"  {p.help}" if p.help else ""
            lines.append(f"  --{p.name:<{width}}  {p.type:<5}  {default}{help_text}")
    lines.append("")
    lines.append("steps:")
    width = max(len(s.name) + 2 * len(s.split_stack) for s in ir.steps)
    for s in ir.steps:
        label = "  " * len(s.split_stack) + s.name
        target = f"-> {', '.join(s.next)}" if s.next else "(finish)"
        notes = [n for n in (_edge_note(s), f"joins {s.join_of}" if s.join_of else "") if n]
        notes += _decorator_summary(s.decorators)
        suffix = f"  [{'; '.join(notes)}]" if notes else ""
        lines.append(f"  {label:<{width}}  line {s.line:<4}  {target}{suffix}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    return f"step_{name}"  # 'end' is a Mermaid keyword; prefixing keeps every id safe


def render_mermaid(ir: FlowIR) -> str:
    lines = ["flowchart TD"]
    for s in ir.steps:
        shape = ('(["', '"])') if s.name in ("start", "end") else ('["', '"]')
        lines.append(f"    {_mermaid_id(s.name)}{shape[0]}{s.name}{shape[1]}")
    for s in ir.steps:
        for target in s.next:
            note = _edge_note(s, target)
            arrow = f' -->|"{note}"| ' if note else " --> "
            lines.append(f"    {_mermaid_id(s.name)}{arrow}{_mermaid_id(target)}")
    return "\n".join(lines) + "\n"


def render_dot(ir: FlowIR) -> str:
    lines = [f'digraph "{ir.name}" {{', "    rankdir=TB;", '    node [shape=box, style=rounded, fontname="Helvetica"];']
    for s in ir.steps:
        shape = ", shape=ellipse" if s.name in ("start", "end") else ""
        lines.append(f'    "{s.name}" [label="{s.name}"{shape}];')
    for s in ir.steps:
        for target in s.next:
            note = _edge_note(s, target)
            attrs = f' [label="{note}"]' if note else ""
            lines.append(f'    "{s.name}" -> "{target}"{attrs};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_json(ir: FlowIR) -> str:
    return ir.to_json()


RENDERERS: dict[str, Callable[[FlowIR], str]] = {
    "text": render_text,
    "mermaid": render_mermaid,
    "dot": render_dot,
    "json": render_json,
}
