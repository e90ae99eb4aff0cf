"""@card end to end, as Metaflow's card docs and its own card tests describe it: flows run with `flow run`, cards
read back with the Client and with `flow card get|view|list`.

The flows follow the shapes of real card flows: Metaflow's own UX test flow (a bare @card on start), and the
dynamic-card examples (a blank card with a table of progress bars or a chart, updated and refreshed while the
step runs), written here without their sleeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from flowship.cards import get_cards
from flowship.runtime.client import Flow, namespace
from htmltree import parse_html


def flow_command(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "BROWSER": "true"}  # flow card view "opens" the card with a command that returns at once
    return subprocess.run([sys.executable, "-m", "flowship", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def run(tmp_path: Path, source: str) -> tuple[subprocess.CompletedProcess, str]:
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(source))
    store = str(tmp_path / "store")
    return flow_command("run", str(path), "--datastore", store), store


@pytest.fixture(autouse=True)
def every_namespace():
    namespace(None)
    yield


DEFAULT_CARD_FLOW = """
    from flowship import FlowSpec, card, step

    class CardFlow(FlowSpec):
        @card
        @step
        def start(self):
            self.message = "hello from card flow"
            self.next(self.end)

        @step
        def end(self):
            pass
"""


def test_a_bare_card_is_the_default_card_with_the_tasks_artifacts(tmp_path):
    """Metaflow's UX test flow: @card on start makes one default card; the Client's get_cards(task) finds it and
    it shows the task's artifacts. A step without @card has no cards."""
    result, store = run(tmp_path, DEFAULT_CARD_FLOW)
    assert result.returncode == 0, result.stderr
    run_ = Flow("CardFlow", datastore=store).latest_run
    task = run_["start"].task
    assert task.metadata["cards"] == [{"type": "default", "id": None, "file": "cards/0-default.html", "error": None}]
    [card] = get_cards(task)
    assert (card.type, card.id) == ("default", None)
    tree = parse_html(card.get())
    task_rows = {tr.find("th").text: tr.find("td").text for tr in tree.find("table", "vertical").find_all("tr")}
    assert task_rows["User"] == run_.user and task_rows["Tags"] == "-"
    rows = {tr.find("td").text: tr for tr in tree.find_all("table", "artifacts")[-1].find("tbody").children}
    assert rows["message"].find("code").text == "'hello from card flow'"
    assert list(task.cards)[0].get() == card.get()
    assert len(run_["end"].task.cards) == 0
    shown = flow_command("card", "get", f"{run_.pathspec}/start", "--datastore", store)
    assert shown.returncode == 0 and parse_html(shown.stdout).find("title").text.startswith(f"{run_.pathspec}/start/0")
    folder = Path(store).parent / "cards-out"
    written = flow_command("card", "get", f"{run_.pathspec}/start", "-o", f"{folder}/", "--datastore", store)
    assert written.returncode == 0, written.stderr  # a folder that does not exist yet is made, the card named in it
    assert (folder / "default.html").read_text() == shown.stdout
    missing = flow_command("card", "get", f"{run_.pathspec}/end/0", "--id", "summary", "--datastore", store)
    assert missing.stderr == f"error: task {run_.pathspec}/end/0 has no card with id 'summary'; its cards: none\n"
    none = flow_command("card", "get", f"{run_.pathspec}/end", "--datastore", store)
    assert none.stderr == (f"error: task {run_.pathspec}/end/0 has no cards (its step has no @card, or the task "
                           "failed)\n")


DYNAMIC_FLOW = """
    import os
    from flowship import FlowSpec, card, current, step
    from flowship.cards import Markdown, ProgressBar, Table, VegaChart

    SPEC = {"data": {"values": []}, "mark": "line",
            "encoding": {"x": {"field": "i", "type": "quantitative"}, "y": {"field": "v", "type": "quantitative"}}}

    class DynamicFlow(FlowSpec):
        @card(type="blank", refresh_interval=1)
        @card(type="html", id="page")
        @step
        def start(self):
            bars = [ProgressBar(max=4, label=name) for name in ("rabbit", "turtle")]
            chart = VegaChart(SPEC)
            current.card.append(Markdown("# Ready, set, go!"))
            current.card.append(Table([[Markdown(f"**{b.label}**"), b] for b in bars]))
            current.card.append(chart)
            current.card.refresh(force=True)
            with open(os.path.join(os.environ["FLOWSHIP_DATASTORE"], current.flow_name, "runs", current.run_id,
                                   "start", current.task_id, str(current.retry_count), "cards", "0-blank.html")) as f:
                self.running_card = f.read()
            for i in range(4):
                bars[0].update(i + 1)
                bars[1].update(i // 2)
                SPEC["data"]["values"].append({"i": i, "v": i * i})
                chart.update(SPEC)
            current.card.refresh()
            current.card["page"].append(Markdown("not shown: an html card is not editable"))
            self.html = "<h2>Made by the step</h2>"
            self.next(self.end)

        @step
        def end(self):
            pass
"""


