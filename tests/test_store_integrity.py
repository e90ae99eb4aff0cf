"""A store that cannot lie: damaged artifacts are found, not returned; tasks succeed only when they say so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, REPO, StoreUnderTest
from flowship.providers.storage import open_storage
from flowship.runtime.client import Flow, namespace
from flowship.runtime.datastore import ArtifactError, FlowDatastore


@pytest.fixture(autouse=True)
def all_namespaces():
    namespace(None)


def flow(*args: str, store: StoreUnderTest | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    url, env = (store.url, store.env) if isinstance(store, StoreUnderTest) else (str(store), {})
    return subprocess.run([sys.executable, "-m", "flowship", *args, "--datastore", url], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})


def _blob_key(store: FlowDatastore, sha: str) -> str:
    return f"{store.flow_name}/data/{sha[:2]}/{sha}"


def _damage(store: FlowDatastore, sha: str, how: str) -> None:
    data = bytearray(store.storage.get(_blob_key(store, sha)))
    if how == "flip":
        data[-1] ^= 0x01
    else:
        data = data[:20]
    store.storage.put(_blob_key(store, sha), bytes(data))


class TestDamagedArtifacts:
    @pytest.mark.parametrize("how, reason", [
        ("flip", "its content does not match its address (SHA-256)"),
        ("truncate", "it is truncated (23 bytes missing)"),
    ])
    def test_a_damaged_blob_is_an_error_naming_the_task_and_the_store(self, how, reason, store):
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        run = Flow("HelloFlow", datastore=store.url).latest_run
        task = run["start"].task
        ref = task.metadata["artifacts"]["greeting"]["sha"]
        datastore = FlowDatastore(open_storage(store.url), "HelloFlow")
        _damage(datastore, ref, how)
        with pytest.raises(ArtifactError) as info:
            _ = Flow("HelloFlow", datastore=store.url)[run.id]["start"].task.data.greeting
        assert str(info.value).startswith(
            f"artifact 'greeting' of HelloFlow/{run.id}/start/0 ({ref[:12]}) in {datastore.storage.url} is damaged: "
            f"{reason}")

    def test_the_next_run_replaces_a_damaged_blob_instead_of_trusting_it(self, store):
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        first = Flow("HelloFlow", datastore=store.url).latest_run
        sha = first["start"].task.metadata["artifacts"]["greeting"]["sha"]
        datastore = FlowDatastore(open_storage(store.url), "HelloFlow")
        _damage(datastore, sha, "flip")
        assert datastore.blob_problem(sha) is not None
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        assert datastore.blob_problem(sha) is None  # the same value saved again, written whole
        assert Flow("HelloFlow", datastore=store.url)[first.id].data.greeting == "hello, world"


class TestHonestOutcomes:
    @pytest.mark.parametrize("exit_call, message", [
        ("sys.exit(0)", "step 'body' exited (status 0) before calling self.next"),
        ("sys.exit(3)", "step 'body' exited (status 3) before calling self.next"),
        ("os._exit(0)", "the task ended (exit status 0) before it recorded its outcome"),
    ])
    def test_a_step_that_exits_early_fails_in_a_foreach_too(self, exit_call, message, tmp_path):
        source = tmp_path / "early.py"
        source.write_text(
            "import os, sys\nfrom flowship import FlowSpec, step\n\nclass EarlyFlow(FlowSpec):\n    @step\n"
            "    def start(self):\n        self.items = [1, 2]\n        self.next(self.body, foreach='items')\n\n"
            f"    @step\n    def body(self):\n        {exit_call}\n        self.next(self.join)\n\n"
            "    @step\n    def join(self, inputs):\n        self.next(self.end)\n\n"
            "    @step\n    def end(self):\n        pass\n")
        result = flow("run", str(source), "--quiet", store=tmp_path / "store")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "EarlyFlow/" in result.stderr and "/body/0.0 failed after 1 attempt" in result.stderr
        assert message in result.stderr
        assert Flow("EarlyFlow", datastore=str(tmp_path / "store")).latest_run.status == "failed"


class TestResume:
    def test_resume_runs_again_what_lost_its_artifacts(self, store, tmp_path):
        gate, counter = tmp_path / "gate", tmp_path / "counter"
        behaviour = REPO / "tests" / "flows" / "behaviour" / "fails.py"
        first = flow("run", str(behaviour), "--gate", str(gate), "--counter", str(counter), store=store)
        assert first.returncode == 1
        origin = Flow("FailsFlow", datastore=store.url).latest_run
        datastore = FlowDatastore(open_storage(store.url), "FailsFlow")
        for sha in {ref["sha"] for ref in origin["start"].task.metadata["artifacts"].values()}:
            datastore.storage.delete(f"FailsFlow/data/{sha[:2]}/{sha}")
        gate.write_text("open")
        resumed = flow("resume", str(behaviour), origin.id, store=store)
        assert resumed.returncode == 0, resumed.stderr
        assert "running start/0 again; its artifact" in resumed.stderr and "cannot be reused: it is missing" in resumed.stderr
        run = Flow("FailsFlow", datastore=store.url).latest_run
        assert "cloned_from" not in run["start"].task.metadata and run.successful

    def test_a_run_record_that_cannot_be_read_is_skipped_and_named(self, tmp_path):
        store = tmp_path / "store"
        for _ in range(2):
            assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        damaged, kept = sorted((store / "HelloFlow" / "runs").iterdir())
        (damaged / "run.json").write_text('{"flow": "Hel')
        listing = flow("runs", "HelloFlow", store=store)
        assert listing.returncode == 0 and kept.name in listing.stdout and damaged.name not in listing.stdout
        assert f"warning: the record of run HelloFlow/{damaged.name} (HelloFlow/runs/{damaged.name}/run.json) cannot " \
               "be read" in listing.stderr
        assert Flow("HelloFlow", datastore=str(store)).latest_run.id == kept.name


class TestSafePaths:
    @pytest.mark.parametrize("lookup, message", [
        (lambda f: f["../../x"], "'../../x' is not a run id"),
        (lambda f: f.latest_run["start"]["../0"], "has no task '../0'"),
    ])
    def test_the_client_refuses_paths_that_leave_the_store(self, lookup, message, tmp_path):
        assert flow("run", str(EXAMPLES / "hello.py"), store=tmp_path / "store").returncode == 0
        with pytest.raises(KeyError, match=message):
            lookup(Flow("HelloFlow", datastore=str(tmp_path / "store")))
        with pytest.raises(KeyError, match="is not a flow name"):
            Flow("../HelloFlow", datastore=str(tmp_path / "store"))

    def test_an_attempt_is_never_overwritten(self, tmp_path):
        store = tmp_path / "store"
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        run = Flow("HelloFlow", datastore=str(store)).latest_run
        again = flow("step", str(EXAMPLES / "hello.py"), "start", f"--run-id={run.id}", "--task-id=0",
                     "--retry-count=0", store=store)
        assert again.returncode == 1
        assert again.stderr.strip() == (
            f"error: attempt 0 of HelloFlow/{run.id}/start/0 was started already; an attempt is never overwritten — "
            "run attempt 1 instead")
        assert Flow("HelloFlow", datastore=str(store))[run.id].data.greeting == "hello, world"

    def test_two_runs_never_share_an_id(self, tmp_path):
        from flowship.flowfile import load_flow
        from flowship.runtime.launch import run_flow

        ir = load_flow(str(EXAMPLES / "hello.py"))
        first = run_flow(str(EXAMPLES / "hello.py"), ir, {"who": "a"}, datastore=str(tmp_path), run_id="fixed-id")
        second = run_flow(str(EXAMPLES / "hello.py"), ir, {"who": "b"}, datastore=str(tmp_path), run_id="fixed-id")
        assert first.run_id == "fixed-id" and second.run_id != "fixed-id"
        flows = Flow("HelloFlow", datastore=str(tmp_path))
        assert (flows["fixed-id"].parameters, flows[second.run_id].parameters) == ({"who": "a"}, {"who": "b"})


def test_files_are_created_as_the_umask_says(tmp_path):
    store = tmp_path / "store"
    result = subprocess.run([sys.executable, "-m", "flowship", "run", str(EXAMPLES / "hello.py"), "--datastore", str(store)],
                            capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    files = [p for p in store.rglob("*") if p.is_file()]
    assert files and {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}
    assert {oct(p.stat().st_mode & 0o777) for p in store.rglob("*") if p.is_dir()} == {"0o755"}


@pytest.mark.parametrize("forkserver", ["1", "0"], ids=["forked", "spawned"])
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_run_stops_its_tasks_and_says_killed(sig, code, forkserver, tmp_path):
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "flowship", "run", str(REPO / "tests" / "flows" / "behaviour" / "slow.py"),
         "--datastore", str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "FLOWSHIP_FORKSERVER": forkserver})
    claims = store / "SlowFlow" / "runs"
    deadline = time.monotonic() + 60
    while not list(claims.glob("*/wait/0/0/started.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    (claim,) = claims.glob("*/wait/0/0/started.json")
    task_pid = json.loads(claim.read_text())["pid"]
    stopped = time.monotonic()
    process.send_signal(sig)  # to the scheduler alone: it must stop its task itself
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code and time.monotonic() - stopped < 3  # not the 4 s the step sleeps
    assert "Traceback" not in stderr
    with pytest.raises(ProcessLookupError):
        os.kill(task_pid, 0)
    run = Flow("SlowFlow", datastore=str(store)).latest_run
    assert run.status == "killed"
    assert run["wait"].task.exception == "step 'wait' was stopped (SIGTERM) with its run\n"


class TestClearFaults:
    def test_a_full_disk_names_the_artifact_its_size_and_the_store(self, tmp_path):
        tiny = tmp_path / "tiny"
        tiny.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tiny)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"a small tmpfs cannot be mounted here ({mounted.stderr.decode().strip()}); needs root")
        try:
            source = tmp_path / "big.py"
            source.write_text("from flowship import FlowSpec, step\n\nclass BigFlow(FlowSpec):\n    @step\n"
                              "    def start(self):\n        self.blob = b'x' * (4 * 2**20)\n        self.next(self.end)\n\n"
                              "    @step\n    def end(self):\n        pass\n")
            result = flow("run", str(source), "--quiet", store=tiny / "store")
            assert result.returncode == 1 and "Traceback" not in result.stderr
            assert "artifact 'blob' (4.0 MiB) cannot be saved: datastore " in result.stderr
            assert "(No space left on device) — check the folder exists, is writable and has room" in result.stderr
        finally:
            subprocess.run(["umount", str(tiny)], check=True)

    def test_a_missing_log_or_a_damaged_attempt_record_is_one_line(self, tmp_path):
        store = tmp_path / "store"
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        run = Flow("HelloFlow", datastore=str(store)).latest_run.id
        attempt = store / "HelloFlow" / "runs" / run / "count" / "0" / "0"
        (attempt / "stdout").unlink()
        logs = flow("logs", f"HelloFlow/{run}/count", store=store)
        assert (logs.returncode, logs.stderr.strip()) == (
            1, f"error: the stdout of HelloFlow/{run}/count/0 attempt 0 is missing "
               f"(HelloFlow/runs/{run}/count/0/0/stdout)")
        (attempt / "meta.json").write_text('{"status": "succ')
        damaged = flow("logs", f"HelloFlow/{run}/count", store=store)
        assert damaged.returncode == 1 and damaged.stderr.startswith(
            f"error: the record of HelloFlow/{run}/count/0 attempt 0 (HelloFlow/runs/{run}/count/0/0/meta.json) "
            "cannot be read")
        verified = flow("verify", f"HelloFlow/{run}", store=store)
        assert verified.returncode == 1 and verified.stdout.startswith("damaged: the record of HelloFlow/")

    def test_verify_lists_every_damaged_object(self, store):
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        assert flow("verify", store=store).returncode == 0
        run = Flow("HelloFlow", datastore=store.url).latest_run
        datastore = FlowDatastore(open_storage(store.url), "HelloFlow")
        sha = run["start"].task.metadata["artifacts"]["greeting"]["sha"]
        _damage(datastore, sha, "flip")
        result = flow("verify", "HelloFlow", store=store)
        assert result.returncode == 1
        assert f"damaged: HelloFlow/{run.id}/start/0: artifact 'greeting' ({sha[:12]}): its content does not match its " \
               "address (SHA-256)" in result.stdout.splitlines()

    def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next_run(self, tmp_path):
        store = tmp_path / "store"
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        data = store / "HelloFlow" / "data" / "00"
        data.mkdir(parents=True, exist_ok=True)
        abandoned, fresh = data / ".tmp-abandoned", data / ".tmp-being-written"
        abandoned.write_bytes(b"x" * 1000)
        fresh.write_bytes(b"y")
        os.utime(abandoned, (time.time() - 3600, time.time() - 3600))  # nobody has written to it for an hour
        assert flow("run", str(EXAMPLES / "hello.py"), store=store).returncode == 0
        assert not abandoned.exists() and fresh.exists()

    @pytest.mark.parametrize("prefix, coding", [(b"\xef\xbb\xbf", "utf-8"), (b"# -*- coding: latin-1 -*-\n", "latin-1")])
    def test_flow_files_are_read_as_python_reads_them(self, prefix, coding, tmp_path):
        source = tmp_path / "coded.py"
        source.write_bytes(prefix + "from flowship import FlowSpec, step\n\nclass CodedFlow(FlowSpec):\n    @step\n"
                           "    def start(self):\n        self.word = 'café'\n        self.next(self.end)\n\n"
                           "    @step\n    def end(self):\n        pass\n".encode(coding))
        assert flow("run", str(source), store=tmp_path / "store").returncode == 0
        assert Flow("CodedFlow", datastore=str(tmp_path / "store")).latest_run["start"].task.data.word == "café"

    def test_a_name_too_long_for_the_store_is_an_error_at_check(self, tmp_path):
        long = "F" * 250
        source = tmp_path / "long.py"
        source.write_text(f"from flowship import FlowSpec, step\n\nclass {long}(FlowSpec):\n    @step\n"
                          "    def start(self):\n        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n")
        result = subprocess.run([sys.executable, "-m", "flowship", "check", str(source)], capture_output=True, text=True)
        assert result.returncode == 1
        assert result.stdout.strip() == (f"{source}:3: the flow name is 250 bytes long, over the limit of 200 (it names "
                                         "folders in the store and ids in Airflow) — shorten it")


def test_the_tasks_of_a_killed_scheduler_do_not_outlive_it(tmp_path):
    store = tmp_path / "store"
    process = subprocess.Popen([sys.executable, "-m", "flowship", "run", str(REPO / "tests" / "flows" / "behaviour" /
                                "slow.py"), "--datastore", str(store)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(store.glob("SlowFlow/runs/*/wait/0/0/started.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    (claim,) = store.glob("SlowFlow/runs/*/wait/0/0/started.json")
    task_pid = json.loads(claim.read_text())["pid"]
    process.kill()  # SIGKILL: the scheduler gets no chance to stop anything itself
    process.wait(timeout=30)
    deadline = time.monotonic() + 3  # well before the step's own 4 s sleep would end
    while time.monotonic() < deadline:
        try:
            os.kill(task_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the task kept running after its scheduler was killed")
    assert Flow("SlowFlow", datastore=str(store)).latest_run.status == "killed"
