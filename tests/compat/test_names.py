"""Metaflow's public names resolve in flowship with Metaflow's meaning, and the import check reports the rest.

Reference: Metaflow's ``metaflow/__init__.py`` (what ``from metaflow import X`` offers),
``metaflow/metaflow_current.py`` (``current``'s fields, and ``None``/False outside a flow) and
``metaflow/client/core.py`` (``metadata``/``namespace`` switches, objects by pathspec).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import flowship
from conftest import REPO, two_step_flow
from flowship.compiler import check_flow_source
from flowship.current import FIELDS
from flowship.errors import FlowshipError, NotFound
from flowship.runtime.client import DataArtifact, Flow, Metaflow, Run, Step, Task, namespace

# Names a Metaflow flow or script imports from the top-level package (Metaflow's __init__.py), that flowship has.
METAFLOW_NAMES = [
    "FlowSpec", "step", "Parameter", "IncludeFile", "JSONType", "current", "S3",
    "namespace", "get_namespace", "default_namespace", "metadata", "get_metadata", "default_metadata",
    "Metaflow", "Flow", "Run", "Step", "Task", "DataArtifact", "metaflow_version", "cards", "datatools",
    "card", "parallel_map", "parallel_imap_unordered", "profile", "retry", "catch", "timeout", "resources", "environment", "kubernetes", "secrets", "schedule", "project",
]


def run_flow(tmp_path, source: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "flowship", "run", str(path), "--datastore", str(tmp_path / "store"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(autouse=True)
def every_namespace():
    namespace(None)
    yield
    namespace(None)
    flowship.default_metadata()


@pytest.mark.parametrize("name", METAFLOW_NAMES)
def test_every_metaflow_name_imports(name):
    """``from metaflow import X`` works for each of Metaflow's top-level names; so does ``from flowship import X``."""
    exec(f"from flowship import {name}", {})
    assert name in flowship.__all__


def test_metaflow_version_is_a_module_with_get_version():
    """Metaflow: ``from metaflow import metaflow_version; metaflow_version.get_version()`` gives the version text."""
    from flowship import metaflow_version

    assert metaflow_version.get_version() == metaflow_version.get_version(public=True) == flowship.__version__


def test_current_outside_a_flow():
    """Metaflow's ``current`` outside a running flow: is_running_flow is False, ``get`` gives the default, ``in`` is
    False. flowship keeps its clear error for reading a task field directly."""
    from flowship import current

    assert current.is_running_flow is False
    assert (current.get("run_id"), current.get("run_id", "none"), "run_id" in current) == (None, "none", False)
    with pytest.raises(FlowshipError, match=r"current.run_id is only set inside a running step"):
        current.run_id
    with pytest.raises(AttributeError, match="current has no attribute 'checkpoint'"):
        current.checkpoint


def test_parallel_map_and_profile(capfd):
    """Metaflow's multicore_utils: parallel_map keeps the items' order and takes closures (forked, not pickled);
    a failing call raises MulticoreException; profile prints or adds milliseconds to a dict."""
    from flowship import parallel_imap_unordered, parallel_map, profile
    from flowship.multicore import MulticoreException

    factor = 3
    parents = {os.getpid()}
    results = parallel_map(lambda x: (x * factor, os.getpid() not in parents), range(7), max_parallel=2)
    assert results == [(x * 3, True) for x in range(7)]
    assert sorted(parallel_imap_unordered(lambda x: x + 1, [1, 2, 3])) == [2, 3, 4]
    with pytest.raises(MulticoreException, match="parallel_map: the child process [0-9]+ failed"):
        parallel_map(lambda x: 1 / x, [1, 0, 2])
    assert "ZeroDivisionError: division by zero" in capfd.readouterr().err
    stats: dict = {}
    with profile("load", stats):
        pass
    with profile("load", stats):
        pass
    with profile("train"):
        pass
    assert list(stats) == ["load"] and stats["load"] >= 0
    assert capfd.readouterr().out.splitlines()[0] == "PROFILE: train starting"


