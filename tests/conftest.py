"""Shared helpers: check flow source written inline, locate the shared yardstick flows."""

from __future__ import annotations

import importlib.util
import os
import secrets
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flowship.compiler import CheckResult, check_flow_source

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FLOWS = Path(__file__).resolve().parent / "flows"
EXAMPLES = REPO / "examples"

HEADER = "from flowship import *\n\n\n"


def check(source: str, file: str = "flow.py") -> CheckResult:
    """Check a flow written inline (dedented, with the flowship import prepended)."""
    return check_flow_source(HEADER + textwrap.dedent(source), file)


def two_step_flow(members: str = "", class_decorators: str = "", start_decorators: str = "", name: str = "F") -> str:
    """Source of the smallest valid flow (start -> end), with extra class members or decorators."""
    return f"""
{class_decorators}
class {name}(FlowSpec):
{members}
{start_decorators}
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def messages(source: str) -> list[str]:
    """Every problem of an inline flow, formatted; line numbers count the 3-line header."""
    return [str(p) for p in check(source).problems]


def shared_dir(*parts: str) -> Path:
    """A path in ../shared, or skip the test when the shared folder is absent (a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing; CI must run with ../shared beside the repository")
        pytest.skip(f"{path} not present: the shared yardstick is only beside the repository in CI")
    return path


@dataclass
class StoreUnderTest:
    """A datastore URL for tests, and the environment its processes need to reach it."""

    url: str
    env: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible HTTP server (moto's standalone server) on 127.0.0.1, for the whole session."""
    if importlib.util.find_spec("moto") is None:
        pytest.skip("the S3 tests need moto[server] (pip install 'flowship[test]')")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    server.stop()


def new_bucket(env: dict[str, str]) -> str:
    import boto3

    name = f"flowship-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                 aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch) -> StoreUnderTest:
    """The store test-suite runs twice: on a local folder and on S3 (a real S3 server on loopback)."""
    if request.param == "local":
        return StoreUnderTest(str(tmp_path / "store"))
    env = request.getfixturevalue("s3_server")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return StoreUnderTest(f"s3://{new_bucket(env)}/flowship", dict(env))


@pytest.fixture(autouse=True)
def configured_image(monkeypatch):
    """Deployments need an image; tests that are not about choosing one get this configured default."""
    monkeypatch.setenv("FLOWSHIP_IMAGE", "flowship:test")


@pytest.fixture(scope="session")
def resolved_environments(tmp_path_factory) -> Path:
    """One cache of @pypi/@conda locks for the session, so each environment is resolved on the network once."""
    return tmp_path_factory.mktemp("environments")


@pytest.fixture
def environments_cache(resolved_environments, monkeypatch) -> Path:
    """This machine's cache of locks and environments (FLOWSHIP_ENVIRONMENTS), shared by the session's tests."""
    monkeypatch.setenv("FLOWSHIP_ENVIRONMENTS", str(resolved_environments))
    return resolved_environments


# What a task sees where no package index can be reached: uv offline, every index a closed port on loopback.
NO_INDEX = {"UV_OFFLINE": "1", "UV_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
            "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple", "UV_HTTP_RETRIES": "0"}
