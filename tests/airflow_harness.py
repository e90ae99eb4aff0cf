"""Real Airflow 3 for the tests: an isolated AIRFLOW_HOME, DagBag loading, dag.test(), and KPO pods run locally.

``AIRFLOW_HOME`` and friends must be set before ``airflow`` is first imported,
so this module sets them at import time (into a fresh temporary folder) and is
imported only by the Airflow tests.

Kubernetes mode cannot run pods here (no cluster). ``run_kubernetes_dag``
does the closest honest thing: it walks the DAG in dependency order and, for
each task, builds the pod Airflow would launch — templates rendered exactly as
Airflow renders them (for a mapped task: the unmapped operator, with mapped
values left unrendered), then ``build_pod_request_obj(dry_run=True)`` — and
runs that pod's container command as a local process, feeding the XCom file
back to downstream mapping the way the provider's sidecar does.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOME = Path(tempfile.mkdtemp(prefix="flowship-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(HOME / "dags"),
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
})
(HOME / "dags").mkdir()
# Before airflow is imported here: its in-process engine must open the migrated database.
subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
               env={**os.environ, "PYTHONWARNINGS": "ignore"})


def load_dag(text: str, name: str):
    """Write ``text`` as a DAG file and load it with a DagBag; return (dag, import errors, serialization error)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    folder = Path(tempfile.mkdtemp(dir=HOME / "dags"))
    path = folder / f"{name}.py"
    path.write_text(text)
    bag = DagBag(dag_folder=str(path))
    dag = next(iter(bag.dags.values()), None)
    serialization_error = None
    if dag is not None:
        try:
            DagSerialization.to_dict(dag)
        except Exception as exc:  # report it to the test, which pins it as a failure
            serialization_error = repr(exc)
    return dag, dict(bag.import_errors), serialization_error


def run_dag_test(dag, conf: dict[str, Any] | None = None) -> str:
    return str(dag.test(run_conf=conf).state)


@dataclass
class FakeTaskInstance:
    try_number: int = 1
    map_index: int = -1


@dataclass
class PodRun:
    task_id: str
    map_index: int
    image: str
    command: list[str]
    env: dict[str, str]
    resources: Any
    exit_code: int


@dataclass
class KubernetesDagRun:
    dag: Any
    run_id: str
    conf: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    pods: list[PodRun] = field(default_factory=list)
    xcoms: dict[str, Any] = field(default_factory=dict)

    def context(self, task, map_index: int) -> dict[str, Any]:
        params = {k: self.dag.params[k] for k in self.dag.params.keys()}  # values, as Airflow resolves them
        params.update(self.conf)
        return {"run_id": self.run_id, "params": params, "ti": FakeTaskInstance(1, map_index), "dag": self.dag,
                "task": task}

    def order(self) -> list[str]:
        done: list[str] = []
        pending = dict(self.dag.task_dict)
        while pending:
            ready = [t for t, task in pending.items() if set(task.upstream_task_ids) <= set(done)]
            for task_id in sorted(ready):
                done.append(task_id)
                del pending[task_id]
        return done

    def resolve(self, value: Any) -> list[Any]:
        """An expand() value: a (possibly .map()ped) XComArg over an upstream task's output."""
        from airflow.sdk.definitions.xcom_arg import MapXComArg, PlainXComArg

        if isinstance(value, MapXComArg):
            source = self.resolve(value.arg)
            return [functools.reduce(lambda v, f: f(v), value.callables, item) for item in source]
        if isinstance(value, PlainXComArg):
            return list(self.xcoms[value.operator.task_id])
        raise TypeError(f"cannot resolve {value!r}")

    def run(self) -> None:
        """Every task in order; after a failure, tasks downstream of it are upstream_failed, but teardowns still
        run (Airflow's ALL_DONE_SETUP_SUCCESS), and the first failure is raised at the end."""
        failed: set[str] = set()
        first: AssertionError | None = None
        for task_id in self.order():
            task = self.dag.task_dict[task_id]
            if set(task.upstream_task_ids) & failed and not task.is_teardown:
                failed.add(task_id)
                continue
            try:
                self.run_task(task_id, task)
            except AssertionError as exc:
                failed.add(task_id)
                first = first or exc
        if first:
            raise first

    def run_task(self, task_id: str, task: Any) -> None:
        from airflow.sdk.definitions.mappedoperator import MappedOperator

        if type(task).__name__ == "_PythonDecoratedOperator":
            (argument,) = task.op_args
            self.xcoms[task_id] = task.python_callable(self.xcoms[argument.operator.task_id])
        elif isinstance(task, MappedOperator):
            expansions = {name: self.resolve(value) for name, value in task._get_specified_expand_input().value.items()}
            count = len(next(iter(expansions.values())))
            results = []
            for index in range(count):
                mapped = {name: values[index] for name, values in expansions.items()}
                operator = task.unmap(mapped)
                operator._do_render_template_fields(
                    parent=operator, template_fields=task.template_fields, context=self.context(operator, index),
                    jinja_env=self.dag.get_template_env(), seen_oids={id(v) for v in mapped.values()},
                )
                results.append(self.run_pod(operator, index))
            self.xcoms[task_id] = results
        else:
            task.render_template_fields(self.context(task, -1), jinja_env=self.dag.get_template_env())
            self.xcoms[task_id] = self.run_pod(task, -1)

    def run_pod(self, operator, map_index: int) -> Any:
        pod = operator.build_pod_request_obj(dry_run=True)
        container = pod.spec.containers[0]
        with tempfile.TemporaryDirectory(prefix="kpo-pod-") as scratch:
            xcom = os.path.join(scratch, "return.json")
            argv = [a.replace("/airflow/xcom/return.json", xcom) for a in container.command + container.args]
            env = {**os.environ, **self.env, **{e.name: e.value for e in container.env or []}}
            command = [sys.executable, "-m", "flowship", *argv[1:]] if argv[0] == "flow" else argv
            code = subprocess.run(command, env=env, capture_output=True, cwd=scratch).returncode
            self.pods.append(PodRun(operator.task_id, map_index, container.image, argv,
                                    {e.name: e.value for e in container.env or []}, container.resources, code))
            if code != 0:
                raise AssertionError(f"pod for {operator.task_id}[{map_index}] failed: {argv}")
            if operator.do_xcom_push and os.path.exists(xcom):
                with open(xcom, encoding="utf-8") as handle:
                    return json.load(handle)
        return None