NAMES_FLOW = """
    from flowship import FlowSpec, step, current, project, Parameter, JSONType
    from flowship import get_metadata, metaflow_version, Task, Run, get_namespace
    from flowship.cards import Markdown, Table, Image, Artifact, VegaChart, ProgressBar, Error

    @project(name="demo")
    class NamesFlow(FlowSpec):
        alpha = Parameter("alpha", default=0.5)

        @step
        def start(self):
            self.seen = {field: current.get(field) for field in (
                "flow_name", "step_name", "task_id", "retry_count", "origin_run_id", "namespace", "username",
                "is_running_flow", "is_production", "project_name", "branch_name", "project_flow_name",
                "is_user_branch", "pathspec", "parameter_names", "tempdir")}
            self.graph_types = {name: s["type"] for name, s in current.graph["steps"].items()}
            self.foreach_artifact = current.graph["steps"]["start"].get("foreach_artifact")
            self.metadata = get_metadata()
            self.version = metaflow_version.get_version()
            self.ns = get_namespace()
            self.run_pathspec = current.run.pathspec
            self.items = [1, 2]
            bar = ProgressBar(max=10, label="work")
            bar.update(5)
            current.card.append(Markdown("# hello"))
            current.card.extend([Table([[1, 2]], headers=["a", "b"]), Artifact(self.items), Error(ValueError("x"))])
            current.card["summary"].append(VegaChart({"mark": "bar"}), id="chart")
            current.card["summary"]["chart"] = Image(b"png", label="img")
            current.card.refresh()
            self.next(self.each, foreach="items")

        @step
        def each(self):
            self.task_pathspec = Task(current.pathspec).pathspec
            self.next(self.join)

        @step
        def join(self, inputs):
            self.task_pathspecs = sorted(i.task_pathspec for i in inputs)
            self.next(self.end)

        @step
        def end(self):
            self.from_run = Run(current.flow_name + "/" + current.run_id)["start"].task.data.version
"""


def test_a_flow_using_metaflow_names_runs(tmp_path):
    """Metaflow's current fields inside a task (current.graph's step types, @project's project_flow_name and
    user.<name> branch), get_metadata() naming the store, Task/Run by pathspec, card components accepted."""
    result = run_flow(tmp_path, NAMES_FLOW, env={"FLOWSHIP_USER": "ann"})
    assert result.returncode == 0, result.stderr
    run = Flow("NamesFlow", datastore=str(tmp_path / "store")).latest_run
    start = run["start"].task.data
    assert start.seen == {
        "flow_name": "NamesFlow", "step_name": "start", "task_id": "0", "retry_count": 0, "origin_run_id": None,
        "namespace": "user:ann", "username": "ann", "is_running_flow": True, "is_production": False,
        "project_name": "demo", "branch_name": "user.ann", "project_flow_name": "demo.user.ann.NamesFlow",
        "is_user_branch": True, "pathspec": f"NamesFlow/{run.id}/start/0", "parameter_names": ["alpha"],
        "tempdir": start.seen["tempdir"],
    }
    assert os.path.isdir(start.seen["tempdir"])
    assert start.graph_types == {"start": "split-foreach", "each": "linear", "join": "join", "end": "end"}
    assert start.foreach_artifact == "items"
    assert start.metadata == f"local@{tmp_path / 'store'}"
    assert (start.version, start.ns, start.run_pathspec) == (flowship.__version__, "user:ann", run.pathspec)
    assert run["join"].task.data.task_pathspecs == [f"NamesFlow/{run.id}/each/0.0", f"NamesFlow/{run.id}/each/0.1"]
    assert run.data.from_run == flowship.__version__
    assert {"user:ann", "project:demo", "project_branch:user.ann"} <= run.system_tags


