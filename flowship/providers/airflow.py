"""Airflow deployments: the dags folder (a checked DAG file written or removed) and the REST API v2 (trigger a run).

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flowship.compiler.ir import ParameterType
from flowship.compiler.targets.airflow.dagfile import flowship_run_id
from flowship.compiler.targets.base import Compiled
from flowship.errors import FlowshipError
from flowship.param_codec import parse_typed
from flowship.providers.deployer import Change, Deployer, DeployerOption, Triggered
from flowship.providers.storage.base import Storage

__all__ = ["check_dag_file", "write_dag_file", "AirflowApi", "AirflowDeployer", "DEPLOYER", "DagCheck"]

_CHECK = """
import json, sys
import airflow
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
errors = {k: v.strip().splitlines()[-1] for k, v in bag.import_errors.items()}
for dag in bag.dags.values():
    try:
        DagSerialization.to_dict(dag)
    except Exception as exc:
        errors[dag.dag_id] = repr(exc)
tasks = {dag_id: len(dag.tasks) for dag_id, dag in bag.dags.items()}
print(json.dumps({"version": airflow.__version__, "tasks": tasks, "errors": errors}))
"""


@dataclass(frozen=True)
class DagCheck:
    airflow_version: str
    tasks: int

    def __str__(self) -> str:
        return f"loaded in Airflow {self.airflow_version} DagBag: ok ({self.tasks} tasks)"


def check_dag_file(text: str, dag_id: str) -> DagCheck | None:
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
        env = {
            **os.environ,
            "AIRFLOW_HOME": os.path.join(scratch, "home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONWARNINGS": "ignore",
        }
        result = subprocess.run([sys.executable, "-c", _CHECK, path], capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise FlowshipError(f"checking the DAG file with Airflow failed: {result.stderr.strip().splitlines()[-1:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
    if report["errors"]:
        raise FlowshipError(f"the DAG file does not load in Airflow {report['version']}: {report['errors']}")
    if dag_id not in report["tasks"]:
        raise FlowshipError(f"the DAG file loads but defines no DAG '{dag_id}'")
    return DagCheck(report["version"], report["tasks"][dag_id])


def _dag_path(folder: str, dag_id: str) -> str:
    if folder.startswith("s3://"):
        return f"{folder.rstrip('/')}/{dag_id}.py"
    if "://" in folder:
        raise FlowshipError(f"--dags-folder {folder}: give a local folder or s3://bucket/prefix")
    if not os.path.isdir(folder):
        raise FlowshipError(f"--dags-folder {folder} does not exist; give your Airflow's dags folder")
    return os.path.join(folder, f"{dag_id}.py")


def _dags_folder(folder: str, dag_id: str) -> tuple[Storage, str]:
    """The dags folder as a store (local writes are temp file + rename, so Airflow never parses half a file)."""
    from flowship.providers.storage import LocalStorage, open_storage

    path = _dag_path(folder, dag_id)
    return (open_storage(folder) if "://" in folder else LocalStorage(folder, "dags folder")), path


def dag_file_exists(folder: str, dag_id: str) -> bool:
    storage, _ = _dags_folder(folder, dag_id)
    return storage.exists(f"{dag_id}.py")


def remove_dag_file(folder: str, dag_id: str) -> None:
    storage, _ = _dags_folder(folder, dag_id)
    storage.delete(f"{dag_id}.py")


def write_dag_file(folder: str, dag_id: str, text: str) -> str:
    """Write ``<dag_id>.py`` into a local dags folder or an ``s3://bucket/prefix`` one (atomically either way)."""
    storage, path = _dags_folder(folder, dag_id)
    storage.put(f"{dag_id}.py", text.encode("utf-8"))
    return path


