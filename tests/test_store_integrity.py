"""A store that cannot lie: damaged artifacts are found, not returned; tasks succeed only when they say so."""

from __future__ import annotations

import os
import subprocess
import sys
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
