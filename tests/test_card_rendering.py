"""Cards: every component and card type rendered and checked by structure, the page skeleton, rendering that
never fails a task (errors, timeouts, save_errors), what flow check says about @card, and a card in Chromium."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest

from browser import render_page
from conftest import check, two_step_flow
from flowship.cards import (
    Artifact,
    Error,
    EventsTimeline,
    Image,
    JSONViewer,
    Markdown,
    MetaflowCardComponent,
    ProgressBar,
    PythonCode,
    Table,
    ValueBox,
    VegaChart,
    YAMLViewer,
)
from flowship.cards.components import RenderContext, render_component
from flowship.cards.cardtypes import TaskSnapshot, render_card
from flowship.cards.collector import CardCollector
from flowship.cards.page import inline_script, page
from flowship.cards.render import render_task_cards
from flowship.compiler.ir import Card
from htmltree import parse_html

BAR_SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": [{"a": "A", "b": 28}, {"a": "B", "b": 55}, {"a": "C", "b": 43}, {"a": "D", "b": 91}]},
    "mark": "bar",
    "encoding": {"x": {"field": "a", "type": "nominal"}, "y": {"field": "b", "type": "quantitative"}},
}


def rendered(component):
    context = RenderContext()
    return parse_html(render_component(component, context)), context


def png_bytes(color="red", size=(4, 3)) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


class TestComponents:
    def test_markdown_renders_blocks_and_shows_raw_html_as_text(self):
        tree, _ = rendered(Markdown("""
            # Title <script>alert(1)</script>
            Some **bold**, *em* and `code` with [a link](https://example.org) and [bad](javascript:alert(1)).

            - one
            - two

            | a | b |
            |---|---|
            | 1 | 2 |

            ```python
            x = 1 < 2
            ```
        """))
        assert tree.find("h1").text == "Title <script>alert(1)</script>"
        assert tree.find_all("script") == []
        assert [a.attrs["href"] for a in tree.find_all("a")] == ["https://example.org"]
        assert tree.find("strong").text == "bold" and tree.find("em").text == "em"
        assert [li.text for li in tree.find_all("li")] == ["one", "two"]
        assert [td.text for td in tree.find("table").find_all("td")] == ["1", "2"]
        assert tree.find("pre").find("code").text == "x = 1 < 2"

    def test_table_with_components_in_cells(self):
        tree, _ = rendered(Table([["a", 1.5], ["b", Artifact({"k": [1, 2]})]], headers=["name", "value"]))
        table = tree.find("table")
        assert [th.text for th in table.find_all("th")] == ["name", "value"]
        rows = table.find("tbody").find_all("tr")
        assert [td.text for td in rows[0].find_all("td")] == ["a", "1.5"]
        assert rows[1].find("pre").text == "{'k': [1, 2]}"

    def test_table_from_dataframe_truncates_and_says_so(self):
        pandas = pytest.importorskip("pandas")
        frame = pandas.DataFrame({"x": range(150), "y": [f"<{i}>" for i in range(150)]})
        tree, _ = rendered(Table.from_dataframe(frame))
        assert [th.text for th in tree.find_all("th")] == ["", "x", "y"]
        rows = tree.find("tbody").find_all("tr")
        assert len(rows) == 100 and [td.text for td in rows[3].find_all("td")] == ["3", "3", "<3>"]
        assert tree.find("div", "muted").text == "50 more rows not shown (150 in all)"
        full, _ = rendered(Table.from_dataframe(frame, truncate=False))
        assert len(full.find("tbody").find_all("tr")) == 150
        other, _ = rendered(Table.from_dataframe([1, 2]))
        assert other.find("th").text == "Object type builtins.list not supported"

    def test_image_from_bytes_pil_and_matplotlib_is_embedded(self):
        matplotlib = pytest.importorskip("matplotlib")
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from PIL import Image as PILImage

        figure, axes = plt.subplots()
        axes.plot([1, 2, 3], [3, 1, 2])
        images = [Image(png_bytes(), label="bytes"), Image.from_pil_image(PILImage.new("RGB", (5, 5)), label="pil"),
                  Image.from_matplotlib(figure, label="figure"), Image.from_matplotlib(axes)]
        plt.close(figure)
        for image in images:
            tree, _ = rendered(image)
            src = tree.find("img").attrs["src"]
            assert src.startswith("data:image/png;base64,")
            assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
        assert rendered(images[2])[0].find("figcaption").text == "figure"

    def test_an_image_that_is_not_one_shows_its_error(self):
        tree, _ = rendered(Image(b"not an image", label="x"))
        assert "the bytes are not a PNG, JPEG, GIF, WebP or SVG image" in tree.find("div", "error").text
        tree, _ = rendered(Image(42))
        assert "a int is not an image" in tree.find("div", "error").text

    def test_artifact_is_shortened_unless_compressed_is_false(self):
        big = list(range(1000))
        tree, _ = rendered(Artifact(big, name="numbers"))
        assert tree.find("div", "muted").text == "numbers"
        assert tree.find("pre").text.endswith("...]") and len(tree.find("pre").text) < 200
        tree, _ = rendered(Artifact(big, compressed=False))
        assert "999]" in tree.find("pre").text

    def test_vega_chart_asks_for_the_vega_scripts_and_carries_its_spec(self):
        tree, context = rendered(VegaChart(BAR_SPEC))
        assert context.scripts == {"vega"}
        chart = tree.find("div", "vega-chart")
        spec = next(s for s in tree.find_all("script") if s.attrs.get("type") == "application/json")
        assert spec.attrs["id"] == chart.attrs["id"] + "-spec" and json.loads(spec.text) == BAR_SPEC

    def test_vega_chart_from_altair(self):
        altair = pytest.importorskip("altair")
        pandas = pytest.importorskip("pandas")
        chart = altair.Chart(pandas.DataFrame({"a": ["x", "y"], "b": [1, 2]})).mark_bar().encode(x="a", y="b")
        tree, _ = rendered(VegaChart.from_altair_chart(chart))
        spec = json.loads(next(s for s in tree.find_all("script") if s.attrs.get("type") == "application/json").text)
        assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "a"

    def test_progress_error_valuebox_code_timeline_and_viewers(self):
        bar = ProgressBar(max=10, label="work", unit="items")
        bar.update(4, metadata="halfway")
        tree, _ = rendered(bar)
        assert tree.find("progress").attrs == {"max": "10", "value": "4"}
        assert "4/10 items" in tree.text and "halfway" in tree.text
        try:
            raise ValueError("bad <value>")
        except ValueError as exc:
            tree, _ = rendered(Error(exc, "It broke"))
        assert tree.find("strong").text == "It broke" and "ValueError: bad <value>" in tree.find("pre").text
        tree, _ = rendered(ValueBox(title="Accuracy", value=0.931251, theme="success", change_indicator="+2%"))
        assert tree.find("div", "valuebox").classes == {"valuebox", "success"}
        assert tree.find("div", "value").text == "0.9313"
        tree, _ = rendered(PythonCode(code_string="def f():\n    return 1"))
        assert tree.find("code").text == "def f():\n    return 1"
        timeline = EventsTimeline(title="Training", max_events=2)
        for epoch in range(3):
            timeline.update({"epoch": epoch}, style_theme="success", payloads={"loss": Markdown(f"**{epoch}**")})
        tree, _ = rendered(timeline)
        items = tree.find("ul", "timeline").find_all("li")
        assert len(items) == 2 and "epoch: 2" in items[0].text and items[0].find("details").find("strong").text == "2"
        tree, _ = rendered(JSONViewer({"a": [1, 2]}, title="data"))
        assert json.loads(tree.find("pre").text) == {"a": [1, 2]} and tree.find("summary").text == "data"
        tree, _ = rendered(YAMLViewer({"a": [1, 2]}, collapsible=False))
        assert tree.find("pre").text == "a:\n- 1\n- 2\n"

    def test_a_failing_component_or_a_non_component_is_shown_as_its_error(self):
        class Broken(MetaflowCardComponent):
            def render_html(self, context):
                raise RuntimeError("cannot draw")

        tree, _ = rendered(Broken())
        assert tree.find("strong").text == "Broken failed to render"
        assert tree.find("pre").text == "RuntimeError: cannot draw"
        tree, _ = rendered("just text")
        assert tree.find("strong").text == "Not a card component"


class TestPage:
    def test_page_is_one_document_with_inline_styles_and_scripts(self):
        html = page("A <title>", "<p>body</p>", scripts=["var s = '</script><b>';"])
        tree = parse_html(html)
        assert tree.find("title").text == "A <title>"
        assert tree.find("style").text.strip()
        assert tree.find("script").text == "var s = '<\\/script><b>';"
        assert tree.find("main").find("p").text == "body"
        assert "http" not in html.replace("https://", "").split("<main>")[0]  # nothing loaded from a network

    def test_inline_script_cannot_be_closed_by_its_content(self):
        assert inline_script("a</script>b<!--c") == "<script>a<\\/script>b<\\!--c</script>"


def snapshot(**values):
    from flowship.compiler.frontend import check_flow_source

    ir = check_flow_source(two_step_flow(members="    alpha = Parameter('alpha', default=1)"), "flow.py").ir
    meta = {"flow": "F", "run_id": "r1", "step": "start", "task_id": "0", "attempt": 0, "status": "succeeded",
            "started_at": 1000.0, "finished_at": 1002.5,
            "artifacts": {"alpha": {"sha": "0", "size": 12, "type": "int"}}}
    return TaskSnapshot("F/r1/start/0", ir, "start", meta, {"alpha": 1, **values}, ("alpha",),
                        {"stdout": "\n".join(f"line {i}" for i in range(100)), "stderr": ""}, "def start(self): ...")


class TestCardTypes:
    def test_default_card_shows_task_parameters_artifacts_code_and_log_tail(self):
        pandas = pytest.importorskip("pandas")
        values = {"frame": pandas.DataFrame({"x": [1, 2]}), "note": "<b>hi</b>", "picture": png_bytes()}
        card = Card("default", None, {"only_repr": False})
        tree = parse_html(render_card(card, snapshot(**values), [Markdown("# mine")], ["a warning"]))
        assert tree.find("h1").text == "F/r1/start/0"
        assert tree.find("div", "warning").text == "a warning"
        headings = [h.text for h in tree.find_all("h2")]
        assert headings[:4] == ["mine", "Task", "Parameters", "Artifacts"] or headings[:3] == ["Task", "Parameters",
                                                                                                  "Artifacts"]
        assert tree.find("div", "markdown").find("h1").text == "mine"  # the step's components come first
        task = {tr.find("th").text: tr.find("td").text for tr in tree.find("table", "vertical").find_all("tr")}
        assert task["Attempt"] == "0" and task["Status"] == "succeeded" and task["Duration"] == "2.5 s"
        assert task["User"] == "-" and task["Tags"] == "-"
        tables = tree.find_all("table", "artifacts")
        assert [tr.find("td").text for tr in tables[0].find("tbody").find_all("tr", None)] == ["alpha"]
        artifacts = {tr.find_all("td")[0].text: tr for tr in tables[1].find("tbody").children}
        assert sorted(artifacts) == ["frame", "note", "picture"]
        assert artifacts["note"].find("code").text == "'<b>hi</b>'"
        assert artifacts["frame"].find("table") is not None and artifacts["picture"].find("img") is not None
        assert "stdout (last 40 of 100 lines)" in headings and "line 99" in tree.text and "line 59" not in tree.text
        steps = {g.attrs["data-step"]: g for g in tree.find("div", "graph").find("svg").find_all("g", "step")}
        assert sorted(steps) == ["end", "start"] and headings[-1] == "Flow graph"
        assert steps["start"].find("rect").attrs["stroke-width"] == "3"  # this task's step stands out
        assert steps["end"].find("rect").attrs["stroke-width"] == "1.5"

    def test_default_card_only_repr_and_max_artifact_size(self):
        tree = parse_html(render_card(Card("default", None, {"max_artifact_size": 5}), snapshot(), [], []))
        assert "larger than max_artifact_size" in tree.find("table", "artifacts").text

    def test_an_artifact_whose_repr_raises_has_no_preview_and_the_card_renders(self):
        class Unprintable:
            def __repr__(self):
                raise RuntimeError("no repr")

        tree = parse_html(render_card(Card("default", None), snapshot(odd=Unprintable()), [], []))
        rows = {tr.find("td").text: tr for tr in tree.find_all("table", "artifacts")[1].find("tbody").children}
        assert rows["odd"].find("code").text.startswith("<Unprintable instance at 0x")

    def test_blank_card_has_only_its_title_and_components(self):
        tree = parse_html(render_card(Card("blank", "summary", {"title": "Results"}), snapshot(), [Markdown("x")], []))
        assert tree.find("h1").text == "Results" and tree.find_all("h2") == []
        assert tree.find("p", "subtitle").text == "F/r1/start/0 · blank card 'summary'"

    def test_html_card_is_the_html_artifact(self):
        tree = parse_html(render_card(Card("html", None), snapshot(html="<h2>Mine</h2>"), [], []))
        assert tree.find("h2").text == "Mine"
        whole = "<!DOCTYPE html><html><body>exact</body></html>"
        assert render_card(Card("html", None), snapshot(html=whole), [], []) == whole
        other = render_card(Card("html", None, {"artifact": "report"}), snapshot(report="<p>r</p>"), [], [])
        assert parse_html(other).find("main").find("p").text == "r"
        with pytest.raises(ValueError, match="the html card shows the artifact 'html', which step 'start' did not set"):
            render_card(Card("html", None), snapshot(), [], [])

    def test_only_a_card_with_a_chart_carries_the_vega_scripts(self):
        plain = render_card(Card("blank", None), snapshot(), [Markdown("x")], [])
        charted = render_card(Card("blank", None), snapshot(), [VegaChart(BAR_SPEC)], [])
        assert len(plain) < 20_000 < 500_000 < len(charted)
        # vega, vega-lite, vega-embed, ours; the chart's spec and its call
        assert len(parse_html(charted).find_all("script")) == 4 + 2


class Slow(MetaflowCardComponent):
    def render_html(self, context):
        time.sleep(30)
        return ""


def collector(*cards: Card) -> CardCollector:
    result = CardCollector()
    result.configure(cards)
    return result


class TestRenderingNeverFailsTheTask:
    def test_a_failing_card_is_saved_as_its_error_or_not_at_all(self):
        cards = collector(Card("html", None), Card("html", "quiet", save_errors=False), Card("blank", "fine"))
        entries = list(render_task_cards(snapshot(), cards))
        (first, error_page), (second, nothing), (third, fine) = entries
        assert first == {"type": "html", "id": None, "file": "cards/0-html.html",
                         "error": "ValueError: the html card shows the artifact 'html', which step 'start' did not set"}
        assert "The html card failed to render" in parse_html(error_page).find("div", "error").text
        assert second["file"] is None and second["error"].startswith("ValueError") and nothing is None
        assert third == {"type": "blank", "id": "fine", "file": "cards/2-blank-fine.html", "error": None} and fine

    def test_a_card_past_its_timeout_stops_and_records_why(self):
        cards = collector(Card("blank", None, timeout=1))
        cards.append(Slow())
        started = time.monotonic()
        [(entry, html)] = list(render_task_cards(snapshot(), cards))
        assert time.monotonic() - started < 5
        assert entry["error"] == "CardTimeout: rendering took longer than its timeout of 1 s" and html


class TestCurrentCard:
    def test_append_goes_to_the_one_editable_card_without_an_id(self, capsys):
        cards = collector(Card("default", None), Card("blank", "summary"), Card("html", "page"))
        cards.append(Markdown("a"))
        cards["summary"].append(Markdown("b"), id="b")
        assert [len(c) for c in cards.contents] == [1, 1, 0]
        assert isinstance(cards["summary"]["b"], Markdown)
        cards["summary"] = [Markdown("c"), Markdown("d")]
        assert len(cards["summary"]) == 2
        orphan = cards["nope"]
        orphan.append(Markdown("lost"))
        assert [len(c) for c in cards.contents] == [1, 2, 0]
        assert cards.warnings == ["current.card['nope'] belongs to no card: add @card(id='nope') to the step"]

    def test_append_is_dropped_with_a_warning_when_ambiguous(self, capsys):
        cards = collector(Card("default", None), Card("blank", None))
        cards.append(Markdown("a"))
        cards.append(Markdown("b"))
        assert [len(c) for c in cards.contents] == [0, 0]
        assert cards.warnings == ["current.card.append was ignored: it cannot choose among the step's cards: give "
                                  "each @card an id= and use current.card[id]"]
        assert capsys.readouterr().err.count("@card warning") == 1
        chosen = collector(Card("default", None), Card("blank", None, customize=True))
        chosen.append(Markdown("a"))
        assert [len(c) for c in chosen.contents] == [0, 1]

    def test_html_card_is_not_editable(self):
        cards = collector(Card("html", None))
        cards.append(Markdown("a"))
        assert cards.warnings == ["current.card.append was ignored: its one card (type 'html') is not editable"]


@pytest.mark.parametrize(("decorator", "message"), [
    ("@card(type='scatter3d')", "flow.py:8: @card: type 'scatter3d' is not a card type flowship renders; use one of "
                                "default, blank, html — fix the argument"),
    ("@card(id='my card')", "flow.py:8: @card: id 'my card' is not a card id; use up to 100 letters, digits and '_' "
                            "(it names current.card[id] and its file) — fix the argument"),
    (f"@card(id='{'x' * 101}')", f"flow.py:8: @card: id '{'x' * 101}' is not a card id; use up to 100 letters, digits "
                                 "and '_' (it names current.card[id] and its file) — fix the argument"),
    ("@card(options=[1])", "flow.py:8: @card: options must be a dict with string keys, got [1] — fix the argument"),
    ("@card(timeout=0)", "flow.py:8: @card: timeout must be positive, got 0 — fix the argument"),
    ("@card(kind='x')", "flow.py:8: @card has no argument 'kind' — use one of: type, id, options, timeout, "
                        "save_errors, refresh_interval, customize"),
    ("@card(id='a')\n    @card(id='a', type='blank')", "flow.py:9: @card: two cards with id 'a' on step 'start' — "
                                                        "give each its own id"),
])
def test_flow_check_pins_bad_card_arguments(decorator, message):
    result = check(two_step_flow(start_decorators="    " + decorator))
    assert [str(p) for p in result.problems if p.is_error] == [message]


def test_several_cards_on_a_step_are_kept_in_written_order():
    result = check(two_step_flow(start_decorators="    @card\n    @card(type='blank', id='b', options={'title': 'T'})"))
    assert result.problems == ()
    cards = result.ir.step("start").decorators.cards
    assert cards == (Card("default", None), Card("blank", "b", {"title": "T"}))


def test_a_card_with_a_chart_and_a_table_renders_in_chromium(tmp_path):
    """The vendored Vega draws the chart offline: one SVG with one mark per bar, no console errors."""
    html = render_card(Card("blank", None, {"title": "Chart"}), snapshot(),
                       [VegaChart(BAR_SPEC), Table([["a", 1], ["b", 2]], headers=["k", "v"])], [])
    path = tmp_path / "card.html"
    path.write_text(html)
    shown = render_page(path, screenshot=tmp_path / "card.png")
    assert shown.console_errors == []
    tree = parse_html(shown.dom, strict=False)
    chart = tree.find("div", "vega-chart")
    svg = chart.find("svg")
    bars = [g for g in svg.find_all("g") if "mark-rect" in g.classes][0]
    assert len(bars.find_all("path")) == 4
    assert [td.text for td in tree.find("tbody").find_all("td")] == ["a", "1", "b", "2"]
    assert (tmp_path / "card.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_browser_harness_sees_console_errors_and_the_dom_after_scripts(tmp_path):
    """What the chart test relies on: errors logged or thrown by a page are reported, and scripts have run."""
    path = tmp_path / "page.html"
    path.write_text("<html><head></head><body><p id='p'>before</p><script>document.getElementById('p').textContent"
                    " = 'after'; console.error('logged', 1);</script><script>missing();</script></body></html>")
    shown = render_page(path)
    assert shown.console_errors == ["logged 1", "Uncaught ReferenceError: missing is not defined"]
    fetching = tmp_path / "fetching.html"
    fetching.write_text("<html><head><script src='https://cdn.example.org/lib.js'></script></head><body></body></html>")
    assert render_page(fetching).console_errors == ["failed to load https://cdn.example.org/lib.js"]
    assert parse_html(shown.dom, strict=False).find("p").text == "after"


def test_the_vendored_vega_files_are_the_ones_the_manifest_names():
    """scripts/vendor_vega.py --check: each committed script and licence has the manifest's version and sha256."""
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("vendor_vega", REPO / "scripts" / "vendor_vega.py")
    vendor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vendor)
    assert vendor.check() == []
    assert sorted(vendor.PACKAGES) == ["vega", "vega-embed", "vega-lite"]
