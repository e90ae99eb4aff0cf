"""The S3 store against a real S3-compatible server on loopback (moto's standalone server).

The runtime suite (tests/test_runtime.py, the ``store`` fixture) already runs
every shape, resume, kill -9 mid-save, 100 concurrent tasks and the Client on
both a local folder and S3; this file adds what is S3's own: multipart
transfers, listing, and every way the store can be unreachable or refuse.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLES, FLOWS, REPO, new_bucket
from flowship.errors import FlowshipError
from flowship.providers.storage import open_storage
from flowship.runtime.datastore import FlowDatastore

pytest.importorskip("boto3", reason="the S3 store needs boto3 (pip install 'flowship[s3]')")


@pytest.fixture
def s3(s3_server, monkeypatch):
    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    return f"s3://{new_bucket(s3_server)}/prefix"


def test_large_artifact_multipart_round_trip_and_dedup(s3):
    store = FlowDatastore(open_storage(s3), "F")
    value = bytes(range(256)) * (40 * 2**20 // 256)  # 40 MiB: several multipart parts
    ref = store.save_artifact("big", value)
    assert store.load_artifact("big", ref) == value
    assert store.save_artifact("again", value).sha == ref.sha
    assert store.storage.list("F/data") == [ref.sha[:2]]


def test_listing_is_one_level(s3):
    storage = open_storage(s3)
    for key in ("a/b/c", "a/b/d", "a/e"):
        storage.put(key, b"x")
    assert (storage.list("a"), storage.list("a/b"), storage.list("nope")) == (["b", "e"], ["c", "d"], [])
    assert storage.exists("a/e") and not storage.exists("a/zzz")
    with pytest.raises(KeyError):
        storage.get("a/zzz")


def test_missing_bucket(s3_server, monkeypatch, tmp_path):
    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    result = subprocess.run([sys.executable, "-m", "flowship", "run", str(EXAMPLES / "hello.py"), "--datastore", "s3://no-such-bucket/x"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.strip()) == (
        1, "error: datastore s3://no-such-bucket/x: bucket 'no-such-bucket' does not exist — create it first")


def test_wrong_credentials(tmp_path):
    """A second server, started with moto's authentication on, refuses unknown keys as S3 does."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "not-a-key",
               "AWS_SECRET_ACCESS_KEY": "not-a-secret", "AWS_DEFAULT_REGION": "us-east-1"}
        result = subprocess.run([sys.executable, "-m", "flowship", "run", str(EXAMPLES / "hello.py"), "--datastore", "s3://b/x"],
                                cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.returncode == 1
    assert result.stderr.startswith("error: datastore s3://b/x: access denied (")  # 403 from a HEAD, or the S3 error code
    assert result.stderr.strip().endswith(") — check the AWS credentials in use")


def test_unreachable_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(FlowshipError, match=r"datastore s3://b/x: cannot reach the S3 endpoint \(http://127.0.0.1:9"):
        open_storage("s3://b/x").put("k", b"v")


def test_server_stopped_mid_run_fails_clearly_and_trusts_nothing_half(monkeypatch):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "2"}
    url = f"s3://{new_bucket(env)}/flows"
    process = subprocess.Popen([sys.executable, "-m", "flowship", "run", str(FLOWS / "behaviour" / "slow.py"), "--datastore", url],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    time.sleep(2.5)  # start has finished; wait is sleeping
    server.stop()
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 1
    assert "cannot reach the S3 endpoint" in stderr
    assert "Traceback (most recent call last)" not in stderr.split("failed after")[0]


def test_compiled_deployments_point_at_s3_and_carry_no_credentials(s3_server):
    for target in ("argo", "airflow"):
        result = subprocess.run([sys.executable, "-m", "flowship", "compile", str(EXAMPLES / "hello.py"), "--target", target,
                                 "--datastore", "s3://prod-bucket/flowship", "--no-upload"], cwd=REPO, capture_output=True, text=True,
                                env={**os.environ, **s3_server}, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "s3://prod-bucket/flowship" in result.stdout
        assert "testing" not in result.stdout and "AWS_" not in result.stdout
