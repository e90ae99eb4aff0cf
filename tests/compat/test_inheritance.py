"""Flows built from base classes and mixins in other modules of the project, as Metaflow allows.

Metaflow builds its graph from every ``@step`` the flow class has through ``dir()`` (steps of bases in any
module, each node keeping its own source file) and reads Parameters and class constants the same way;
flowship reads those modules' source without running them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

from flowship.flowfile import check_flow_file
from flowship.runtime.client import Flow, namespace

FIXTURE = Path(__file__).parent / "flows" / "inherited" / "inherited_flow.py"


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder / "flow.py"


def run(flow: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", "run", str(flow), "--quiet", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


PACKAGE = {
    "pkg/__init__.py": "",
    "pkg/mixins.py": """
        from flowship import Parameter

        class Scaled:
            factor = Parameter("factor", default=3)
    """,
    "pkg/base.py": """
        from flowship import FlowSpec, step
        from .mixins import Scaled

        class Base(Scaled, FlowSpec):
            @step
            def start(self):
                self.value = self.factor * 2
                self.next(self.end)
    """,
    "flow.py": """
        import pkg.base
        from flowship import step

        class PackagedFlow(pkg.base.Base):
            @step
            def end(self):
                self.final = self.value + 1
    """,
}


class TestValid:
    def test_steps_parameters_and_constants_of_bases_in_other_modules(self):
        """Metaflow: a mixin's Parameter is a flow parameter; a base flow's steps are the flow's steps."""
        ir = check_flow_file(str(FIXTURE)).ir
        assert [s.name for s in ir.steps] == ["start", "train", "end"]
        assert [(p.name, p.default) for p in ir.parameters] == [("alpha", 0.5), ("seed", 42)]  # bases first

    def test_a_subclass_overrides_a_base_parameter_and_the_first_base_wins(self, tmp_path):
        """Python's attribute lookup, which Metaflow's dir()-based discovery follows."""
        flow = write(tmp_path, {"flow.py": """
            from flowship import FlowSpec, Parameter, step

            class A:
                n = Parameter("n", default=1)

            class B:
                n = Parameter("n", default=2)

            class F(A, B, FlowSpec):
                m = Parameter("m", default=3)

                @step
                def start(self):
                    self.next(self.end)

                @step
                def end(self):
                    pass

            class G(F):
                m = Parameter("m", default=4)
        """})
        ir = check_flow_file(str(flow)).ir
        assert (ir.name, [(p.name, p.default) for p in ir.parameters]) == ("G", [("n", 1), ("m", 4)])

    def test_module_imports_and_relative_imports_in_a_package(self, tmp_path):
        ir = check_flow_file(str(write(tmp_path, PACKAGE))).ir
        assert ir.name == "PackagedFlow" and [p.name for p in ir.parameters] == ["factor"]


class TestInvalid:
    def test_a_problem_in_a_base_module_names_that_file_and_line(self, tmp_path):
        files = dict(PACKAGE)
        files["pkg/base.py"] = files["pkg/base.py"].replace("@step\n", "@retry(times=-1)\n            @step\n")
        files["pkg/base.py"] = files["pkg/base.py"].replace("import FlowSpec, step", "import FlowSpec, retry, step")
        problems = [str(p) for p in check_flow_file(str(write(tmp_path, files))).problems]
        assert problems == [
            f"{tmp_path}/pkg/base.py:6: @retry: times must be zero or more, got -1 — fix the argument"
        ]

    def test_a_relative_import_in_the_flow_file_is_refused(self, tmp_path):
        """Tasks import the flow file by its path, as `python flow.py` does: a relative import there cannot work."""
        files = dict(PACKAGE)
        files["pkg/flow.py"] = files.pop("flow.py").replace("import pkg.base", "from . import base as pkgbase")
        files["pkg/flow.py"] = files["pkg/flow.py"].replace("(pkg.base.Base)", "(pkgbase.Base)")
        write(tmp_path, files)
        problems = [str(p) for p in check_flow_file(str(tmp_path / "pkg" / "flow.py")).problems if p.is_error]
        assert problems[0] == (
            f"{tmp_path}/pkg/flow.py:2: the flow file imports relatively (from . import ...), which fails when its "
            "tasks import it as a script — import absolutely, e.g. from pkg.module import Name (the flow's project "
            "root is importable)"
        )

    def test_a_flow_whose_base_cannot_be_found_says_which_base(self, tmp_path):
        flow = write(tmp_path, {"flow.py": """
            from missing_module import BaseFlow
            from flowship import step

            class F(BaseFlow):
                @step
                def start(self):
                    self.next(self.end)
        """})
        assert [str(p) for p in check_flow_file(str(flow)).problems] == [
            f"{flow}:5: class F has steps, but its base BaseFlow cannot be read, so flow check cannot tell it is a "
            "flow — keep base classes in the flow's folder or project (found as the flow's tasks import them), or "
            "derive the flow from FlowSpec directly"
        ]

    def test_a_parameter_flow_check_cannot_read_stops_the_run_before_any_step(self, tmp_path):
        """Metaflow would pass the value; a step must never see a Parameter object instead (a silent wrong result)."""
        flow = write(tmp_path, {
            "lib/hidden.py": """
                from flowship import Parameter

                class Hidden:
                    secret = Parameter("secret", default=1)
            """,
            "flow.py": """
                import os, sys
                sys.path.append(os.path.join(os.path.dirname(__file__), "lib"))
                from hidden import Hidden
                from flowship import FlowSpec, step

                class HiddenFlow(Hidden, FlowSpec):
                    @step
                    def start(self):
                        self.seen = self.secret
                        self.next(self.end)

                    @step
                    def end(self):
                        pass
            """,
        })
        result = run(flow, "--datastore", str(tmp_path / "store"))
        assert result.returncode == 1
        start = Flow("HiddenFlow", datastore=str(tmp_path / "store")).latest_run["start"].task
        assert start.exception == (
            "secret of flow HiddenFlow is a Parameter that flow check could not read (made by code, or on a base "
            "class whose module it cannot find) — declare it as `name = Parameter(...)` in the flow file or in a "
            "base class in the project\n"
        )


class TestExecution:
    def test_local(self, tmp_path):
        result = run(FIXTURE, "--seed", "2", "--datastore", str(tmp_path))
        assert result.returncode == 0, result.stderr
        data = Flow("InheritedFlow", datastore=str(tmp_path)).latest_run["train"].task.data
        assert data.result == (1.0, 2, 0.1, "v2") and data.VERSION == "v2"

    def test_package_with_relative_imports(self, tmp_path):
        result = run(write(tmp_path, PACKAGE), "--factor", "5", "--datastore", str(tmp_path / "store"))
        assert result.returncode == 0, result.stderr
        assert Flow("PackagedFlow", datastore=str(tmp_path / "store")).latest_run.data.final == 11

    def test_argo(self, tmp_path):
        """Deployed tasks run from the code package, which holds the base module beside the flow."""
        from test_argo import deploy_and_run

        deploy_and_run(FIXTURE, tmp_path, "wf-inh", {"seed": "3"})
        data = Flow("InheritedFlow", datastore=str(tmp_path))["argo-ml.wf-inh"]["train"].task.data
        assert data.result == (1.5, 3, 0.1, "v2")
