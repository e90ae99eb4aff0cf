"""``flow report``: one self-contained HTML page that tells how a run went, and the cards it links to.

The page holds the graph (each step coloured by how its tasks ended, a
foreach's width under its name), every task on a timeline with the critical
path marked, each step's task counts and durations, every failure with its
error and last log lines, the parameters, chosen metrics' trends across runs
and the code package. It has no
script and no outside reference, so it opens offline and stays quick for
runs of thousands of tasks. Cards are separate pages in the store; the
report copies those of the run into a folder beside itself and links there.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from flowship.cards.page import page
from flowship.report.graph_svg import graph_svg
from flowship.report.run_view import AttemptView, RunView, TaskView
from flowship.report.timeline import duration_text, timeline_svg
from flowship.report.trends import trends_section
from flowship.runtime.datastore import FlowDatastore

__all__ = ["render_run_report", "write_run_report", "cards_folder"]

# what a report adds to the stylesheet every card and report shares (cards/page.py)
_STYLE = """
.status { display: inline-block; padding: 2px 10px; border-radius: 10px; font-size: 13px; vertical-align: middle; }
.succeeded { background: #dcf5e3; color: #1d6b39; } .failed, .killed { background: #fde0e0; color: #9b2121; }
.running { background: #dde9fd; color: #24498f; }
.meta { color: var(--muted); font-size: 13px; } .scroll { overflow-x: auto; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.failure { border-left: 4px solid var(--bad); padding-left: 12px; margin: 14px 0; } .trend { margin: 10px 0; }
"""


def cards_folder(report: Path) -> Path:
    """Where a report's copies of the run's cards go: ``report.html`` → ``report.cards/``."""
    return report.with_name(report.stem + ".cards")


def _card_name(task: TaskView, attempt: AttemptView, card: dict[str, object]) -> str:
    return f"{task.step}.{task.task_id}.{attempt.number}.{Path(str(card['file'])).name}"


def _when(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], numeric: frozenset[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _step_status(tasks: list[TaskView]) -> str:
    states = {t.status for t in tasks}
    if not tasks:
        return "not run"
    return next(s for s in ("failed", "unfinished", "succeeded") if s in states)


def _header(view: RunView) -> str:
    record, ended = view.record, view.finished_at
    if view.status == "running":
        took = "still running"
    elif not view.ran:
        took = "no task started"
    else:  # a killed run's last attempts never recorded an end
        took = f"took {duration_text(ended - view.started_at)}" if ended is not None else "some tasks never finished"
    facts = [
        f"started {_when(view.started_at)}",
        took,
        f"by {record.get('user', '?')} in namespace {record.get('namespace', '?')}",
    ]
    if record.get("project"):
        facts.append(f"project {record['project']}, branch {record.get('branch')}")
    reused = len(view.tasks) - len(view.ran)
    if record.get("origin_run_id"):
        facts.append(f"resumed from {record['origin_run_id']}, reusing {reused} task{'s' * (reused != 1)}")
    if record.get("promoted_from"):
        facts.append(f"promoted from {record['promoted_from']}")
    package = record.get("code_package")
    code = f"code package {package['sha'][:12]} ({package['flow_path']})" if package else "no code package"
    return (
        f'<h1>{escape(view.flow)}/{escape(view.run_id)} <span class="status {view.status}">{view.status}</span></h1>'
        f'<p class="meta">{escape(" · ".join(facts))}<br>{escape(view.ir.file)}:{view.ir.line} · {escape(code)}</p>'
    )


def _steps_section(view: RunView, by_step: dict[str, list[TaskView]]) -> str:
    rows = []
    for step in view.ir.steps:
        tasks = by_step.get(step.name, [])
        spans = [t.finished_at - t.started_at for t in tasks if t.finished_at is not None and not t.reused]
        retried = sum(len(t.attempts) - 1 for t in tasks)
        counts = [sum(t.status == s for t in tasks) for s in ("succeeded", "failed", "unfinished")]
        counts.append(sum(t.reused for t in tasks))
        rows.append(
            [
                f'<a id="step-{escape(step.name)}"></a>{escape(step.name)}',
                escape(step.kind),
                *(str(c) for c in [len(tasks), *counts, retried]),
                duration_text(statistics.median(spans)) if spans else "",
                duration_text(max(spans)) if spans else "",
            ]
        )
    headers = ["step", "kind", "tasks", "succeeded", "failed", "unfinished", "reused", "retries", "median", "longest"]
    return "<h2>Steps</h2>" + _table(headers, rows, frozenset(range(2, 10)))


def _failures_section(view: RunView) -> str:
    blocks = []
    for task in view.tasks:
        for attempt in task.attempts:
            if attempt.status != "failed":
                continue
            last = attempt is task.attempts[-1]
            retried = "" if last else " — retried"
            logs = "".join(
                f"<details{' open' if last else ''}><summary>{name}, last lines</summary><pre>{escape(text)}</pre>"
                "</details>"
                for name, text in (("stdout", attempt.stdout_tail), ("stderr", attempt.stderr_tail))
                if text.strip()
            )
            blocks.append(
                f'<div class="failure"><b>{escape(task.pathspec_tail)}</b> attempt {attempt.number}{retried}'
                f"<pre>{escape(attempt.exception.strip())}</pre>{logs}</div>"
            )
    return "<h2>Failures</h2>" + "".join(blocks) if blocks else ""


def _cards_section(view: RunView, folder: str | None) -> str:
    items = []
    for task in view.tasks:
        attempt = task.attempts[-1]
        for card in attempt.cards:
            label = escape(f"{card.get('type')}" + (f" {card['id']}" if card.get("id") else ""))
            error = f" — {escape(str(card['error']))}" if card.get("error") else ""
            target = f"{folder}/{_card_name(task, attempt, card)}"
            link = f'<a href="{escape(target)}">{label}</a>' if folder and card.get("file") else label
            items.append(f"<li>{escape(task.pathspec_tail)}: {link}{error}</li>")
    if not items:
        return ""
    shown = " open" if len(items) <= 30 else ""
    return f"<h2>Cards</h2><details{shown}><summary>{len(items)} cards</summary><ul>{''.join(items)}</ul></details>"


def render_run_report(view: RunView, *, cards_folder_name: str | None = None, trends: str = "") -> str:
    """The whole page as text; cards link into ``cards_folder_name`` beside the page when given; ``trends`` is
    the metrics part (``report/trends.py``), read from other runs."""
    by_step: dict[str, list[TaskView]] = {}
    for task in view.tasks:
        by_step.setdefault(task.step, []).append(task)
    status = {step.name: _step_status(by_step.get(step.name, [])) for step in view.ir.steps}
    notes = {name: f"× {len(tasks)}" for name, tasks in by_step.items() if len(tasks) > 1}
    for name, tasks in by_step.items():
        failed = sum(t.status == "failed" for t in tasks)
        if failed:
            notes[name] = ", ".join([*([notes[name]] if name in notes else []), f"{failed} failed"])
    links = {step.name: f"#step-{step.name}" for step in view.ir.steps}
    given = view.record.get("parameters") or {}
    parameters = [
        (
            p.name,
            f"<code>{escape(str(given[p.name]))}</code>"
            if p.name in given
            else f"<code>{escape(repr(p.default))}</code> (default)",
        )
        for p in view.ir.parameters
    ]
    critical = [t for t in view.tasks if t.critical]
    body = [
        _header(view),
        "<h2>Graph</h2>",
        f'<div class="scroll">{graph_svg(view.ir, status=status, notes=notes, links=links)}</div>',
        "<h2>Parameters</h2>",
        _table(["name", "value"], [[escape(name), value] for name, value in parameters])
        if parameters
        else '<p class="meta">none</p>',
        trends,
        _failures_section(view),
        _steps_section(view, by_step),
        f"<h2>Timeline</h2><p class=meta>{len(view.tasks)} tasks; the critical path (bold) is "
        f"{escape(' → '.join(t.pathspec_tail for t in critical[:12]))}{' …' if len(critical) > 12 else ''}</p>",
        f'<div class="scroll">{timeline_svg(view)}</div>',
        _cards_section(view, cards_folder_name),
    ]
    return page(f"{view.flow}/{view.run_id} — {view.status}", "".join(body), style=_STYLE)


def write_run_report(store: FlowDatastore, view: RunView, path: Path, metrics: Sequence[str] | None = None) -> Path:
    """Write the page to ``path`` and copy the run's cards beside it (``<name>.cards/``), so the links work;
    ``metrics``: the artifacts whose trend it shows (default: those the flow's gates read)."""
    folder = cards_folder(path)
    for task in view.tasks:
        attempt = task.attempts[-1]
        record = attempt.record
        if record is None:  # cards belong to trusted attempts only
            continue
        for card in attempt.cards:
            if not card.get("file"):  # a failed card save_errors=False kept out: listed with its error, no file
                continue
            folder.mkdir(parents=True, exist_ok=True)
            html = store.read_card(record, str(card["file"]))
            (folder / _card_name(task, attempt, card)).write_text(html, encoding="utf-8")
    trends = trends_section(view, store.storage.url, metrics)
    path.write_text(render_run_report(view, cards_folder_name=folder.name, trends=trends), encoding="utf-8")
    return path
