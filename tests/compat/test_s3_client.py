"""The ``S3`` client, as Metaflow's ``metaflow.S3`` (metaflow/plugins/datatools/s3/s3.py): keys relative to the
client's root, ``put`` returning the URL, ``put_many``/``put_files`` returning (key, url) pairs, ``get`` raising
for a missing key unless ``return_missing``, ``list_paths`` one level (folders with ``exists`` False),
``list_recursive`` every object, ``get_all`` everything under the root. ``S3(run=self)`` keeps objects with the
run in the flow's store (a local folder or S3); ``s3root=`` uses S3 directly (a real S3 server on loopback).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, new_bucket
from flowship.datatools import S3, S3NotFound, S3PutObject, S3URLError, S3InvalidObject
from flowship.runtime.client import Flow, namespace

pytest.importorskip("boto3", reason="the S3 client needs boto3 (pip install 'flowship[s3]')")

RUN_FLOW = """
    from flowship import FlowSpec, step, S3

    class DataFlow(FlowSpec):
        @step
        def start(self):
            with S3(run=self) as s3:
                self.url = s3.put("models/a.txt", "alpha")
                self.stored = s3.put_many([("models/b.bin", b"\\x00\\x01"), ("top.txt", "top")])
            self.next(self.end)

        @step
        def end(self):
            with S3(run=self) as s3:
                self.text = s3.get("models/a.txt").text
                self.keys = [o.key for o in s3.list_recursive()]
                self.level = [(o.key, o.exists) for o in s3.list_paths()]
                self.everything = sorted((o.key, o.blob) for o in s3.get_all())
"""


@pytest.fixture(autouse=True)
def every_namespace():
    namespace(None)
    yield
    namespace(None)


def test_run_scoped_objects_live_with_the_run(store, tmp_path):
    """``S3(run=self)`` in a step, and ``S3(run=Run(...))`` afterwards, see the same objects: Metaflow prefixes keys
    with the flow and run; flowship keeps them in the run's folder of the store, local or S3."""
    path = tmp_path / "flow.py"
    path.write_text(textwrap.dedent(RUN_FLOW))
    result = subprocess.run([sys.executable, "-m", "flowship", "run", str(path), "--datastore", store.url], cwd=REPO,
                            capture_output=True, text=True, timeout=300, env={**os.environ, **store.env})
    assert result.returncode == 0, result.stderr
    run = Flow("DataFlow", datastore=store.url).latest_run
    root = f"{store.url}/DataFlow/runs/{run.id}/s3-objects"
    start, end = run["start"].task.data, run.data
    assert start.url == f"{root}/models/a.txt"
    assert start.stored == [("models/b.bin", f"{root}/models/b.bin"), ("top.txt", f"{root}/top.txt")]
    assert end.text == "alpha"
    assert end.keys == ["models/a.txt", "models/b.bin", "top.txt"]
    assert end.level == [("top.txt", True), ("models", False)]  # objects, then folders, as S3 answers
    assert end.everything == [("models/a.txt", b"alpha"), ("models/b.bin", b"\x00\x01"), ("top.txt", b"top")]
    with S3(run=run) as s3:
        obj = s3.get("models/b.bin")
        assert (obj.key, obj.url, obj.blob, obj.size, obj.exists, obj.downloaded) == (
            "models/b.bin", f"{root}/models/b.bin", b"\x00\x01", 2, True, True)
        assert os.path.isfile(obj.path)
        kept = obj.path
    assert not os.path.exists(kept), "closing the client removes what it downloaded"
    assert run["start"].task.successful and [s.id for s in run] == ["start", "end"], "s3-objects is not a step"


@pytest.fixture
def bucket(s3_server, monkeypatch):
    for key, value in s3_server.items():
        monkeypatch.setenv(key, value)
    return new_bucket(s3_server)


