"""Running flows locally: real `flow run` processes, results read back through the Client."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, FLOWS, REPO
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import FlowDatastore
from flowship.providers.storage import LocalStorage

BEHAVIOUR = FLOWS / "behaviour"
SHAPES = sorted(FLOWS.glob("*.py"))


def flow_cli(*args: str, store: Path | str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowship", *args, "--datastore", str(store)],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def expected_artifacts(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    (value,) = [n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "EXPECTED"]
    return ast.literal_eval(value)


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)
    yield
    namespace(None)


@pytest.mark.parametrize("path", SHAPES, ids=lambda p: p.stem)
def test_every_shape_gives_its_expected_artifacts(path, store):
    result = flow_cli("run", str(path), "--max-workers", "2", store=store.url, env=store.env)
    assert result.returncode == 0, result.stderr
    run = Flow(_flow_name(path), datastore=store.url).latest_run
    assert run.successful and run.finished
    assert {k: getattr(run.data, k) for k in expected_artifacts(path)} == expected_artifacts(path)


def _flow_name(path: Path) -> str:
    from flowship.flowfile import load_flow

    return load_flow(str(path)).name


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_examples_run(path, tmp_path):
    result = flow_cli("run", str(path), store=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("succeeded")


def test_python_flow_file_run_entry_point(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "hello.py"), "run", "--who", "Ada", "--datastore", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Flow("HelloFlow", datastore=str(tmp_path)).latest_run.data.greeting == "hello, Ada"


class TestParameters:
    HOSTILE = ["it's \"quoted\"", "$(touch pwned) `id` ${HOME}", "{{ 7*7 }} {% raw %}", "two\nlines\n", "naïve — 日本語 🚀", "", "--looks-like-an-option"]

    @pytest.mark.parametrize("text", HOSTILE)
    def test_text_arrives_verbatim(self, text, tmp_path):
        result = flow_cli("run", str(BEHAVIOUR / "params.py"), f"--text={text}", store=tmp_path)
        assert result.returncode == 0, result.stderr
        assert Flow("ParamsFlow", datastore=str(tmp_path)).latest_run["start"].task.data.seen[0] == text

    def test_typed_values_defaults_files_and_current(self, tmp_path):
        notes = tmp_path / "notes.txt"
        notes.write_text("line one\nlïne two\n", encoding="utf-8")
        result = flow_cli("run", str(BEHAVIOUR / "params.py"), "--count", "7", "--flag", "yes", "--config", '{"a": null}',
                          "--words", "x,,y", store=tmp_path / "store", env={"FLOWSHIP_USER": "ada"})
        assert result.returncode == 0, result.stderr
        data = Flow("ParamsFlow", datastore=str(tmp_path / "store")).latest_run["start"].task.data
        assert data.seen == ("plain", 7, 0.5, True, {"a": None}, None, ["x", "", "y"])
        assert data.where == ("ParamsFlow", "start", "0", 0, "user:ada")
        assert flow_cli("run", str(BEHAVIOUR / "include.py"), "--notes", str(notes), store=tmp_path / "store").returncode == 0
        notes.write_text("changed after the run")
        data = Flow("IncludeFlow", datastore=str(tmp_path / "store")).latest_run["start"].task.data
        assert (data.notes, data.lines) == ("line one\nlïne two\n", ["line one", "lïne two"])

    @pytest.mark.parametrize("args, message", [
        (["--count", "seven"], "error: --count: 'seven' is not a valid int (invalid literal for int() with base 10: 'seven')"),
        (["--flag", "maybe"], "error: --flag: 'maybe' is not a boolean; use true or false"),
        (["--config", "{bad"], "error: --config: '{bad' is not a valid json (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    ])
    def test_bad_values_rejected_before_anything_runs(self, args, message, tmp_path):
        result = flow_cli("run", str(BEHAVIOUR / "params.py"), *args, store=tmp_path)
        assert (result.returncode, result.stderr.strip()) == (1, message)
        assert not (tmp_path / "ParamsFlow").exists()

    def test_required_parameter_missing(self, tmp_path):
        result = flow_cli("run", str(BEHAVIOUR / "fails.py"), "--gate", "x", store=tmp_path)
        assert (result.returncode, result.stderr.strip()) == (1, "error: --counter is required: a appends a line here every time it runs")


@pytest.mark.parametrize("forkserver", ["1", "0"], ids=["forked", "spawned"])
def test_retry_catch_timeout_environment(forkserver, tmp_path):
    result = flow_cli("run", str(BEHAVIOUR / "decorated.py"), store=tmp_path, env={"FLOWSHIP_FORKSERVER": forkserver})
    assert result.returncode == 0, result.stderr
    run = Flow("DecoratedFlow", datastore=str(tmp_path)).latest_run
    assert run.data.summary == {
        "start_attempt": 1,
        "failure": ("builtins.ValueError", "caught on purpose"),
        "timed_out": "TimeoutException",
        "env": "from the decorator",
    }
    assert run["start"].task.attempt == 1
    assert run["guarded"].task.data.before == "set before the failure"


class TestFailureAndResume:
    def test_failed_step_reported_then_resumed_without_rerunning_finished_steps(self, tmp_path, store):
        gate, counter = tmp_path / "gate", tmp_path / "counter"
        first = flow_cli("run", str(BEHAVIOUR / "fails.py"), "--gate", str(gate), "--counter", str(counter),
                         store=store.url, env=store.env)
        assert first.returncode == 1
        assert "FailsFlow/" in first.stderr and "/b/0 failed after 1 attempt" in first.stderr
        assert "RuntimeError: the gate is closed" in first.stderr
        origin = Flow("FailsFlow", datastore=store.url).latest_run
        assert not origin.successful and not origin.finished
        assert "the gate is closed" in origin["b"].task.stderr

        gate.write_text("open")
        second = flow_cli("resume", str(BEHAVIOUR / "fails.py"), store=store.url, env=store.env)
        assert second.returncode == 0, second.stderr
        resumed = Flow("FailsFlow", datastore=store.url).latest_run
        assert resumed.successful and resumed.origin_run_id == origin.id
        assert resumed.data.both == "ab"
        assert counter.read_text() == "ran\n"  # a ran once, in the origin run only
        assert resumed["a"].task.metadata["cloned_from"] == f"{origin.id}/a/0/0"
        assert "cloned_from" not in resumed["b"].task.metadata

    def test_step_exception_names_the_step_and_logs_keep_it(self, tmp_path):
        result = flow_cli("run", str(BEHAVIOUR / "broken.py"), store=tmp_path)
        assert result.returncode == 1
        assert "/start/0 failed after 1 attempt" in result.stderr and "KeyError: \"the step's own bug\"" in result.stderr
        run_id = Flow("BrokenFlow", datastore=str(tmp_path)).latest_run.id
        logs = flow_cli("logs", f"BrokenFlow/{run_id}/start/0", "--stderr", store=tmp_path)
        assert "KeyError" in logs.stdout
        assert "KeyError" in flow_cli("logs", f"BrokenFlow/{run_id}", "--stderr", store=tmp_path).stdout

    def test_unpicklable_artifact_is_named_and_nothing_is_trusted(self, tmp_path):
        result = flow_cli("run", str(BEHAVIOUR / "broken.py"), "--mode", "lock", store=tmp_path)
        assert result.returncode == 1
        assert "artifact 'lock' (lock) cannot be saved: cannot pickle '_thread.lock' object" in result.stderr
        task = Flow("BrokenFlow", datastore=str(tmp_path)).latest_run["start"].task
        assert task.finished and not task.successful

    def test_sigkill_during_save_leaves_nothing_trusted_and_resume_completes(self, tmp_path, store):
        hold = tmp_path / "hold"
        hold.write_text("block")
        process = subprocess.Popen(
            [sys.executable, "-m", "flowship", "run", str(BEHAVIOUR / "killed.py"), "--hold", str(hold), "--datastore", store.url],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **store.env})
        saving = Path(str(hold) + ".saving")
        deadline = time.monotonic() + 60
        while not saving.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(int(saving.read_text()), signal.SIGKILL)  # the task process, mid-save
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 1
        assert "the task ended (killed by SIGKILL) before it recorded its outcome" in stderr
        run = Flow("KilledFlow", datastore=store.url).latest_run
        assert not run["start"]["0"].finished  # no marker: nothing a reader trusts
        assert run["start"]["0"]._record is None and [s.id for s in run] == ["start"]  # started, never finished

        hold.unlink()
        resumed = flow_cli("resume", str(BEHAVIOUR / "killed.py"), run.id, store=store.url, env=store.env)
        assert resumed.returncode == 0, resumed.stderr
        assert Flow("KilledFlow", datastore=store.url).latest_run.data.result == (8 * 2**20, "saved")


def test_hundred_concurrent_tasks_lose_no_metadata(store):
    result = flow_cli("run", str(BEHAVIOUR / "wide.py"), "--max-workers", "100", store=store.url, env=store.env, timeout=600)
    assert result.returncode == 0, result.stderr
    run = Flow("WideFlow", datastore=store.url).latest_run
    tasks = list(run["work"])
    assert len(tasks) == 100 and all(t.successful for t in tasks)
    assert sorted(t.data.square for t in tasks) == [i * i for i in range(100)]
    assert run.data.total == sum(i * i for i in range(100))


class TestStore:
    def test_identical_values_are_stored_once(self, tmp_path):
        store = FlowDatastore(LocalStorage(str(tmp_path)), "F")
        first, second = store.save_artifact("a", [1, 2, 3]), store.save_artifact("b", [1, 2, 3])
        assert first.sha == second.sha
        assert len(list((tmp_path / "F" / "data").rglob("*"))) == 2  # one folder, one blob

    def test_unwritable_store_is_a_clear_error(self, tmp_path):
        blocked = tmp_path / "file"
        blocked.write_text("not a folder")
        result = flow_cli("run", str(EXAMPLES / "hello.py"), store=blocked / "store")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"error: datastore {blocked / 'store'}: cannot write HelloFlow/")
        assert result.stderr.strip().endswith("(Not a directory) — check the folder exists, is writable and has room")

    def test_client_namespaces(self, store):
        assert flow_cli("run", str(EXAMPLES / "hello.py"), store=store.url, env={**store.env, "FLOWSHIP_USER": "alice"}).returncode == 0
        namespace("user:bob")
        assert Flow("HelloFlow", datastore=store.url).latest_run is None
        namespace("user:alice")
        run = Flow("HelloFlow", datastore=store.url).latest_run
        assert (run.user, run.namespace) == ("alice", "user:alice")
        namespace(None)
        assert len(Flow("HelloFlow", datastore=store.url).runs()) == 1

    def test_runs_and_logs_commands_and_tags(self, store):
        assert flow_cli("run", str(EXAMPLES / "hello.py"), "--tag", "nightly", store=store.url, env=store.env).returncode == 0
        listing = flow_cli("runs", "HelloFlow", "--all-namespaces", store=store.url, env=store.env)
        assert listing.returncode == 0 and "succeeded" in listing.stdout and "tags: nightly" in listing.stdout
        run = Flow("HelloFlow", datastore=store.url).runs("nightly")[0]
        assert run.user_tags == {"nightly"} and "nightly" in run.tags
        logs = flow_cli("logs", f"HelloFlow/{run.id}/end", store=store.url, env=store.env)
        assert logs.stdout == "hello, world 10\n"


def test_a_task_never_imports_the_front_end():
    """Every task reads its flow file; the front end (networkx) costs ~100 ms to import, per task."""
    code = ("import sys; from flowship.runtime.task import run_step_argv; from flowship.flowfile import module_reader;"
            "from flowship.compiler.parse import parse_flow_source; import flowship.runtime.scheduler;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'networkx' or m == 'flowship.compiler.frontend'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"
