"""flow deploy --target airflow (a checked DAG file in a dags folder) and flow trigger through a real Airflow API server."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("the Airflow tests need apache-airflow (pip install 'flowship[airflow]')", allow_module_level=True)

import airflow_harness as harness  # noqa: E402  (a migrated AIRFLOW_HOME)
from conftest import EXAMPLES, FLOWS, REPO  # noqa: E402

PASSWORD = "not-a-real-secret"


def flow(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


@pytest.fixture(scope="module")
def api_server():
    """`airflow api-server` on a free loopback port, with user admin and a known password."""
    (harness.HOME / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({"admin": PASSWORD}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin", "PYTHONWARNINGS": "ignore"}
    log = open(harness.HOME / "api-server.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "airflow", "api-server", "-H", "127.0.0.1", "-p", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/version", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"the Airflow API server did not start: {(harness.HOME / 'api-server.log').read_text()[-2000:]}")
    yield url
    os.killpg(process.pid, 15)
    process.wait(timeout=30)
    log.close()


def test_deploy_writes_a_checked_dag_and_uploads_the_package(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    result = flow("deploy", str(EXAMPLES / "foreach.py"), "--target", "airflow", "--dags-folder", str(dags),
                  "--datastore", str(tmp_path / "store"))
    assert result.returncode == 0, result.stderr
    assert (dags / "ForeachFlow.py").read_text().startswith('"""ForeachFlow as an Airflow DAG')
    assert len(list((tmp_path / "store" / "ForeachFlow" / "packages").glob("*.tar.gz"))) == 1


def test_deploy_to_a_dags_folder_on_s3(s3_server, tmp_path):
    from conftest import new_bucket

    bucket = new_bucket(s3_server)
    result = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "airflow", "--dags-folder", f"s3://{bucket}/dags",
                  "--datastore", f"s3://{bucket}/flowship", env=s3_server)
    assert result.returncode == 0, result.stderr
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    text = client.get_object(Bucket=bucket, Key="dags/HelloFlow.py")["Body"].read().decode()
    assert text.startswith('"""HelloFlow as an Airflow DAG') and f"s3://{bucket}/flowship" in text


def test_deploy_says_what_it_replaces_and_delete_removes_the_file(tmp_path):
    dags, store = tmp_path / "dags", str(tmp_path / "store")
    dags.mkdir()
    args = ("--target", "airflow", "--dags-folder", str(dags), "--datastore", store)
    first = flow("deploy", str(EXAMPLES / "hello.py"), *args)
    assert f"will create DAG file {dags / 'HelloFlow.py'}" in first.stdout
    assert "loaded in Airflow" in first.stdout and "DagBag: ok (4 tasks)" in first.stdout
    second = flow("deploy", str(EXAMPLES / "hello.py"), *args)
    assert f"will replace DAG file {dags / 'HelloFlow.py'}" in second.stdout
    deleted = flow("delete", str(EXAMPLES / "hello.py"), *args)
    assert deleted.returncode == 0 and f"deleted DAG file {dags / 'HelloFlow.py'}" in deleted.stdout
    assert list(dags.iterdir()) == []


def test_deploy_errors(tmp_path):
    missing = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "airflow", "--dags-folder", str(tmp_path / "nope"),
                   "--datastore", str(tmp_path / "store"))
    assert missing.returncode == 1 and f"--dags-folder {tmp_path / 'nope'} does not exist" in missing.stderr
    no_folder = flow("deploy", str(EXAMPLES / "hello.py"), "--target", "airflow", "--datastore", str(tmp_path / "store"))
    assert no_folder.returncode == 1 and "needs --dags-folder" in no_folder.stderr


def test_trigger_through_the_rest_api(api_server, tmp_path):
    dags = harness.HOME / "dags"
    deployed = flow("deploy", str(FLOWS / "behaviour" / "params.py"), "--target", "airflow", "--operator", "local",
                    "--dags-folder", str(dags), "--datastore", str(tmp_path / "store"))
    assert deployed.returncode == 0, deployed.stderr
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
    login = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": PASSWORD}
    result = flow("trigger", "ParamsFlow", "--target", "airflow", "--api-url", api_server, "--text", "it's {{ x }} $(y)",
                  "--count", "4", "--flag", "true", "--config", '{"a": [1]}', env=login)
    assert result.returncode == 0, result.stderr
    paused, started = result.stdout.strip().splitlines()
    assert paused == "the DAG ParamsFlow is paused: its runs wait until it is unpaused (--unpause, or the UI)"
    run_id = started.split(": run ", 1)[1].split(";")[0]
    assert started.endswith(f"; the run is ParamsFlow/airflow-ParamsFlow.{run_id.replace(':', '-').replace('+', '-')}")
    unpaused = flow("trigger", "ParamsFlow", "--target", "airflow", "--api-url", api_server, "--unpause", env=login)
    assert unpaused.stdout.splitlines()[0] == "unpaused the DAG ParamsFlow"
    token = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{api_server}/auth/token", data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"})).read())["access_token"]
    run = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{api_server}/api/v2/dags/ParamsFlow/dagRuns/{urllib.request.quote(run_id, safe='')}",
        headers={"Authorization": f"Bearer {token}"})).read())
    assert run["conf"] == {"text": "it's {{ x }} $(y)", "count": 4, "flag": True, "config": {"a": [1]}}


def test_delete_removes_the_file_and_the_dag_in_airflow(api_server, tmp_path):
    dags = harness.HOME / "dags"
    login = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": PASSWORD}
    args = ("--target", "airflow", "--dags-folder", str(dags), "--datastore", str(tmp_path / "store"), "--api-url",
            api_server, "--operator", "local", "--name", "DeletedFlow")  # a DAG no other test has deployed
    deployed = flow("deploy", str(EXAMPLES / "hello.py"), *args, env=login)
    assert deployed.returncode == 0, deployed.stderr
    assert "has not parsed the DAG file yet" in deployed.stdout  # the dag-processor's pace, said as such
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
    deleted = flow("delete", str(EXAMPLES / "hello.py"), *args, env=login)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.splitlines() == [
        f"will delete DAG file {dags / 'DeletedFlow.py'}", f"will delete DAG DeletedFlow in Airflow at {api_server}",
        f"deleted DAG file {dags / 'DeletedFlow.py'}", f"deleted DAG DeletedFlow in Airflow at {api_server}"]
    again = flow("delete", str(EXAMPLES / "hello.py"), *args, env=login)
    assert again.stdout.splitlines()[-1] == "nothing to delete"


def test_trigger_errors(api_server):
    wrong = flow("trigger", "ParamsFlow", "--target", "airflow", "--api-url", api_server,
                 env={"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": "wrong"})
    assert wrong.returncode == 1 and "refused the request (401)" in wrong.stderr
    login = {"AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": PASSWORD}
    unknown = flow("trigger", "NoSuchFlow", "--target", "airflow", "--api-url", api_server, env=login)
    assert unknown.returncode == 1 and "is the DAG deployed?" in unknown.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = flow("trigger", "ParamsFlow", "--target", "airflow", "--api-url", f"http://127.0.0.1:{closed}", env=login)
    assert unreachable.returncode == 1 and "cannot reach Airflow at" in unreachable.stderr
