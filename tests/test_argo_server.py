"""flow deploy / trigger / delete --target argo --argo-server: the Argo Server's REST API, over verified TLS.

No Argo Server can run here: ``argo_server_standin`` serves the documented
endpoints on loopback (and says it is a stand-in), checking the token and every
object sent against Argo's CRD schema.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from argo_server_standin import ArgoServerStandIn
from conftest import EXAMPLES, REPO, shared_dir


@pytest.fixture
def server(tmp_path):
    standin = ArgoServerStandIn(tmp_path, shared_dir("argo", "crds"))
    yield standin
    standin.close()


def flow(server, tmp_path, *args: str, token: str | None = None, ca: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ARGO_TOKEN"}
    env.update({"ARGO_TOKEN": token or server.token, "FLOWSHIP_DATASTORE": str(tmp_path / "store")})
    options = ["--argo-server", server.url, "--namespace", "ml"] + (["--argo-ca-file", str(server.certificate)] if ca else [])
    return subprocess.run([sys.executable, "-m", "flowship", *args, "--target", "argo", *options], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_deploy_creates_then_replaces_and_delete_removes(server, tmp_path):
    first = flow(server, tmp_path, "deploy", str(EXAMPLES / "daily_retrain.py"))
    assert first.returncode == 0, first.stderr
    name = next(k[2] for k in server.objects if k[1] == "workflow-templates")
    assert f"created WorkflowTemplate ml/{name}" in first.stdout and f"created CronWorkflow ml/{name}" in first.stdout
    second = flow(server, tmp_path, "deploy", str(EXAMPLES / "daily_retrain.py"))
    assert f"replaced WorkflowTemplate ml/{name}" in second.stdout
    assert server.objects[("ml", "workflow-templates", name)]["metadata"]["resourceVersion"] == "2"
    deleted = flow(server, tmp_path, "delete", str(EXAMPLES / "daily_retrain.py"))
    assert deleted.returncode == 0, deleted.stderr
    assert server.objects == {}


def test_trigger_submits_from_the_template_with_the_parameters(server, tmp_path):
    assert flow(server, tmp_path, "deploy", str(EXAMPLES / "hello.py")).returncode == 0
    triggered = flow(server, tmp_path, "trigger", "HelloFlow", "--who", "it's {{workflow.name}}")
    assert triggered.returncode == 0, triggered.stderr
    (sent,) = server.submitted
    assert (sent["resourceKind"], sent["resourceName"]) == ("WorkflowTemplate", "hello-flow")
    (parameter,) = sent["submitOptions"]["parameters"]
    assert parameter.startswith("who=flowship-base64:")  # kept out of Argo's reach, decoded by the step
    assert "; the run is HelloFlow/argo-ml.hello-flow-" in triggered.stdout


@pytest.mark.parametrize("args, kwargs, message", [
    (("deploy", str(EXAMPLES / "hello.py")), {"ca": False},
     "certificate at https://127.0.0.1:{port} is not trusted (self-signed certificate) — give its CA with --argo-ca-file"),
    (("deploy", str(EXAMPLES / "hello.py")), {"token": "wrong"},
     "refused the token (401: token not valid)"),
    (("trigger", "NoSuchFlow"), {}, "no WorkflowTemplate ml/no-such-flow; deploy the flow first"),
    (("deploy", str(EXAMPLES / "hello.py"), "--rbac"), {},
     "--argo-server manages Argo's objects only, not the ServiceAccount, Role, RoleBinding of --rbac"),
])
def test_errors_are_one_line(server, tmp_path, args, kwargs, message):
    result = flow(server, tmp_path, *args, **kwargs)
    assert result.returncode == 1
    assert message.format(port=server.server.server_address[1]) in result.stderr
    assert "Traceback" not in result.stderr and server.objects == {}


@pytest.mark.parametrize("url", ["http://argo.example.com", "argo.example.com", "https://[bad"])
def test_only_an_https_url_is_taken(url, tmp_path):
    result = subprocess.run([sys.executable, "-m", "flowship", "deploy", str(EXAMPLES / "hello.py"), "--target", "argo",
                             "--argo-server", url, "--namespace", "ml", "--datastore", str(tmp_path)], cwd=REPO,
                            capture_output=True, text=True, env={**os.environ, "ARGO_TOKEN": "t"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"--argo-server {url}: give the server's https:// URL" in result.stderr


def test_options_of_the_argo_server_need_it(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flowship", "deploy", str(EXAMPLES / "hello.py"), "--target", "argo",
                             "--argo-token-file", "t", "--datastore", str(tmp_path)], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 1 and "--argo-token-file is for the Argo Server: give --argo-server URL too" in result.stderr
