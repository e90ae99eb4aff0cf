"""`flow report` and `flow run --report`: the page says how a real run went — statuses, retries, failures,
the critical path — and stays plain text where users' text appears."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO
from flowship.providers.storage import LocalStorage
from flowship.report.run_report import render_run_report
from flowship.report.run_view import read_run_view
from flowship.runtime.datastore import FlowDatastore

FLOW = REPO / "tests/flows/report/retried_foreach.py"


class Page(HTMLParser):
    """The parts of a report the tests look at: elements by class and data attributes, and the visible text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, **attrs: str) -> list[dict[str, str]]:
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [a for _, a in self.elements if all(a.get(k) == v for k, v in wanted.items())]

    @property
    def visible(self) -> str:
        return "".join(self.text)


def flow(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowship", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


@pytest.fixture(scope="module")
def retried_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Page]:
    """One real run: item 1 fails once and is retried, item 2 is slow; `flow run --report` writes the page."""
    here = tmp_path_factory.mktemp("report")
    result = flow("run", str(FLOW), "--datastore", str(here / "store"), "--report", "--quiet", cwd=here)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split()[0].split("/")[1]
    page = here / f"RetriedForeachFlow-{run_id}.html"
    assert f"report: {page.name}" in result.stderr
    return here, run_id, Page(page.read_text())


class TestValidRun:
    def test_steps_are_coloured_by_how_their_tasks_ended(self, retried_run: tuple[Path, str, Page]) -> None:
        page = retried_run[2]
        statuses = {a["data-step"]: a["data-status"] for a in page.having(**{"class": "step"})}
        assert statuses == {"start": "succeeded", "work": "succeeded", "gather": "succeeded", "end": "succeeded"}
        assert "× 3" in page.visible  # the foreach's width under its step

    def test_every_task_is_a_row_and_a_retry_is_a_second_bar(self, retried_run: tuple[Path, str, Page]) -> None:
        page = retried_run[2]
        rows = [a["data-task"] for a in page.having(**{"class": "task"})]
        assert sorted(rows) == ["end/0", "gather/0", "start/0", "work/0.0", "work/0.1", "work/0.2"]
        bars = [a["data-status"] for a in page.having(**{"class": "attempt"})]
        assert bars.count("failed") == 1 and bars.count("succeeded") == 6

    def test_the_critical_path_goes_through_the_slow_item(self, retried_run: tuple[Path, str, Page]) -> None:
        page = retried_run[2]
        critical = {a["data-task"] for a in page.having(**{"class": "task", "data-critical": "true"})}
        assert critical == {"start/0", "work/0.2", "gather/0", "end/0"}

    def test_the_retried_failure_shows_its_error_and_output(self, retried_run: tuple[Path, str, Page]) -> None:
        text = retried_run[2].visible
        assert "work/0.1 attempt 0 — retried" in text
        assert "ValueError: item 1 broke on attempt 0" in text
        assert "working on item 1" in text  # the last lines it printed

    def test_parameters_are_text_never_markup(self, retried_run: tuple[Path, str, Page]) -> None:
        page = retried_run[2]
        assert "'<b>not bold</b>' (default)" in page.visible  # markup would have become a tag, not text

    def test_flow_report_writes_the_same_page_again(self, retried_run: tuple[Path, str, Page]) -> None:
        here, run_id, page = retried_run
        result = flow("report", f"RetriedForeachFlow/{run_id}", "--datastore", "store", "-o", "again.html", cwd=here)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "again.html"
        again = Page((here / "again.html").read_text())
        assert again.having(**{"class": "task"}) == page.having(**{"class": "task"})
        into = flow("report", f"RetriedForeachFlow/{run_id}", "--datastore", "store", "-o", "new/reports/", cwd=here)
        assert into.returncode == 0, into.stderr  # a folder that does not exist yet is made
        assert (here / "new/reports" / f"RetriedForeachFlow-{run_id}.html").is_file()
        bare = flow("report", f"RetriedForeachFlow/{run_id}", "--datastore", "store", "-o", "bare", cwd=here)
        assert bare.returncode == 0, bare.stderr  # a new path without a suffix is a folder, as for flow compile -o
        assert (here / "bare" / f"RetriedForeachFlow-{run_id}.html").is_file()


def test_a_run_in_either_store_reports_the_same(tmp_path: Path, store) -> None:
    """The report reads through the store's interface only: an S3 store (a real server on loopback) works too."""
    result = flow("run", str(FLOW), "--datastore", store.url, "--quiet", cwd=tmp_path, env=store.env)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split()[0].split("/")[1]
    made = flow("report", f"RetriedForeachFlow/{run_id}", "--datastore", store.url, cwd=tmp_path, env=store.env)
    assert made.returncode == 0, made.stderr
    page = Page((tmp_path / made.stdout.strip()).read_text())
    assert len(page.having(**{"class": "task"})) == 6
    assert len(page.having(**{"class": "task", "data-critical": "true"})) == 4