def test_a_refreshed_blank_card_ends_with_the_final_values(tmp_path):
    """The dynamic-card examples: components updated in place and current.card.refresh() while the step runs.
    flowship writes the card as it is at refresh (marked running) and the finished card replaces it."""
    result, store = run(tmp_path, DYNAMIC_FLOW)
    assert result.returncode == 0, result.stderr
    task = Flow("DynamicFlow", datastore=store).latest_run["start"].task
    running = parse_html(task.data.running_card)
    assert "Running: a snapshot taken at" in running.find("div", "warning").text
    assert [p.attrs["value"] for p in running.find_all("progress")] == ["0", "0"]
    blank, page = get_cards(task)
    final = parse_html(blank.get())
    assert final.find_all("div", "warning") == []
    assert [p.attrs["value"] for p in final.find_all("progress")] == ["4", "1"]
    assert final.find("div", "markdown").find("h1").text == "Ready, set, go!"
    spec = next(s for s in final.find_all("script") if s.attrs.get("type") == "application/json")
    assert len(json.loads(spec.text)["data"]["values"]) == 4
    assert parse_html(page.get()).find("h2").text == "Made by the step"
    listed = flow_command("card", "list", task.pathspec.rsplit("/", 2)[0], "--datastore", store)
    assert listed.stdout.splitlines() == [f"{task.pathspec}  blank  ok", f"{task.pathspec}  html id=page  ok"]
    viewed = flow_command("card", "view", task.pathspec, "--type", "html", "--datastore", store)
    assert viewed.returncode == 0 and Path(viewed.stdout.strip()).read_text() == page.get()


FAILING_FLOW = """
    from flowship import FlowSpec, card, catch, current, step
    from flowship.cards import Markdown, MetaflowCardComponent

    class Broken(MetaflowCardComponent):
        def render_html(self, context):
            raise RuntimeError("cannot draw this")

    class FailingFlow(FlowSpec):
        @card(type="blank", id="ok")
        @card(type="html", id="nohtml")
        @card(type="html", id="quiet", save_errors=False)
        @step
        def start(self):
            current.card["ok"].extend([Markdown("before"), Broken(), Markdown("after")])
            self.next(self.caught)

        @card
        @catch(var="failure")
        @step
        def caught(self):
            raise ValueError("caught by @catch")
            self.next(self.fails)

        @card
        @step
        def fails(self):
            raise ValueError("this step fails")
            self.next(self.end)

        @step
        def end(self):
            pass
"""


def test_failing_cards_never_fail_a_task_and_a_failed_task_has_no_card(tmp_path):
    """Metaflow's @card: a component that cannot render is shown as an error in its place; a card that fails is
    saved as its error (save_errors=True, the default) or not at all; the task succeeds either way. Cards are made
    only for a task that succeeded (task_finished with is_task_ok), which includes one whose error @catch caught."""
    result, store = run(tmp_path, FAILING_FLOW)
    assert result.returncode == 1 and "this step fails" in result.stderr
    run_ = Flow("FailingFlow", datastore=store).latest_run
    start = run_["start"].task
    assert start.successful
    assert [(c["id"], c["file"], c["error"]) for c in start.metadata["cards"]] == [
        ("ok", "cards/0-blank-ok.html", None),
        ("nohtml", "cards/1-html-nohtml.html",
         "ValueError: the html card shows the artifact 'html', which step 'start' did not set"),
        ("quiet", None, "ValueError: the html card shows the artifact 'html', which step 'start' did not set"),
    ]
    ok = parse_html(get_cards(start, id="ok")[0].get())
    assert [m.text.strip() for m in ok.find_all("div", "markdown")] == ["before", "after"]
    assert ok.find("div", "error").find("strong").text == "Broken failed to render"
    assert "The html card failed to render" in parse_html(get_cards(start, id="nohtml")[0].get()).text
    quiet = flow_command("card", "get", start.pathspec, "--id", "quiet", "--datastore", store)
    assert quiet.stderr.startswith(f"error: the html card of {start.pathspec} was not saved: ValueError")
    assert [c.type for c in run_["caught"].task.cards] == ["default"]
    failed = run_["fails"].task
    assert not failed.successful and failed.metadata["cards"] == [] and len(failed.cards) == 0