class AirflowApi:
    def __init__(self, url: str, token: str | None = None):
        self.url = url.rstrip("/")
        self.token = token or os.environ.get("AIRFLOW_TOKEN") or self._login()

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = True, missing_ok: bool = False
    ) -> Any:
        import urllib.error
        import urllib.request  # here, not at the top: `flow --help` reads this module's options

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
                raise FlowshipError(
                    f"Airflow at {self.url} refused the request ({exc.code}): check the token or user"
                ) from None
            if exc.code == 404 and missing_ok:
                return None
            if exc.code == 404:
                raise FlowshipError(
                    f"Airflow at {self.url}: {path} not found — is the DAG deployed? ({detail})"
                ) from None
            raise FlowshipError(f"Airflow at {self.url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FlowshipError(f"cannot reach Airflow at {self.url} ({reason}) — check --api-url") from None

    def _login(self) -> str | None:
        user, password = os.environ.get("AIRFLOW_USERNAME"), os.environ.get("AIRFLOW_PASSWORD")
        if not user or password is None:
            return None
        self.token = None
        return self._request("POST", "/auth/token", {"username": user, "password": password}, auth=False)[
            "access_token"
        ]

    def dag_params(self, dag_id: str) -> dict[str, Any]:
        """The DAG's params as the API describes them: name -> {value, schema, ...}."""
        details = self._request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/details")
        return details.get("params") or {}

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        """The DAG as Airflow knows it (``is_paused``, ...), or None before the dag-processor has parsed its file."""
        return self._request("GET", f"/api/v2/dags/{quote(dag_id, safe='')}", missing_ok=True)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._request("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}?update_mask=is_paused", {"is_paused": paused})

    def delete_dag(self, dag_id: str) -> None:
        """Remove the DAG and its runs' metadata from Airflow (its file must be gone, or it comes back)."""
        self._request("DELETE", f"/api/v2/dags/{quote(dag_id, safe='')}", missing_ok=True)

    def asset_id(self, name: str) -> int | None:
        """The id of the asset named ``name``; None when no parsed DAG uses it."""
        found = self._request("GET", f"/api/v2/assets?name_pattern={quote(name, safe='')}&limit=100")
        return next((a["id"] for a in found.get("assets", []) if a.get("name") == name), None)

    def create_asset_event(self, asset_id: int, extra: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/v2/assets/events", {"asset_id": asset_id, "extra": extra})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        run = self._request(
            "POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", {"logical_date": None, "conf": conf}
        )
        return run["dag_run_id"]


_SCHEMA_TYPES: dict[str, ParameterType] = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


class AirflowDeployer(Deployer):
    check_description = "loading the DAG file in an Airflow DagBag"
    options = (
        DeployerOption(
            "dags-folder",
            "airflow: the dags folder to write the DAG file into (a path or s3://bucket/prefix)",
            ("deploy", "delete"),
            ("deploy", "delete"),
        ),
        DeployerOption(
            "api-url",
            "airflow: the Airflow API server, e.g. http://localhost:8080 (deploy and delete: to see the DAG there too)",
            ("deploy", "delete", "trigger", "publish"),
            ("trigger", "publish"),
        ),
        DeployerOption(
            "token",
            "airflow: API token (default: $AIRFLOW_TOKEN, else a login with $AIRFLOW_USERNAME/$AIRFLOW_PASSWORD)",
            ("deploy", "delete", "trigger", "publish"),
        ),
        DeployerOption(
            "unpause",
            "airflow: unpause the DAG (Airflow pauses new DAGs); needs --api-url",
            ("deploy", "trigger"),
            flag=True,
        ),
    )

    @property
    def folder(self) -> str:
        return str(self.settings["dags-folder"])

    def check(self, compiled: Compiled) -> str | None:
        report = check_dag_file(compiled.text, compiled.name)
        return None if report is None else str(report)

    def plan(self, compiled: Compiled) -> list[Change]:
        exists = dag_file_exists(self.folder, compiled.name)
        return [Change("replace" if exists else "create", f"DAG file {_dag_path(self.folder, compiled.name)}")]

    def apply(self, compiled: Compiled) -> list[Change]:
        changes = self.plan(compiled)
        write_dag_file(self.folder, compiled.name, compiled.text)
        return changes

    def plan_delete(self, name: str) -> list[Change]:
        exists = dag_file_exists(self.folder, name)
        changes = [Change("delete" if exists else "absent", f"DAG file {_dag_path(self.folder, name)}")]
        if self.settings.get("api-url"):
            known = self._api().dag(name) is not None
            changes.append(Change("delete" if known else "absent", f"DAG {name} in Airflow at {self._api().url}"))
        return changes

    def delete(self, name: str) -> list[Change]:
        changes = self.plan_delete(name)
        remove_dag_file(self.folder, name)  # first: with its file still there, Airflow would parse it back
        if self.settings.get("api-url"):
            self._api().delete_dag(name)
        return changes

    def status(self, name: str) -> list[str]:
        """Paused or not, when the API can be asked; unpaused when asked to."""
        if not self.settings.get("api-url"):
            return ["Airflow pauses a new DAG until it is unpaused (give --api-url to see, --unpause to unpause)"]
        api = self._api()
        dag = api.dag(name)
        if dag is None:
            return [
                f"Airflow at {api.url} has not parsed the DAG file yet ([dag_processor] refresh_interval); "
                "a new DAG arrives paused: flow trigger --unpause, or the UI, unpauses it"
            ]
        if dag.get("is_paused") and self.settings.get("unpause"):
            api.set_paused(name, False)
            return [f"unpaused the DAG {name}"]
        if dag.get("is_paused"):
            return [f"the DAG {name} is paused: its runs wait until it is unpaused (--unpause, or the UI)"]
        return [f"the DAG {name} is active"]

    def _api(self) -> AirflowApi:
        if not hasattr(self, "_client"):
            self._client = AirflowApi(str(self.settings["api-url"]), self.settings.get("token"))
        return self._client

    def parameters(self, name: str) -> dict[str, ParameterType]:
        declared = self._api().dag_params(name)
        types: dict[str, ParameterType] = {}
        for key, param in declared.items():
            kinds = (param.get("schema") or {}).get("type")
            kinds = [kinds] if isinstance(kinds, str) else kinds or []
            types[key] = next((_SCHEMA_TYPES[k] for k in kinds if k in _SCHEMA_TYPES), "json")
        return types

    def trigger(self, name: str, values: Mapping[str, str]) -> Triggered:
        types = self.parameters(name)
        conf = {key: parse_typed(key, types[key], text) for key, text in values.items()}
        airflow_run = self._api().trigger(name, conf)
        return Triggered(f"DAG {name}: run {airflow_run}", flowship_run_id(name, airflow_run))

    def publish(self, event: Mapping[str, Any]) -> str:
        """An asset event on the event's asset, its payload as ``extra``: the DAGs scheduled on it start."""
        api = self._api()
        asset = api.asset_id(event["name"])
        if asset is None:
            raise FlowshipError(
                f"Airflow at {api.url} has no asset '{event['name']}': no deployed flow has @trigger on that event "
                "(or the dag-processor has not parsed its DAG file yet)"
            )
        created = api.create_asset_event(asset, dict(event["payload"]))
        return f"asset event {created.get('id')} on asset '{event['name']}' (id {asset})"


DEPLOYER = AirflowDeployer