def test_client_names_by_pathspec_and_metadata_switch(tmp_path):
    """Metaflow: ``metadata(path)`` switches where the Client reads, ``default_metadata()`` resets it;
    ``Run("F/r")``, ``Step("F/r/s")``, ``Task("F/r/s/t")``, ``DataArtifact("F/r/s/t/x")`` name objects directly;
    ``Metaflow().flows`` lists the flows."""
    result = run_flow(tmp_path, two_step_flow(name="TinyFlow").replace("pass", "self.x = 42").replace(
        "class TinyFlow", "from flowship import *\n\nclass TinyFlow"))
    assert result.returncode == 0, result.stderr
    store = str(tmp_path / "store")
    assert flowship.metadata(store) == f"local@{store}" == flowship.get_metadata()
    assert flowship.metadata(f"local@{store}") == f"local@{store}"
    run_id = Flow("TinyFlow").latest_run.id
    assert Run(f"TinyFlow/{run_id}").successful
    assert [t.pathspec for t in Step(f"TinyFlow/{run_id}/end")] == [f"TinyFlow/{run_id}/end/0"]
    artifact = DataArtifact(f"TinyFlow/{run_id}/end/0/x")
    assert (artifact.data, artifact.id, artifact.size > 0, len(artifact.sha)) == (42, "x", True, 64)
    assert Task(f"TinyFlow/{run_id}/end/0")["x"].data == 42
    assert [a.id for a in Task(f"TinyFlow/{run_id}/end/0")] == ["x"]
    assert [f.id for f in Metaflow().flows] == ["TinyFlow"]
    assert flowship.default_metadata() != f"local@{store}"
    with pytest.raises(NotFound, match=r"Run\('TinyFlow'\): a run is named FLOW/RUN"):
        Run("TinyFlow")
    with pytest.raises(FlowshipError) as error:
        flowship.metadata("service@https://metadata.example.com")
    assert str(error.value) == (
        "metadata('service@https://metadata.example.com'): flowship keeps run metadata in its store, so give the "
        "store: a folder, local@FOLDER, s3://bucket/prefix or s3@s3://bucket/prefix (there is no metadata service)")


def test_default_namespace_and_namespace_as_a_tag(tmp_path):
    """Metaflow: ``default_namespace()`` returns to ``user:<you>``; a namespace is a tag, so
    ``namespace("project:demo")`` shows the project's runs."""
    result = run_flow(tmp_path, NAMES_FLOW, env={"FLOWSHIP_USER": "ann"})
    assert result.returncode == 0, result.stderr
    store = str(tmp_path / "store")
    flowship.namespace("project:demo")
    assert len(Flow("NamesFlow", datastore=store).runs()) == 1
    flowship.namespace("project:other")
    assert Flow("NamesFlow", datastore=store).runs() == []
    os.environ["FLOWSHIP_USER"] = "ann"
    try:
        assert flowship.default_namespace() == "user:ann" == flowship.get_namespace()
    finally:
        del os.environ["FLOWSHIP_USER"]


HEADER = "from flowship import FlowSpec, step\n"


def problems(imports: str, body: str = "pass") -> list[str]:
    source = HEADER + textwrap.dedent(imports) + two_step_flow().replace("pass", body)
    return [str(p) for p in check_flow_source(source, "flow.py").problems]


@pytest.mark.parametrize("imports, body, expected", [
    ("from flowship import Runner\n", "pass",
     "flow.py:2: `from flowship import Runner`: flowship has no 'Runner' — start runs with `flow run FLOW_FILE` "
     "(flowship has no Python Runner API yet)"),
    ("from flowship import get_metdata\n", "pass",
     "flow.py:2: `from flowship import get_metdata`: flowship has no 'get_metdata' — did you mean get_metadata?"),
    ("from flowship.cards import Markdown, Tabel\n", "pass",
     "flow.py:2: `from flowship.cards import Tabel`: flowship.cards has no 'Tabel' — did you mean Table?"),
    ("from flowship.plugins.datatools.s3 import S3PutObject\n", "pass",
     "flow.py:2: `from flowship.plugins.datatools.s3 import S3PutObject`: there is no module "
     "flowship.plugins.datatools.s3 — from flowship.datatools import S3 (or from flowship import S3)"),
    ("from metaflow.cards import Markdown\n", "pass",
     "flow.py:2: `from metaflow.cards import Markdown`: this flow imports Metaflow — import the same names from "
     "flowship.cards"),
    ("from metaflow.plugins.datatools.s3 import S3\n", "pass",
     "flow.py:2: `from metaflow.plugins.datatools.s3 import S3`: this flow imports Metaflow — from flowship.datatools "
     "import S3 (or from flowship import S3)"),
    ("import metaflow\n", "pass",
     "flow.py:2: `import metaflow`: this flow imports Metaflow — import the same names from flowship"),
    ("import flowship\n", "print(flowship.Deployer)",
     "flow.py:14: `flowship.Deployer`: flowship has no 'Deployer' — deploy with `flow deploy FLOW_FILE --target "
     "argo|airflow`"),
    ("import flowship as fs\n", "fs.cards.Tabel()",
     "flow.py:14: `fs.cards.Tabel`: flowship.cards has no 'Tabel' — did you mean Table?"),
    ("from flowship import current\n", "print(current.checkpoint)",
     f"flow.py:14: current.checkpoint: flowship's current has no 'checkpoint' — current has {', '.join(FIELDS)}"),
])
def test_import_check_reports_missing_names(imports, body, expected):
    """A name a Metaflow flow may import but flowship lacks is an error at flow check, with its file:line."""
    assert problems(imports, body) == [expected]


