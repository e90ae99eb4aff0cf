"""@pypi/@conda environments for real: resolved with uv, made once, entered by tasks locally and in deployments.

Each step of SIX_FLOW pins its own version of ``six`` (a small pure-Python
package), so the version a task records says which environment it ran in.
Locks are resolved on the network once per session (``resolved_environments``);
deployed tasks run with every package index unreachable (``NO_INDEX``), so they
can only install from the wheels ``flow deploy`` put in the store.
"""

from __future__ import annotations

import os
import re
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
            self.newer_modules = sorted(m for m in sys.modules if m.startswith(("flowship.envs", "uv", "tomli")))
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
        # inside, a task never imports what makes environments (uv, the lock reader: not in the environment)
        assert Flow("SixFlow", datastore=str(tmp_path / "store")).latest_run["newer"].task.data.newer_modules == [
            "flowship.envs"]

    def test_a_resumed_run_keeps_its_origins_environments(self, tmp_path, environments_cache):
        """A reused task ran with six 1.15.0: the task resume runs again must too, without --environment given."""
        flow = write_flow(tmp_path, textwrap.dedent('''
            import os
            from flowship import FlowSpec, pypi_base, step


            @pypi_base(packages={"six": "1.15.0"})
            class ResumedSixFlow(FlowSpec):
                @step
                def start(self):
                    self.next(self.end)

                @step
                def end(self):
                    import six
                    if os.environ.get("FAIL_END"):
                        raise RuntimeError("end fails this time")
                    self.end_six = six.__version__
        '''))
        store = str(tmp_path / "store")
        failed = flow_command("run", str(flow), "--environment=pypi", "--datastore", store, env={"FAIL_END": "1"})
        assert failed.returncode == 1
        resumed = flow_command("resume", str(flow), "--datastore", store)
        assert resumed.returncode == 0, resumed.stderr
        assert Flow("ResumedSixFlow", datastore=store).latest_run["end"].task.data.end_six == "1.15.0"

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
        run = Flow("SixFlow", datastore=str(tmp_path / "store"))["argo-ml.wf-env"]
        ids = build.compiled.options.environments
        assert {s: run[s].task.metadata.get("environment") for s in ("start", "newer", "plain")} == {
            "start": ids["start"], "newer": ids["newer"], "plain": None}
        shown = flow_command("environment", "show", "SixFlow/argo-ml.wf-env/newer", "--datastore",
                             str(tmp_path / "store")).stdout
        assert shown.splitlines()[:2] == [
            f"SixFlow/argo-ml.wf-env/newer: environment {ids['newer'][:12]}, Python {sys.version_info.major}."
            f"{sys.version_info.minor}, wheels in the store", "  linux-aarch64:"]
        assert shown.count("    six==1.17.0") == 2


def bad_flow(tmp_path: Path, decorator: str) -> Path:
    return write_flow(tmp_path, textwrap.dedent(f'''
        from flowship import FlowSpec, pypi, step


        class BadFlow(FlowSpec):
            {decorator}
            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass
    '''))


class TestInvalid:
    @pytest.mark.parametrize("decorator, message, offline", [
        ('@pypi(packages={"flowship-no-such-package-xyz": "1.0"})',
         "error: step 'start' (@pypi): package 'flowship-no-such-package-xyz': no package of that name on the index "
         "— uv said: No solution found when resolving dependencies cause: Because flowship-no-such-package-xyz was "
         "not found in the package registry", False),
        ('@pypi(packages={"six": "9.9.9"})',
         "error: step 'start' (@pypi): package 'six': no version satisfies the pin — uv said: No solution found when "
         "resolving dependencies cause: Because there is no version of six==9.9.9", False),
        ('@pypi(python="3.99")',
         "error: step 'start' (@pypi): no Python 3.99 on this machine (flowship never downloads Python builds); "
         "install it, or change python= to a version installed here — uv said: No interpreter found for Python 3.99",
         False),
        ('@pypi(packages={"six": "1.16.0"})',
         "error: step 'start' (@pypi): package '<any>': the package index cannot be reached and no lock of this "
         "environment is cached; resolve once with the network (or point UV_INDEX_URL at a reachable index) — uv "
         "said: ", True),
    ], ids=["unknown-package", "unsatisfiable-pin", "python-not-here", "no-network-cold-cache"])
    def test_message_before_any_task_runs(self, decorator, message, offline, tmp_path, environments_cache):
        """Metaflow fails to bootstrap such an environment before the run starts; flowship says which step,
        which package and why, and starts no run."""
        cache = {"FLOWSHIP_ENVIRONMENTS": str(tmp_path / "cold"), **NO_INDEX} if offline else {}
        if offline:
            del cache["UV_OFFLINE"]  # reaching for the index, as a first resolve does, and finding it closed
        flow = bad_flow(tmp_path, decorator)
        done = flow_command("run", str(flow), "--environment=pypi", "--datastore", str(tmp_path / "store"), env=cache)
        assert done.returncode == 1
        # uv asks for every package at once: without an index, the one it names is whichever failed first
        assert re.match(re.escape(message).replace("<any>", "[a-z0-9_.-]+"), done.stderr), done.stderr
        assert not (tmp_path / "store" / "BadFlow" / "runs").exists()

    def test_a_task_on_a_platform_its_environment_was_not_resolved_for(self, tmp_path, environments_cache):
        from flowship.envs.prepare import enter_environment
        from flowship.envs.record import EnvRecord, save_record
        from flowship.providers.storage import LocalStorage
        from flowship.runtime.datastore import FlowDatastore

        store = FlowDatastore(LocalStorage(str(tmp_path)), "BadFlow")
        record_id = save_record(store, EnvRecord(("six",), "3.11", {"plan9-mips": ""}))
        with pytest.raises(EnvironmentFailure) as caught:
            enter_environment(store, record_id, "start", [])
        assert str(caught.value).startswith(f"step 'start' (environment {record_id[:12]}): it was resolved for "
                                            "plan9-mips, not for this machine")


