"""A real Airflow 3 on loopback for the tests: scheduler, dag-processor and API server as processes.

Everything runs in its own ``AIRFLOW_HOME`` (a fresh folder with its own
SQLite database and dags folder), given to each Airflow process in its
environment — this module never imports ``airflow`` and never changes
``os.environ``, so it is independent of ``airflow_harness`` (which sets
``AIRFLOW_HOME`` for the in-process Airflow tests) and of the import order.

Each component is started with ``start_new_session=True`` and stopped by its
process group (SIGTERM, then SIGKILL after a grace period), which takes the
LocalExecutor's workers and the task processes they run with it.

The settings (``AirflowCluster.settings``), from Airflow's own configuration
reference (``airflow/config_templates/config.yml``, ``airflow config list``):

- ``[core] executor = LocalExecutor``: tasks run as processes forked from the
  scheduler, so they see the scheduler's environment (``FLOWSHIP_CACHE``...).
- ``[core] execution_api_server_url``: where task processes reach the
  Execution API (default ``{[api] base_url}/execution/``, else
  ``http://localhost:8080``); here the API server's loopback port.
- ``[api_auth] jwt_secret`` and ``[api] secret_key``: one value for every
  component ("must be consistent across all components that generate or
  validate JWT tokens (Scheduler, API Server)").
- ``[dag_processor] refresh_interval`` (default 300 s: how often a bundle is
  listed for new files), ``bundle_refresh_check_interval`` (default 5 s: how
  often the processor checks whether a bundle is due),
  ``min_file_process_interval`` (default 30 s: how often a known file is
  parsed again) and ``[core] min_serialized_dag_update_interval`` (default
  30 s: how often a DAG's serialized form may be rewritten): lowered so a
  new or rewritten DAG file reaches the database in seconds.
- ``[core] load_examples = False``, ``[core] parallelism = 4`` (a small
  machine), ``[core] simple_auth_manager_users = admin:admin`` with a known
  password in ``simple_auth_manager_passwords.json.generated``.
- ``airflow scheduler --skip-serve-logs``: no log server on 0.0.0.0:8793
  (``[logging] worker_log_server_port``); the API server reads task logs from
  the shared ``logs`` folder.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

USER = "admin"
PASSWORD = "not-a-real-secret"
COMPONENTS = ("api-server", "dag-processor", "scheduler")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ClusterError(AssertionError):
    """Airflow did not do something in time; the message ends with the components' and tasks' log tails."""


class AirflowCluster:
    """An Airflow 3 on 127.0.0.1: ``start()``, ``api()``, ``wait_for_dag()``, ``wait_for_run()``, ``stop()``."""

    def __init__(self, root: Path | None = None, python: str = sys.executable, extra_env: dict[str, str] | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="flowship-airflow-cluster-"))
        self.home = self.root / "airflow"
        self.dags = self.home / "dags"
        self.logs = self.home / "logs"
        self.cache = self.root / "flowship-cache"
        self.python = python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self._log_files: list[Any] = []
        self._token: str | None = None
        self.settings = {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "1",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
        }
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            **self.settings,
            "AIRFLOW_HOME": str(self.home),
            "FLOWSHIP_CACHE": str(self.cache),  # the worker's tasks unpack code packages here
            "PYTHONWARNINGS": "ignore",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            **(extra_env or {}),
        }

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> AirflowCluster:
        self.dags.mkdir(parents=True, exist_ok=True)
        self.cache.mkdir(parents=True, exist_ok=True)
        migrated = subprocess.run([self.python, "-m", "airflow", "db", "migrate"], env=self.env, capture_output=True,
                                  text=True, timeout=timeout)
        if migrated.returncode != 0:
            raise ClusterError(f"airflow db migrate failed:\n{migrated.stdout[-2000:]}\n{migrated.stderr[-2000:]}")
        (self.home / "simple_auth_manager_passwords.json.generated").write_text(json.dumps({USER: PASSWORD}))
        try:
            self._spawn("api-server", "-H", "127.0.0.1", "-p", str(self.port))
            self._spawn("dag-processor")
            self._spawn("scheduler", "--skip-serve-logs")
            self._wait_until("the API server answers", self._answers, timeout)
            self._wait_until("the scheduler and the dag-processor are healthy", self._healthy, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, component: str, *args: str) -> None:
        log = open(self.root / f"{component}.log", "wb")  # noqa: SIM115 (open while the process runs; closed by stop())
        self._log_files.append(log)
        self.processes[component] = subprocess.Popen(
            [self.python, "-m", "airflow", component, *args], env=self.env, cwd=self.root, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM each component's process group (scheduler first), SIGKILL what is left after ``grace`` s."""
        for component in reversed(COMPONENTS):
            process = self.processes.get(component)
            if process is not None and process.poll() is None:
                self._signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for component in reversed(COMPONENTS):
            process = self.processes.get(component)
            if process is None:
                continue
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            self._signal_group(process, signal.SIGKILL)  # the leader or its children may linger
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()
        for log in self._log_files:
            log.close()
        self._log_files.clear()

    @staticmethod
    def _signal_group(process: subprocess.Popen, signum: int) -> None:
        try:
            os.killpg(process.pid, signum)  # the group we created with start_new_session: pgid == pid
        except ProcessLookupError:
            pass

    def __enter__(self) -> AirflowCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the REST API ------------------------------------------------------------------------------------------

    @property
    def login_env(self) -> dict[str, str]:
        """What ``flow deploy/trigger/delete --api-url`` need in their environment to log in."""
        return {"AIRFLOW_USERNAME": USER, "AIRFLOW_PASSWORD": PASSWORD}

    def token(self) -> str:
        if self._token is None:
            self._token = self._request("POST", "/auth/token", {"username": USER, "password": PASSWORD},
                                        auth=False)["access_token"]
        return self._token

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, missing_ok: bool = False) -> Any:
        """One REST API call (``path`` from ``/api/v2/...``); the JSON answer, or None for a 404 when ``missing_ok``."""
        try:
            return self._request(method, path, body)
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            detail = exc.read().decode("utf-8", "replace")[:1000]
            raise ClusterError(f"{method} {path} answered {exc.code}: {detail}") from None

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}", missing_ok=True)

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}?update_mask=is_paused", {"is_paused": False})

    def trigger(self, dag_id: str, run_id: str | None = None, conf: dict[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id is not None:
            body["dag_run_id"] = run_id
        return self.api("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns", body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of the DAG (``dag_run_id``, ``run_type``, ``state``, ...)."""
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns?limit=100")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return self.api("GET", path)["task_instances"]

    # -- waiting -----------------------------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 60) -> dict[str, Any]:
        """The DAG as the API shows it, once the dag-processor has parsed its file."""
        found: dict[str, Any] = {}

        def parsed() -> bool:
            found.update(self.dag(dag_id) or {})
            return bool(found)

        self._wait_until(f"the dag-processor parses DAG {dag_id}", parsed, timeout)
        return found

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 120) -> dict[str, Any]:
        """The DAG run once it has finished (success or failed); a ClusterError with the logs on timeout."""
        finished: dict[str, Any] = {}

        def done() -> bool:
            run = self.run(dag_id, run_id)
            finished.update(run)
            return run["state"] in ("success", "failed")

        self._wait_until(f"DAG run {dag_id}/{run_id} finishes", done, timeout,
                         lambda: f"last state: {finished.get('state')}; {self.task_states(dag_id, run_id)}")
        return finished

    def wait_for_task(self, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...] = ("running",),
                      timeout: float = 60) -> str:
        seen: list[str] = []

        def reached() -> bool:
            state = next((ti["state"] for ti in self.task_instances(dag_id, run_id) if ti["task_id"] == task_id), None)
            seen.append(str(state))
            return state in states

        self._wait_until(f"task {dag_id}/{run_id}/{task_id} reaches {states}", reached, timeout,
                         lambda: f"states seen: {seen[-5:]}")
        return seen[-1]

    def task_states(self, dag_id: str, run_id: str) -> str:
        try:
            return "tasks: " + ", ".join(f"{ti['task_id']}={ti['state']}" for ti in self.task_instances(dag_id, run_id))
        except Exception as exc:  # the diagnosis must not hide the failure it explains
            return f"tasks: unknown ({exc!r})"

    def _wait_until(self, what: str, condition, timeout: float, detail=lambda: "") -> None:
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            dead = [name for name, process in self.processes.items() if process.poll() is not None]
            if dead:
                raise ClusterError(f"waiting until {what}: airflow {', '.join(dead)} exited\n{self.diagnosis()}")
            try:
                if condition():
                    return
                last_error = None
            except (OSError, ClusterError, ValueError, KeyError) as exc:
                last_error = exc
            time.sleep(0.5)
        raise ClusterError(f"timed out after {timeout:.0f} s waiting until {what}; {detail()}"
                           f"{f'; last error: {last_error!r}' if last_error else ''}\n{self.diagnosis()}")

    def _answers(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/v2/version", timeout=2):
            return True

    def _healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as response:
            health = json.loads(response.read())
        return all((health.get(part) or {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor"))

    # -- diagnosis ---------------------------------------------------------------------------------------------

    def diagnosis(self, chars: int = 3000) -> str:
        """The tail of each component's log and of the newest task logs."""
        parts = []
        for component in COMPONENTS:
            path = self.root / f"{component}.log"
            if path.exists():
                parts.append(f"--- {component} log ({path}), tail:\n{_tail(path, chars)}")
        task_logs = sorted(self.logs.glob("dag_id=*/**/*.log"), key=lambda p: p.stat().st_mtime)[-4:]
        for path in task_logs:
            lines = path.read_text(errors="replace").splitlines()
            output = [line for line in lines if '"logger":"task.std' in line][-40:]  # the step process's own output
            parts.append(f"--- task log {path.relative_to(self.logs)}: the step's output:\n" + "\n".join(output)
                         + f"\n--- and the log's tail:\n{_tail(path, chars // 2)}")
        return "\n".join(parts)


def _tail(path: Path, chars: int) -> str:
    return path.read_bytes()[-chars:].decode("utf-8", "replace")