def test_a_card_type_flowship_does_not_render_is_an_error_at_check(tmp_path):
    """A custom card type (Metaflow finds card templates installed as packages) has nothing to render it here:
    flow check says so, with the line, instead of a run that silently has no card."""
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(DEFAULT_CARD_FLOW).replace("@card\n", "@card(type='scatter3d')\n"))
    result = flow_command("check", str(path))
    assert result.returncode == 1 and result.stderr == f"{path}: 1 error\n"
    assert result.stdout.splitlines()[0] == (f"{path}:5: @card: type 'scatter3d' is not a card type flowship "
                                             "renders; use one of default, blank, html — fix the argument")


def test_refreshing_a_card_keeps_the_steps_timeout(tmp_path):
    """A refresh renders cards inside the step; the step's @timeout (Metaflow's) still stops a step that runs on."""
    result, store = run(tmp_path, """
        import time
        from flowship import FlowSpec, card, current, step, timeout
        from flowship.cards import Markdown

        class SlowCardFlow(FlowSpec):
            @timeout(seconds=2)
            @card(type="blank")
            @step
            def start(self):
                current.card.append(Markdown("working"))
                current.card.refresh(force=True)
                time.sleep(20)
                self.next(self.end)

            @step
            def end(self):
                pass
    """)
    assert result.returncode == 1 and "exceeded its @timeout of 2 s" in result.stderr


def test_a_resumed_run_keeps_the_cards_of_the_tasks_it_reuses(tmp_path):
    """Metaflow's resume clones a task with its cards (get_cards follows resumed tasks): the reused start task of
    the new run has its card, read from the new run."""
    gate = tmp_path / "gate"
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(f"""
        import os
        from flowship import FlowSpec, card, current, step
        from flowship.cards import Markdown

        class ResumedFlow(FlowSpec):
            @card(type="blank")
            @step
            def start(self):
                current.card.append(Markdown("# made once"))
                self.next(self.end)

            @step
            def end(self):
                assert os.path.exists({str(gate)!r}), "the gate is closed"
    """))
    store = str(tmp_path / "store")
    assert flow_command("run", str(path), "--datastore", store).returncode == 1
    gate.write_text("open")
    resumed = flow_command("resume", str(path), "--datastore", store)
    assert resumed.returncode == 0, resumed.stderr
    run_ = Flow("ResumedFlow", datastore=store).latest_run
    assert run_["start"].task.metadata["cloned_from"]
    got = flow_command("card", "get", f"{run_.pathspec}/start", "--datastore", store)
    assert got.returncode == 0, got.stderr
    assert parse_html(got.stdout).find("div", "markdown").find("h1").text == "made once"


def test_the_run_report_links_the_cards_that_were_saved(tmp_path):
    """flow run --report copies each saved card beside the page and lists a card kept out (save_errors=False)
    with its error, without a link."""
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(FAILING_FLOW))
    result = flow_command("run", str(path), "--datastore", str(tmp_path / "store"), "--report", cwd=tmp_path)
    assert result.returncode == 1
    (report,) = tmp_path.glob("FailingFlow-*.html")
    page = parse_html(report.read_text(), strict=False)
    items = {li.text.split(":", 1)[1].split(" — ")[0].strip(): li for li in page.find("details").find_all("li")}
    assert items["html quiet"].find_all("a") == [] and "ValueError" in items["html quiet"].text
    linked = items["blank ok"].find("a").attrs["href"]
    assert parse_html((tmp_path / linked).read_text()).find("div", "markdown").text.strip() == "before"


def test_run_with_card_gives_every_step_a_default_card(tmp_path):
    """Metaflow's `run --with card`: a default card on every step without touching the flow file."""
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(DEFAULT_CARD_FLOW).replace("        @card\n", ""))
    store = str(tmp_path / "store")
    assert flow_command("run", str(path), "--datastore", store, "--with", "card").returncode == 0
    run_ = Flow("CardFlow", datastore=store).latest_run
    assert [(s.id, [c.type for c in s.task.cards]) for s in run_] == [("start", ["default"]), ("end", ["default"])]
