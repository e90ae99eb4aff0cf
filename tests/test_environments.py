"""@pypi/@conda environments for real: resolved with uv, made once, entered by tasks locally and in deployments.

Each step of SIX_FLOW pins its own version of ``six`` (a small pure-Python
package), so the version a task records says which environment it ran in.
Locks are resolved on the network once per session (``resolved_environments``);
deployed tasks run with every package index unreachable (``NO_INDEX``), so they
can only install from the wheels ``flow deploy`` put in the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from argo.runner import ArgoRunner
from conftest import NO_INDEX, REPO

from flowship.compiler.targets.argo.manifest import compile_to_argo
from flowship.deploy import DeploySettings, build_deployment, upload_code
from flowship.envs.uv import EnvironmentFailure
from flowship.flowfile import load_flow
from flowship.runtime.client import Flow, namespace

SIX_FLOW = textwrap.dedent('''
    from flowship import FlowSpec, pypi, pypi_base, step


    @pypi_base(packages={"six": "1.16.0"})
    class SixFlow(FlowSpec):
        @step
        def start(self):
            import six
            self.start_six = six.__version__
            self.next(self.newer)

        @pypi(packages={"six": "1.17.0"})
        @step
        def newer(self):
            import sys
            import six
            self.newer_six = six.__version__
            self.newer_path = list(sys.path)
            self.next(self.plain)

        @pypi(disabled=True)
        @step
        def plain(self):
            import sys
            self.plain_prefix = sys.prefix
            self.next(self.end)

        @step
        def end(self):
            import six
            self.end_six = six.__version__


    if __name__ == "__main__":
        SixFlow()
''')


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def write_flow(folder: Path, source: str = SIX_FLOW) -> Path:
    path = folder / "flow" / "six_flow.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


def flow_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    variables = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "flowship", *args], capture_output=True, text=True, env=variables)


def recorded_versions(store: Path, run_id: str | None = None) -> dict:
    flow = Flow("SixFlow", datastore=str(store))
    run = flow[run_id] if run_id else flow.latest_run
    data = {name: run[name].task.data for name in ("start", "newer", "plain", "end")}
    return {
        "start": data["start"].start_six,
        "newer": data["newer"].newer_six,
        "plain_in_this_interpreter": data["plain"].plain_prefix == sys.prefix,
        "end": data["end"].end_six,
    }


PINNED = {"start": "1.16.0", "newer": "1.17.0", "plain_in_this_interpreter": True, "end": "1.16.0"}


class TestLocal:
    def test_each_step_runs_in_its_own_environment(self, tmp_path, environments_cache):
        """Metaflow: @pypi on a step adds to @pypi_base, its version wins; @pypi(disabled=True) runs the step
        without an environment (docs.metaflow.org, Managing External Libraries)."""
        flow = write_flow(tmp_path)
        done = flow_command("run", str(flow), "--environment=pypi", "--datastore", str(tmp_path / "store"))
        assert done.returncode == 0, done.stderr
        assert recorded_versions(tmp_path / "store") == PINNED
        newer_path = Flow("SixFlow", datastore=str(tmp_path / "store")).latest_run["newer"].task.data.newer_path
        site = [p for p in newer_path if p.endswith("site-packages")]
        assert len(site) == 1 and site[0].startswith(str(environments_cache)), newer_path  # nothing of ours leaks in

    def test_metaflow_order_of_options(self, tmp_path, environments_cache):
        """Metaflow's spelling: python flow.py --environment=pypi run."""
        flow = write_flow(tmp_path)
        done = subprocess.run([sys.executable, str(flow), "--environment", "pypi", "run", "--datastore",
                               str(tmp_path / "store")], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert recorded_versions(tmp_path / "store") == PINNED

    def test_without_environment_the_steps_run_here_with_a_warning(self, tmp_path):
        flow = write_flow(tmp_path, SIX_FLOW.replace("import six", "import json as six").replace(
            "six.__version__", "'here'"))
        done = flow_command("run", str(flow), "--datastore", str(tmp_path / "store"))
        assert done.returncode == 0, done.stderr
        assert ("warning: @pypi on step 'start' is not applied without --environment=pypi or --environment=conda: "
                "the step runs in this interpreter, with what is installed here") in done.stderr


class TestDeployed:
    def test_argo_pods_install_from_the_store_only(self, tmp_path, environments_cache):
        """Deployed tasks get the environment the deployment locked, with no package index at run time."""
        flow = write_flow(tmp_path)
        ir = load_flow(str(flow))
        build = build_deployment(str(flow), ir, DeploySettings("argo", datastore=str(tmp_path / "store")))
        upload_code(build)
        (template, *_) = compile_to_argo(ir, build.compiled.options)
        node = {"FLOWSHIP_CACHE": str(tmp_path / "node" / "code"), "FLOWSHIP_ENVIRONMENTS": str(tmp_path / "node"),
                **NO_INDEX}
        ArgoRunner(template, "wf-env", {}, env=node).run()
        assert recorded_versions(tmp_path / "store", "argo-ml.wf-env") == PINNED
        fetched = sorted(p.name for p in (tmp_path / "node" / "wheels").glob("six-*.whl"))
        assert fetched == ["six-1.16.0-py2.py3-none-any.whl", "six-1.17.0-py2.py3-none-any.whl"]
