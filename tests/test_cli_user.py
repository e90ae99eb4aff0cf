"""The flow command as a new user meets it: one-line errors that say what exists, help everywhere, no tracebacks."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, FLOWS

BEHAVIOUR = FLOWS / "behaviour"
PY = [sys.executable, "-m", "flowship"]


def flow(*args: str, cwd: Path | str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "FLOWSHIP_DATASTORE"}
    return subprocess.run([*PY, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**environment, **(env or {})})


def no_traceback(result: subprocess.CompletedProcess) -> bool:
    return "Traceback" not in result.stderr and "Traceback" not in result.stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with its own store and the hello example in a subfolder."""
    (tmp_path / ".flowship").mkdir()
    (tmp_path / "flows").mkdir()
    for name in ("hello.py", "foreach.py"):
        (tmp_path / "flows" / name).write_text((EXAMPLES / name).read_text())
    return tmp_path


def run_id_of(result: subprocess.CompletedProcess, flow_name: str) -> str:
    line = next(line for line in (result.stdout + result.stderr).splitlines() if line.startswith(f"{flow_name}/"))
    return line.split()[0].split("/")[1]


class TestLogs:
    def test_unknown_step_lists_the_steps(self, project):
        run = run_id_of(flow("run", "flows/hello.py", cwd=project), "HelloFlow")
        result = flow("logs", f"HelloFlow/{run}/nosuch", cwd=project)
        assert (result.returncode, result.stderr) == (
            1, "error: flow HelloFlow has no step 'nosuch'; its steps: start, count, end\n")

    def test_unknown_task_lists_the_tasks(self, project):
        run = run_id_of(flow("run", "flows/foreach.py", cwd=project), "ForeachFlow")
        result = flow("logs", f"ForeachFlow/{run}/score/9.9", cwd=project)
        assert result.returncode == 1 and no_traceback(result)
        assert result.stderr.startswith(f"error: step ForeachFlow/{run}/score has no task '9.9'; its tasks: 0.0, 0.1")

    def test_unknown_run_and_flow(self, project):
        flow("run", "flows/hello.py", cwd=project)
        run = flow("logs", "HelloFlow/nope", cwd=project)
        assert run.returncode == 1 and run.stderr.startswith("error: flow HelloFlow has no run 'nope' in ")
        missing = flow("logs", "hello/nope", cwd=project)
        assert missing.returncode == 1 and missing.stderr.strip().endswith("— did you mean HelloFlow?")

    def test_a_closed_pipe_ends_quietly(self, tmp_path):
        chatty = tmp_path / "chatty.py"
        chatty.write_text("from flowship import FlowSpec, step\n\nclass ChattyFlow(FlowSpec):\n    @step\n"
                          "    def start(self):\n        for i in range(40000):\n            print('line', i, 'x' * 60)\n"
                          "        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n")
        run = run_id_of(flow("run", str(chatty), "--quiet", cwd=tmp_path), "ChattyFlow")
        process = subprocess.Popen([*PY, "logs", f"ChattyFlow/{run}"], cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert process.stdout.readline() == f"--- ChattyFlow/{run}/start/0 (attempt 0)\n"
        process.stdout.close()  # what `| head -1` does
        stderr = process.stderr.read()
        assert (process.wait(timeout=60), stderr) == (141, "")


class TestHelp:
    @pytest.mark.parametrize("command", ["check", "show", "run", "resume", "step", "logs", "runs", "compile", "deploy",
                                         "promote", "delete", "trigger", "promotions", "metrics"])
    def test_every_command_has_help(self, command, tmp_path):
        result = flow(command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and result.stdout.startswith(f"usage: flow {command}"), result.stderr

    def test_run_help_of_a_flow_lists_its_parameters(self, project):
        result = flow("run", "flows/hello.py", "--help", cwd=project)
        assert result.returncode == 0 and "--who STR" in result.stdout and "who to greet; default: 'world'" in result.stdout


class TestNoAbbreviations:
    @pytest.mark.parametrize("args, message", [
        (["run", "flows/hello.py", "--max", "2"], "unrecognized arguments: --max 2"),
        (["run", "flows/hello.py", "--wh", "you"], "unrecognized arguments: --wh you"),
        (["compile", "flows/hello.py", "--targ", "argo"], "the following arguments are required: --target"),
        (["runs", "--all", "--datastore", ".flowship"], "unrecognized arguments: --all"),
    ])
    def test_a_prefix_is_not_an_option(self, args, message, project):
        result = flow(*args, cwd=project)
        assert result.returncode == 2 and message in result.stderr

    def test_a_parameter_named_like_a_command_option_is_refused_at_check(self, tmp_path):
        source = tmp_path / "clash.py"
        source.write_text("from flowship import FlowSpec, Parameter, step\n\nclass ClashFlow(FlowSpec):\n"
                          "    quiet = Parameter('quiet', default=False)\n    project = Parameter('project', default='x')\n\n"
                          "    @step\n    def start(self):\n        self.next(self.end)\n\n    @step\n    def end(self):\n"
                          "        pass\n")
        result = flow("check", str(source), cwd=tmp_path)
        assert result.returncode == 1
        assert result.stdout.splitlines() == [
            f"{source}:4: parameter 'quiet' has the name of an option of flow run (--quiet) — rename the parameter, "
            "e.g. Parameter('quiet_value', ...)",
            f"{source}:5: parameter 'project' has the name of an option of flow trigger (--project) — rename the "
            "parameter, e.g. Parameter('project_value', ...)"]
        assert flow("run", str(source), cwd=tmp_path).returncode == 1


class TestRunOutput:
    def test_steps_print_live_with_their_task_and_quiet_hides_it(self, project):
        shown = flow("run", "flows/hello.py", "--who", "ada", cwd=project)
        assert shown.returncode == 0 and "[end/0] hello, ada 8\n" in shown.stdout
        quiet = flow("run", "flows/hello.py", "--quiet", cwd=project)
        assert quiet.returncode == 0 and "hello, world" not in quiet.stdout

    def test_results_go_to_the_nearest_store_and_the_run_says_how_to_read_them(self, project):
        inside = project / "flows"
        result = flow("run", "hello.py", cwd=inside)
        run = run_id_of(result, "HelloFlow")
        assert (project / ".flowship" / "HelloFlow" / "runs" / run / "run.json").exists()
        assert f"results in ../.flowship; read them with: Flow('HelloFlow')['{run}'].data" in result.stderr
        listing = flow("runs", "HelloFlow", cwd=project)  # the same store from the project's root
        assert run in listing.stdout and "succeeded" in listing.stdout

    def test_without_a_store_runs_go_beside_the_flow_file(self, tmp_path):
        (tmp_path / "code").mkdir()
        (tmp_path / "code" / "hello.py").write_text((EXAMPLES / "hello.py").read_text())
        result = flow("run", "code/hello.py", cwd=tmp_path)
        run = run_id_of(result, "HelloFlow")
        assert (tmp_path / "code" / ".flowship" / "HelloFlow" / "runs" / run).is_dir()
        assert f"Flow('HelloFlow', datastore='code/.flowship')['{run}'].data" in result.stderr
        client = subprocess.run([sys.executable, "-c", "from flowship import Flow; Flow('HelloFlow')"], cwd=tmp_path,
                                capture_output=True, text=True)
        assert client.stderr.strip().splitlines()[-1] == (  # the Client, from here, names where the runs went
            f"flowship.errors.NotFound: flow HelloFlow has no runs in {tmp_path / '.flowship'}; flows with runs "
            "there: none; it has runs in code/.flowship: Flow('HelloFlow', datastore='code/.flowship')")

    def test_the_resume_hint_can_be_pasted_as_is(self, tmp_path):
        gate, counter = tmp_path / "gate", tmp_path / "counter"
        (tmp_path / "my flows").mkdir()
        source = tmp_path / "my flows" / "fails.py"
        source.write_text((BEHAVIOUR / "fails.py").read_text())
        first = flow("run", "my flows/fails.py", "--gate", str(gate), "--counter", str(counter), cwd=tmp_path)
        assert first.returncode == 1
        hint = next(line for line in first.stderr.splitlines() if line.startswith("resume with: "))
        argv = shlex.split(hint[len("resume with: "):])
        assert argv[:3] == ["flow", "resume", "my flows/fails.py"] and argv[-2:] == ["--datastore", "my flows/.flowship"]
        gate.write_text("open")
        assert flow(*argv[1:], cwd=tmp_path).returncode == 0


class TestRunStatus:
    def test_failed_running_killed_and_succeeded_are_told_apart(self, tmp_path):
        (tmp_path / ".flowship").mkdir()
        assert flow("run", str(BEHAVIOUR / "broken.py"), cwd=tmp_path).returncode == 1
        assert flow("run", str(EXAMPLES / "hello.py"), cwd=tmp_path).returncode == 0
        killed = subprocess.Popen([*PY, "run", str(BEHAVIOUR / "slow.py")], cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 60
        while "RUNNING" not in (status := _statuses(tmp_path, "SlowFlow")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == "RUNNING"
        os.kill(killed.pid, signal.SIGKILL)  # the scheduler dies; nobody records an outcome
        killed.wait(timeout=30)
        assert _statuses(tmp_path, "SlowFlow") == "KILLED"
        assert (_statuses(tmp_path, "BrokenFlow"), _statuses(tmp_path, "HelloFlow")) == ("FAILED", "SUCCEEDED")
        with contextlib.suppress(ProcessLookupError):  # the fork server and its task, if the kill left them behind
            os.killpg(killed.pid, signal.SIGKILL)

    def test_runs_without_a_name_lists_the_flows(self, project):
        flow("run", "flows/hello.py", cwd=project)
        result = flow("runs", cwd=project)
        assert result.returncode == 0
        assert result.stdout.splitlines()[0] == "flows in .flowship:"
        assert result.stdout.splitlines()[1].split()[:3] == ["HelloFlow", "1", "run"]

    def test_an_unknown_flow_suggests_the_nearest(self, project):
        flow("run", "flows/hello.py", cwd=project)
        result = flow("runs", "hello", cwd=project)
        assert result.returncode == 1 and result.stderr.strip().endswith("— did you mean HelloFlow?")


def _statuses(folder: Path, name: str) -> str:
    lines = flow("runs", name, cwd=folder).stdout.splitlines()
    return " ".join(line.split()[3].upper() for line in lines if line[:1].isdigit())


class TestCompileOutput:
    def test_a_new_path_without_a_suffix_is_a_folder(self, project):
        for target in ("argo", "airflow"):
            result = flow("compile", "flows/hello.py", "--target", target, "--datastore", "s3://b/p", "--no-upload", "-o", "out",
                          cwd=project)
            assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (project / "out").iterdir()) == ["HelloFlow.py", "hello-flow.yaml"]

    def test_a_file_of_the_wrong_kind_is_refused(self, project):
        result = flow("compile", "flows/hello.py", "--target", "airflow", "--datastore", "s3://b/p", "--no-upload", "-o", "dag.yaml",
                      cwd=project)
        assert (result.returncode, result.stderr) == (
            1, "error: -o dag.yaml: airflow output is a .py file; name it *.py or give a folder\n")

    def test_warnings_print_once(self, project):
        result = flow("compile", "flows/hello.py", "--target", "argo", "-o", "out", cwd=project)
        assert result.returncode == 0 and result.stderr.count("is a local folder") == 1

    def test_an_option_of_another_target_is_an_error(self, project):
        result = flow("compile", "flows/hello.py", "--target", "argo", "--operator", "local", cwd=project)
        assert (result.returncode, result.stderr) == (
            1, "error: --operator is an option of --target airflow, not of --target argo\n")

    @pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="needs apache-airflow")
    def test_check_for_airflow_says_it_loaded_the_dag(self, project):
        result = flow("check", "flows/hello.py", "--target", "airflow", "--datastore", "s3://b/p", cwd=project)
        assert result.returncode == 0, result.stderr
        from importlib.metadata import version  # not `import airflow`: that would fix its home for the session

        __version__ = version("apache-airflow")

        assert result.stdout.splitlines() == [
            "flows/hello.py: airflow: kubernetes tasks; startup_timeout_seconds=600",
            "flows/hello.py: airflow: loading the DAG file in an Airflow DagBag …",
            f"flows/hello.py: airflow: loaded in Airflow {__version__} DagBag: ok (4 tasks)",
            "flows/hello.py: HelloFlow is valid (3 steps, 1 parameter)"]

    def test_check_reports_what_a_mode_cannot_honour(self, project):
        (project / "flows" / "branch.py").write_text((EXAMPLES / "branch.py").read_text())
        result = flow("check", "flows/branch.py", "--target", "airflow", "--operator", "local",
                      "--datastore", "s3://b/p", cwd=project)
        assert "flows/branch.py:19: warning: @resources(cpu=, memory=) on step 'fit_mean' cannot be honoured by " \
               "airflow --operator local: tasks run as processes on the Airflow worker, not in pods, so nothing " \
               "reserves what the step asks for — use --operator kubernetes to honour it" in result.stdout


class TestMoreUserErrors:
    @pytest.mark.parametrize("args, message", [
        (["nosuch", "--run-id=r", "--task-id=0"], "error: flow HelloFlow has no step 'nosuch'; its steps: start, count, end"),
        (["start", "--run-id=../../etc", "--task-id=0"],
         "error: flow step --run-id=../../etc: use letters, digits and . _ ~ - (not first: .)"),
        (["start", "--run-id=r", "--task-id=../0"],
         "error: flow step --task-id=../0: a task id is a foreach index path: 0, 0.3, 0.3.1"),
    ])
    def test_step_refuses_what_is_not_a_task_and_writes_nothing(self, args, message, project):
        result = flow("step", "flows/hello.py", *args, "--datastore=store", cwd=project)
        assert (result.returncode, result.stderr.strip()) == (1, message)
        assert not (project / "store").exists() and not (project / "etc").exists()

    def test_compile_into_the_flow_folder_gives_the_same_package_every_time(self, project):
        packages = set()
        for _ in range(3):
            result = flow("compile", "hello.py", "--target", "airflow", "--datastore", "s3://b/p", "--no-upload", "-o", "out/",
                          cwd=project / "flows")
            packages.add(result.stderr.strip().rsplit(" ", 1)[1])
        assert len(packages) == 1

    @pytest.mark.parametrize("output, message", [
        ("flows/hello.py/", "error: -o flows/hello.py/: cannot make the folder (File exists)"),
        ("missing/deeper/dag.py", "error: -o missing/deeper/dag.py: cannot write missing/deeper/dag.py (No such file or directory)"),
    ])
    def test_an_output_path_that_cannot_be_written_is_one_line(self, output, message, project):
        result = flow("compile", "flows/hello.py", "--target", "airflow", "--datastore", "s3://b/p", "--no-upload", "-o", output,
                      cwd=project)
        assert (result.returncode, result.stderr.strip().splitlines()[-1]) == (1, message)

    def test_check_refuses_target_options_without_a_target(self, project):
        result = flow("check", "flows/hello.py", "--operator", "local", cwd=project)
        assert (result.returncode, result.stderr) == (1, "error: --operator: these shape a target's output; give --target too\n")

    def test_a_flow_file_run_as_a_script_names_the_commands_it_takes(self, project):
        result = subprocess.run([sys.executable, "flows/hello.py", "runs"], cwd=project, capture_output=True, text=True)
        assert result.returncode == 2
        assert result.stderr.splitlines()[-1] == "error: runs does not take a flow file; run it as: flow runs ..."

    def test_a_run_whose_reader_goes_away_still_finishes(self, project):
        process = subprocess.Popen([*PY, "run", "flows/hello.py"], cwd=project, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        process.stdout.close()  # `flow run ... | head -0`
        stderr = process.stderr.read()
        process.wait(timeout=120)
        assert "Traceback" not in stderr
        assert _statuses(project, "HelloFlow") == "SUCCEEDED"