def test_star_import_reports_metaflow_names_it_does_not_give():
    """``from metaflow import *`` binds every public Metaflow name; after ``from flowship import *`` a use of one
    flowship lacks is an error at check (once per name), not a NameError in the task."""
    source = "from flowship import *\n" + two_step_flow().replace("pass", "Runner(); Runner(); print(UserStepDecorator, S3)")
    assert [str(p) for p in check_flow_source(source, "flow.py").problems] == [
        "flow.py:13: Runner: `from flowship import *` does not give 'Runner' (Metaflow's does) — start runs with "
        "`flow run FLOW_FILE` (flowship has no Python Runner API yet)",
        "flow.py:13: UserStepDecorator: `from flowship import *` does not give 'UserStepDecorator' (Metaflow's does) "
        "— custom step decorators are not supported; use a plain Python function called by the step",
    ]


def test_card_decorator_marks_and_returns_the_step():
    """Metaflow's @card works bare or with arguments (type, id, options, timeout); flowship's returns the step."""
    from flowship import card

    def body(self):
        pass

    assert card(body) is body and card(type="blank", id="summary", options={}, timeout=45)(body) is body


def test_import_check_accepts_what_flowship_has():
    """Every implemented name, module attribute chains and current's Metaflow fields pass the check."""
    imports = """\
        import flowship
        import flowship.cards
        from flowship import S3, current, get_metadata, metaflow_version, Task, DataArtifact, default_namespace
        from flowship.cards import Markdown, Table, Image, Artifact, VegaChart, ProgressBar, Error
        from flowship.datatools import S3PutObject, S3GetObject
    """
    body = "print(flowship.cards.Markdown, flowship.S3, current.graph, current.is_running_flow, current.card)"
    assert problems(imports, body) == []


def test_card_decorator_is_applied_without_a_warning():
    """Metaflow's @card renders a card after the step; flowship renders it too (tests/test_cards.py), so flow check
    has nothing to warn about and the IR carries the card."""
    source = HEADER + "from flowship import card\n" + two_step_flow(start_decorators="    @card(type='blank')")
    result = check_flow_source(source, "flow.py")
    assert result.ir is not None and result.problems == ()
    assert [(c.type, c.id) for c in result.ir.step("start").decorators.cards] == [("blank", None)]


def test_current_graph_names_a_switch(tmp_path):
    """Metaflow 2.17's current.graph gives a switch step the type split-switch with its condition and cases."""
    result = run_flow(tmp_path, """
        from flowship import FlowSpec, step, current

        class SwitchGraphFlow(FlowSpec):
            @step
            def start(self):
                self.mode = "a"
                self.node = current.graph["steps"]["start"]
                self.next({"a": self.a, "b": self.b}, condition="mode")

            @step
            def a(self):
                self.next(self.end)

            @step
            def b(self):
                self.next(self.end)

            @step
            def end(self):
                pass
    """)
    assert result.returncode == 0, result.stderr
    node = Flow("SwitchGraphFlow", datastore=str(tmp_path / "store")).latest_run["start"].task.data.node
    assert (node["type"], node["condition"], node["switch_cases"], node["next"]) == (
        "split-switch", "mode", {"a": "a", "b": "b"}, ["a", "b"])
