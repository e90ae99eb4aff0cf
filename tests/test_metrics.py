"""flow metrics: an artifact across runs, its chart, and alerts on drift; metric_series for other readers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from conftest import REPO
from flowship.runtime.metrics import check_alert, metric_series

DRIFTING = '''from flowship import FlowSpec, Parameter, step


class DriftFlow(FlowSpec):
    score = Parameter("score", default=0.9)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        self.accuracy = float(self.score)
        self.label = "run"
'''
# ten steady days, then the data drifts
SCORES = [0.90, 0.91, 0.89, 0.90, 0.92, 0.91, 0.90, 0.89, 0.91, 0.90, 0.80, 0.78]


def flow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("metrics")
    (folder / "drift.py").write_text(DRIFTING)
    for score in SCORES:
        result = flow("run", str(folder / "drift.py"), "--score", str(score), "--datastore", str(folder / "store"),
                      "--quiet")
        assert result.returncode == 0, result.stderr
    return folder / "store"


def test_series_oldest_first_with_last(store):
    series = metric_series("DriftFlow", "accuracy", datastore=str(store), namespace=None)
    assert [p.value for p in series.points] == SCORES
    assert [p.value for p in metric_series("DriftFlow", "accuracy", datastore=str(store), namespace=None,
                                           last=3).points] == SCORES[-3:]
    assert metric_series("DriftFlow", "accuracy", datastore=str(store), namespace="production:x").points == ()
    missing = metric_series("DriftFlow", "recall", datastore=str(store), namespace=None)
    assert missing.points == () and len(missing.missing) == 12


def test_drift_triggers_the_alert_and_names_the_runs(store, tmp_path):
    chart = tmp_path / "accuracy.svg"
    result = flow("metrics", "DriftFlow", "accuracy", "--datastore", str(store), "--all-namespaces",
                  "--alert", "abs(value - mean) > 3 * stdev", "--plot", str(chart))
    assert result.returncode == 1
    runs = [p.run_id for p in metric_series("DriftFlow", "accuracy", datastore=str(store), namespace=None).points]
    lines = result.stdout.splitlines()
    assert [line.split("  ", 2)[1:] for line in lines[:3]] == [
        [runs[0], "0.9  (not checked: needs earlier runs)"], [runs[1], "0.91  (not checked: needs earlier runs)"],
        [runs[2], "0.89"]]
    assert lines[10].split("  ", 2)[2] == "0.8  ALERT value=0.8, mean=0.903, stdev=0.00948683"
    assert "ALERT" in lines[11] and not any("ALERT" in line for line in lines[:10])
    assert result.stderr.splitlines()[-1] == (
        f"alert abs(value - mean) > 3 * stdev broken by 2 run(s): {runs[10]}, {runs[11]}")
    svg = ElementTree.parse(chart).getroot()
    dots = svg.findall("{http://www.w3.org/2000/svg}circle")
    assert len(dots) == 12 and [d.get("fill") for d in dots].count("#d1242f") == 2
    assert svg.find("{http://www.w3.org/2000/svg}title").text == "DriftFlow accuracy over 12 runs"


def test_a_steady_window_passes(store):
    result = flow("metrics", "DriftFlow", "accuracy", "--datastore", str(store), "--all-namespaces", "--last", "3",
                  "--alert", "value < 0.75")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 3


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="a PNG chart needs matplotlib")
def test_png_chart(store, tmp_path):
    result = flow("metrics", "DriftFlow", "accuracy", "--datastore", str(store), "--all-namespaces",
                  "--plot", str(tmp_path / "a.png"))
    assert result.returncode == 0 and (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (("--alert", "valu < 1"), 'error: alert "valu < 1": unknown name (use count, max, mean, min, previous, stdev, '
                              "value) at column 1: valu"),
    (("--alert", "value"), 'error: alert "value" gives float 0.9, not True or False — compare it, e.g. value < 0.9'),
    (("--plot", "chart.pdf"), "error: --plot chart.pdf: name the chart FILE.svg or FILE.png"),
    (("--last", "0"), "error: --last 0: give how many of the newest runs to show, 1 or more"),
])
def test_errors(store, args, message):
    result = flow("metrics", "DriftFlow", "accuracy", "--datastore", str(store), "--all-namespaces", *args)
    assert (result.returncode, result.stderr.strip().splitlines()[-1]) == (1, message)


def test_an_artifact_that_is_no_number_cannot_be_alerted_on(store):
    series = metric_series("DriftFlow", "label", datastore=str(store), namespace=None, last=1)
    with pytest.raises(Exception, match=r"label of run .* is str 'run', not a number: alerts and charts need numbers"):
        check_alert(series, "value > 1")
    listed = flow("metrics", "DriftFlow", "label", "--datastore", str(store), "--all-namespaces", "--last", "1")
    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("'run'")


def test_nan_and_inf_are_left_out_of_the_statistics_and_marked_on_the_chart():
    """A failed training often reports nan: it must not crash the alert nor blank the chart of the other runs."""
    from flowship.runtime.chart import svg_chart
    from flowship.runtime.metrics import MetricPoint, MetricSeries

    values = [1.0, 1.1, float("nan"), 0.9, float("inf"), 1.0, 5.0]
    series = MetricSeries("F", "loss", tuple(MetricPoint(i, f"r{i}", v) for i, v in enumerate(values)))
    checks = check_alert(series, "abs(value - mean) > 3 * stdev")
    # inf is as far from the mean as can be; nan compares false as in Python (catch it with value != value)
    assert [c.point.run_id for c in checks if c.broke] == ["r4", "r6"]
    assert check_alert(series, "value != value")[2].broke is True
    svg = ElementTree.fromstring(svg_chart(series))
    dots = svg.findall("{http://www.w3.org/2000/svg}circle")
    assert len(dots) == 5 and all(d.get("cy") != "nan" for d in dots)
    marks = [t for t in svg.findall("{http://www.w3.org/2000/svg}text") if t.get("class") == "not-finite"]
    assert [t.text for t in marks] == ["nan", "inf"]


def test_an_alert_over_no_run_fails(store):
    """A scheduled check on a misspelt flow or artifact must not pass for ever."""
    result = flow("metrics", "DriftFlo", "accuracy", "--datastore", str(store), "--alert", "value < 0.5")
    assert result.returncode == 1 and result.stdout.startswith("no successful run of DriftFlo with accuracy")
    listed = flow("metrics", "DriftFlo", "accuracy", "--datastore", str(store))
    assert listed.returncode == 0
