"""An existing Airflow: its dags folder (write a checked DAG file) and its REST API v2 (trigger a run).

The DAG file is checked before it is written: when Airflow is importable
here, a DagBag must load it without import errors and the DAG must
serialize. Writes are atomic (temp file + rename), so the dag-processor never
parses half a file. Triggering uses ``POST /api/v2/dags/{dag_id}/dagRuns``
with a bearer token (``--token``/``AIRFLOW_TOKEN``, or one obtained from
``/auth/token`` with ``AIRFLOW_USERNAME``/``AIRFLOW_PASSWORD``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from flowship.errors import FlowshipError

__all__ = ["check_dag_file", "write_dag_file", "AirflowApi"]

_CHECK = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
errors = {k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}
for dag in bag.dags.values():
    try:
        DagSerialization.to_dict(dag)
    except Exception as exc:
        errors[dag.dag_id] = repr(exc)
print(json.dumps({"dags": sorted(bag.dags), "errors": errors}))
"""


def check_dag_file(text: str, dag_id: str) -> str | None:
    """Load the DAG in a DagBag (in a separate interpreter); None if Airflow is not installed here."""
    try:
        import importlib.util

        if importlib.util.find_spec("airflow") is None:
            return None
    except ValueError:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, f"{dag_id}.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        env = {**os.environ, "AIRFLOW_HOME": os.path.join(scratch, "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "PYTHONWARNINGS": "ignore"}
        result = subprocess.run([sys.executable, "-c", _CHECK, path], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise FlowshipError(f"checking the DAG file with Airflow failed: {result.stderr.strip().splitlines()[-1:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
    if report["errors"]:
        raise FlowshipError(f"the DAG file does not load in Airflow: {report['errors']}")
    if dag_id not in report["dags"]:
        raise FlowshipError(f"the DAG file loads but defines no DAG '{dag_id}'")
    return "checked"


def write_dag_file(folder: str, dag_id: str, text: str) -> str:
    """Write ``<dag_id>.py`` into a local dags folder or an ``s3://bucket/prefix`` one (atomically either way)."""
    if folder.startswith("s3://"):
        from flowship.providers.storage import open_storage

        open_storage(folder).put(f"{dag_id}.py", text.encode("utf-8"))
        return f"{folder.rstrip('/')}/{dag_id}.py"
    if "://" in folder:
        raise FlowshipError(f"--dags-folder {folder}: give a local folder or s3://bucket/prefix")
    if not os.path.isdir(folder):
        raise FlowshipError(f"--dags-folder {folder} does not exist; give your Airflow's dags folder")
    path = os.path.join(folder, f"{dag_id}.py")
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".flowship-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except OSError as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise FlowshipError(f"cannot write {path}: {exc.strerror}") from None
    return path


class AirflowApi:
    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        self.token = token or os.environ.get("AIRFLOW_TOKEN") or self._login()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            if exc.code in (401, 403):
                raise FlowshipError(f"Airflow at {self.url} refused the request ({exc.code}): check the token or user") from None
            if exc.code == 404:
                raise FlowshipError(f"Airflow at {self.url}: {path} not found — is the DAG deployed? ({detail})") from None
            raise FlowshipError(f"Airflow at {self.url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FlowshipError(f"cannot reach Airflow at {self.url} ({reason}) — check --api-url") from None

    def _login(self) -> str | None:
        user, password = os.environ.get("AIRFLOW_USERNAME"), os.environ.get("AIRFLOW_PASSWORD")
        if not user or password is None:
            return None
        self.token = None
        return self._request("POST", "/auth/token", {"username": user, "password": password}, auth=False)["access_token"]

    def dag_params(self, dag_id: str) -> dict[str, Any]:
        """The DAG's params as the API describes them: name -> {value, schema, ...}."""
        details = self._request("GET", f"/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/details")
        return details.get("params") or {}

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        run = self._request("POST", f"/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns",
                            {"logical_date": None, "conf": conf})
        return run["dag_run_id"]