class TestShowAndPromote:
    def test_show_lists_what_each_step_ran_with(self, tmp_path, environments_cache):
        flow = write_flow(tmp_path)
        store = str(tmp_path / "store")
        assert flow_command("run", str(flow), "--environment=pypi", "--datastore", store).returncode == 0
        run_id = Flow("SixFlow", datastore=store).latest_run.id
        shown = flow_command("environment", "show", f"SixFlow/{run_id}", "--datastore", store).stdout
        steps = [line.split(":")[0] for line in shown.splitlines() if not line.startswith(" ")]
        assert steps == [f"SixFlow/{run_id}/{s}" for s in ("end", "newer", "start")]
        assert shown.count("    six==1.16.0") == 2 and shown.count("    six==1.17.0") == 1
        one = flow_command("environment", "show", f"SixFlow/{run_id}/newer", "--datastore", store).stdout
        assert one.splitlines()[0].startswith(f"SixFlow/{run_id}/newer: environment ") and "six==1.17.0" in one
        from_file = flow_command("environment", "show", str(flow)).stdout
        assert "SixFlow step newer: Python" in from_file and "    six==1.17.0" in from_file
        from flowship.runtime.promote import promotable

        source = promotable(f"SixFlow/{run_id}", [store])  # what flow promote hands to the deployment
        locked = {step: record.locks for step, record in source.environments.items()}
        assert sorted(locked) == ["end", "newer", "start"] and locked["start"] == locked["end"] != locked["newer"]
        assert all('name = "six"' in lock for locks in locked.values() for lock in locks.values())

    def test_promotion_keeps_the_versions_the_research_run_locked(self, environments_cache):
        """flow promote deploys what the research run ran: its locked versions are pins of the new locks."""
        from conftest import check

        from flowship.envs.lock import EnvSpec, host_platform, resolve
        from flowship.envs.prepare import deployed_environments
        from flowship.envs.record import EnvRecord

        ir = check("from flowship import *\n\n\n" + SIX_FLOW.replace('"1.16.0"', '">=1.15"')).ir
        research_lock = resolve(EnvSpec(("six==1.16.0",), "3.11", host_platform()), "research", sys.executable)
        research = EnvRecord(("six>=1.15",), "3.11", {host_platform(): research_lock})
        fresh = deployed_environments(ir, "/store", "3.11")["start"]
        promoted = deployed_environments(ir, "/store", "3.11", {"start": research})["start"]
        for name, record in (("fresh", fresh), ("promoted", promoted)):
            versions = {lock.split('name = "six"\nversion = "')[1][:6] for lock in record.locks.values()}
            assert versions == ({"1.17.0"} if name == "fresh" else {"1.16.0"})


def test_compile_with_environment_local_leaves_steps_in_the_image(tmp_path):
    """--environment=local, Metaflow's default kind, turns @pypi off for a deployment too: nothing is resolved."""
    flow = write_flow(tmp_path)
    done = flow_command("compile", str(flow), "--target", "argo", "--environment=local", "--no-upload",
                        "--datastore", str(tmp_path / "store"), env={"FLOWSHIP_ENVIRONMENTS": str(tmp_path / "none")})
    assert done.returncode == 0, done.stderr
    assert "--environment=" not in done.stdout and not (tmp_path / "none").exists()


def test_a_package_without_wheels_cannot_be_deployed(tmp_path, environments_cache):
    """Pods install wheels only: a package published as source alone is refused at deploy, naming it."""
    flow = bad_flow(tmp_path, '@pypi(packages={"pyspark": "3.5.1"})')
    ir = load_flow(str(flow))
    with pytest.raises(EnvironmentFailure) as caught:
        build_deployment(str(flow), ir, DeploySettings("argo", datastore=str(tmp_path / "store")))
    assert str(caught.value).startswith(
        "step 'start' (@pypi): package 'pyspark': no wheel of it for Linux, and deployed tasks install wheels "
        "only (no compiler, no index); pin a version that has one, or install it in the image and leave it out of "
        "the decorator — uv said: No solution found when resolving dependencies cause: Because pyspark==3.5.1 has no "
        "usable wheels")