def test_a_loop_is_one_row_per_repetition_on_the_critical_path(tmp_path: Path) -> None:
    result = flow("run", str(REPO / "tests/compat/flows/switch_loop.py"), "--datastore", "s", "--report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (path,) = tmp_path.glob("SwitchLoopFlow-*.html")
    page = Page(path.read_text())
    critical = [a["data-task"] for a in page.having(**{"class": "task", "data-critical": "true"})]
    assert critical == ["start/0", "train/0.0", "train/0.1", "train/0.2", "end/0"]


def test_trends_show_the_gates_metrics_across_the_namespace_with_this_run_ringed(tmp_path: Path) -> None:
    scored = str(REPO / "tests/flows/report/scored.py")
    for score in ("0.61", "0.72", "0.55", "0.80"):
        assert flow("run", scored, "--datastore", "s", "--score", score, "--quiet", cwd=tmp_path).returncode == 0
    store = FlowDatastore(LocalStorage(str(tmp_path / "s")), "ScoredFlow")
    (third,) = [r for r in store.run_ids() if (store.read_run(r) or {})["parameters"].get("score") == "0.55"]
    made = flow("report", f"ScoredFlow/{third}", "--datastore", "s", "-o", "r.html", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "r.html").read_text()
    page = Page(text)
    assert [a["data-metric"] for a in page.having(**{"class": "trend"})] == ["score"]  # what the gate reads
    assert "this run: 0.55" in page.visible
    assert text.count("<circle ") == 4 + 1 and text.count('class="marked"') == 1  # four runs, this one ringed

    asked = flow("report", f"ScoredFlow/{third}", "--datastore", "s", "-o", "l.html", "--metric", "label", cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    label = Page((tmp_path / "l.html").read_text())
    assert "label: label of run " in label.visible and "is str 'scored 0.61', not a number" in label.visible


class TestFailedRun:
    def test_a_run_that_failed_says_where_and_why(self, tmp_path: Path) -> None:
        result = flow("run", str(FLOW), "--datastore", "store", "--report", cwd=tmp_path, env={"FAIL_FOR_GOOD": "1"})
        assert result.returncode == 1
        (path,) = tmp_path.glob("RetriedForeachFlow-*.html")
        page = Page(path.read_text())
        statuses = {a["data-step"]: a["data-status"] for a in page.having(**{"class": "step"})}
        assert statuses["work"] == "failed" and statuses["end"] == "not run"
        assert "work/0.1 attempt 1" in page.visible
        # the run stops launching after the failure: item 2 may not have started, and then is not drawn
        assert re.search(r"× [23], 1 failed", page.visible)
        assert page.having(**{"class": "status failed"})
        path.unlink()

        resumed = flow("resume", str(FLOW), "--datastore", "store", "--report", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        (path,) = tmp_path.glob("RetriedForeachFlow-*.html")
        page = Page(path.read_text())
        reused = set(re.findall(r"((?:start|work)/[\d.]+): reused from ", page.visible))
        assert {"start/0", "work/0.0"} <= reused and "work/0.1" not in reused
        bars = {a["data-status"] for a in page.having(**{"class": "attempt"})}
        assert bars == {"reused", "failed", "succeeded"}  # work/0.1 fails once again, then succeeds
        critical = {a["data-task"] for a in page.having(**{"class": "task", "data-critical": "true"})}
        (work,) = critical - {"gather/0", "end/0"}  # one work task the resume ran; reused tasks took no time
        assert work.startswith("work/") and work not in reused
        assert f"reusing {len(reused)} tasks" in page.visible

    def test_an_attempt_that_never_finished_is_drawn_unfinished(self, tmp_path: Path) -> None:
        assert flow("run", str(FLOW), "--datastore", "store", "--quiet", cwd=tmp_path).returncode == 0
        store = FlowDatastore(LocalStorage(str(tmp_path / "store")), "RetriedForeachFlow")
        (run_id,) = store.run_ids()
        store.claim_attempt(run_id, "end", "0", 1, {"started_at": 1e10})  # a second attempt killed before recording
        page = Page(render_run_report(read_run_view(store, run_id)))
        end_bars = [a for a in page.having(**{"class": "attempt"}) if a.get("data-status") == "unfinished"]
        assert len(end_bars) == 1


class TestInvalid:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["RetriedForeachFlow"], "'RetriedForeachFlow' is not FLOW/RUN — e.g. flow report HelloFlow/"),
            (["RetriedForeachFlow/nope"], "no run RetriedForeachFlow/nope in the store at "),
            (["RetriedForeachFlow/x", "-o", "x.txt"], "-o x.txt: give a file name ending in .html or .htm, or a folder"),
        ],
    )
    def test_errors_say_what_to_give(self, retried_run: tuple[Path, str, Page], args: list[str], message: str) -> None:
        here = retried_run[0]
        result = flow("report", *args, "--datastore", "store", cwd=here)
        assert result.returncode != 0 and message in result.stderr


def test_a_report_and_the_cards_it_links_render_in_chromium(tmp_path: Path) -> None:
    """In a real browser, offline: the report draws its graph and every task, and the card it links to (with a
    Vega chart) draws too; neither logs an error."""
    from browser import render_page
    from htmltree import parse_html

    showcase = str(REPO / "tests/flows/cards/showcase.py")
    result = flow("run", showcase, "--datastore", "store", "--quiet", "--report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (report,) = tmp_path.glob("ShowcaseFlow-*.html")
    shown = render_page(report, screenshot=tmp_path / "report.png")
    assert shown.console_errors == []
    tree = parse_html(shown.dom, strict=False)
    graph = tree.find("svg", "flow-graph")
    assert sorted(g.attrs["data-step"] for g in graph.find_all("g") if "step" in g.classes) == ["end", "start"]
    assert len([r for r in tree.find("svg", "timeline").find_all("rect") if "attempt" in r.classes]) == 2
    links = [a.attrs["href"] for a in tree.find_all("a") if a.attrs.get("href", "").startswith(report.stem)]
    assert len(links) == 2  # the default card and the "report" card of start
    (chart_card,) = [tmp_path / link for link in links if "report" in link.rsplit("/", 1)[1]]
    card = render_page(chart_card)
    assert card.console_errors == []
    assert parse_html(card.dom, strict=False).find("div", "vega-chart").find("svg") is not None