def test_s3root_put_get_list(bucket, tmp_path):
    """``S3(s3root=...)``: put returns the URL, get/get_many give S3Objects keyed relative to the root, with
    content_type and metadata as stored; overwrite=False leaves an existing object alone."""
    root = f"s3://{bucket}/data"
    local = tmp_path / "file.csv"
    local.write_text("a,b\n")
    with S3(s3root=root) as s3:
        assert s3.put("x/one.txt", "one", content_type="text/plain", metadata={"owner": "ann"}) == f"{root}/x/one.txt"
        assert s3.put("x/one.txt", "changed", overwrite=False) == f"{root}/x/one.txt"
        assert s3.put("x/two.bin", io.BytesIO(b"two")) == f"{root}/x/two.bin"
        assert s3.put_files([("files/file.csv", str(local))]) == [("files/file.csv", f"{root}/files/file.csv")]
        assert s3.put_many([S3PutObject("x/one.txt", "again"), ("x/three.txt", "3")], overwrite=False) == [
            ("x/three.txt", f"{root}/x/three.txt")]
        one = s3.get("x/one.txt")
        assert (one.key, one.text, one.content_type, one.metadata, one.size) == (
            "x/one.txt", "one", "text/plain", {"owner": "ann"}, 3)
        assert [o.blob for o in s3.get_many(["x/two.bin", "files/file.csv"])] == [b"two", b"a,b\n"]
        assert [(o.key, o.exists) for o in s3.list_paths()] == [("files", False), ("x", False)]
        assert [(o.key, o.size) for o in s3.list_paths(["x"])] == [("one.txt", 3), ("three.txt", 1), ("two.bin", 3)]
        assert [o.key for o in s3.list_recursive()] == ["files/file.csv", "x/one.txt", "x/three.txt", "x/two.bin"]
        assert [o.key for o in s3.get_all()] == ["files/file.csv", "x/one.txt", "x/three.txt", "x/two.bin"]
        assert s3.info("x/one.txt").size == 3 and not s3.info("nope", return_missing=True).exists
    with S3() as s3:
        full = s3.get(f"{root}/x/one.txt")
        assert (full.key, full.text) == (f"{root}/x/one.txt", "one")


def test_missing_objects_and_wrong_keys(bucket, tmp_path):
    """Metaflow raises MetaflowS3NotFound for a missing key unless return_missing, and refuses full URLs on a client
    with a root, relative keys on one without, and values that are not text, bytes or files."""
    with S3(s3root=f"s3://{bucket}/data") as s3:
        missing = s3.get("nope", return_missing=True)
        assert (missing.exists, missing.blob, missing.text, missing.downloaded) == (False, None, None, False)
        with pytest.raises(S3NotFound, match=f"^s3://{bucket}/data/nope: no such object$"):
            s3.get("nope")
        with pytest.raises(S3URLError, match="this client has a root"):
            s3.get(f"s3://{bucket}/other")
        with pytest.raises(S3InvalidObject, match="put stores text, bytes or a readable, seekable file"):
            s3.put("x", 42)
    with S3() as s3, pytest.raises(S3URLError, match=r"give full s3:// URLs, or create the client with "
                                                     r"S3\(s3root=...\) or S3\(run=self\) \(got 'relative'\)"):
        s3.get("relative")
    with pytest.raises(S3URLError, match="S3\\(run=self\\) works inside a running step only"):
        from flowship import FlowSpec

        S3(run=FlowSpec.__new__(FlowSpec))
    with pytest.raises(S3URLError, match="get_all\\(\\) needs a client with a root"), S3() as s3:
        s3.get_all()
    with pytest.raises(S3URLError, match=r"^S3\(role=...\): not supported yet; flowship uses the standard AWS "):
        S3(role="arn:aws:iam::1:role/x")


def test_run_with_bucket_and_prefix_uses_metaflows_layout(bucket, tmp_path):
    """Metaflow: ``S3(run=..., bucket=..., prefix=...)`` overrides parts of its root and keys go under
    ``s3://bucket/prefix/<Flow>/<run>/``; flowship does the same (a run in a local store, objects on S3)."""
    from conftest import EXAMPLES

    result = subprocess.run([sys.executable, "-m", "flowship", "run", str(EXAMPLES / "hello.py"), "--datastore",
                             str(tmp_path / "store")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    run = Flow("HelloFlow", datastore=str(tmp_path / "store")).latest_run
    with S3(run=run, bucket=bucket, prefix="/tmp/") as s3:
        assert s3.put("k", "v") == f"s3://{bucket}/tmp/HelloFlow/{run.id}/k"
        assert s3.get("k").text == "v"
    with pytest.raises(S3URLError, match=r"^S3\(run=..., prefix=...\) on a local store needs bucket= too$"):
        S3(run=run, prefix="tmp")
