"""A test-only executor of Argo WorkflowTemplates that follows Argo's documented semantics.

No Kubernetes cluster can run here, so this stands in for the Argo controller:
DAG tasks start once every task in ``depends`` succeeded; ``withParam`` fans
a task out over the JSON list it resolves to, binding ``{{item}}``; a
template's inputs come from the call's arguments or their defaults;
``{{workflow.name}}``, ``{{workflow.parameters.*}}``, ``{{inputs.*}}``,
``{{tasks.*.outputs.parameters.*}}``, ``{{item}}`` and ``{{retries}}`` are
substituted in one pass (a substituted value is never re-read); a
``retryStrategy`` re-runs a failed container up to ``limit`` more times;
``activeDeadlineSeconds`` kills it. Any ``{{...}}`` left unresolved fails the
run. Each container's command and args run as a local process (the image is
ignored; ``flow`` is this interpreter's flowship); each "pod" gets its own
scratch folder, and paths of output parameters are mapped into it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from argo.kubelet import container_environment, expand

_TAG = re.compile(r"{{\s*([^{}]*?)\s*}}")


class ArgoRunError(AssertionError):
    pass


@dataclass
class Pod:
    template: str
    args: list[str]
    attempts: int
    exit_code: int


@dataclass
class ArgoRunner:
    document: dict[str, Any]
    workflow_name: str
    arguments: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    namespace: str = "ml"

    def __post_init__(self) -> None:
        self.templates = {t["name"]: t for t in self.document["spec"]["templates"]}
        declared = {p["name"]: p.get("value") for p in self.document["spec"].get("arguments", {}).get("parameters", [])}
        unknown = set(self.arguments) - set(declared)
        if unknown:
            raise ArgoRunError(f"arguments {sorted(unknown)} are not declared by the WorkflowTemplate")
        self.workflow = {"workflow.name": self.workflow_name, "workflow.namespace": self.namespace}
        for name, default in declared.items():
            value = self.arguments.get(name, default)
            if value is None:
                raise ArgoRunError(f"workflow parameter '{name}' has no value")
            self.workflow[f"workflow.parameters.{name}"] = value

    @staticmethod
    def substitute(text: str, scope: dict[str, str]) -> str:
        def replace(match: re.Match[str]) -> str:
            tag = match.group(1)
            if tag not in scope:
                raise ArgoRunError(f"unresolved variable {{{{{tag}}}}} in {text!r}")
            return scope[tag]

        return _TAG.sub(replace, text)

    def run(self) -> None:
        self.call(self.document["spec"]["entrypoint"], {})

    def call(self, name: str, arguments: dict[str, str]) -> dict[str, str]:
        template = self.templates[name]
        inputs = {}
        for parameter in template.get("inputs", {}).get("parameters", []):
            if parameter["name"] in arguments:
                inputs[parameter["name"]] = arguments[parameter["name"]]
            elif "default" in parameter:
                inputs[parameter["name"]] = parameter["default"]
            else:
                raise ArgoRunError(f"template {name}: inputs.parameters.{parameter['name']} was not supplied")
        scope = {**self.workflow, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        if "dag" in template:
            self.run_dag(name, template["dag"]["tasks"], scope)
            return {}
        return self.run_container(name, template, scope)

    def run_dag(self, name: str, tasks: list[dict[str, Any]], scope: dict[str, str]) -> None:
        done: dict[str, dict[str, str]] = {}
        remaining = list(tasks)
        while remaining:
            ready = [t for t in remaining if all(d.strip() in done for d in t.get("depends", "").split("&&") if d.strip())]
            if not ready:
                raise ArgoRunError(f"template {name}: tasks {[t['name'] for t in remaining]} can never start")
            for task in ready:
                remaining.remove(task)
                task_scope = dict(scope)
                for finished, outputs in done.items():
                    task_scope.update({f"tasks.{finished}.outputs.parameters.{k}": v for k, v in outputs.items()})
                if "withParam" in task:
                    items = json.loads(self.substitute(task["withParam"], task_scope))
                    if not isinstance(items, list):
                        raise ArgoRunError(f"withParam of {task['name']} is not a JSON list")
                    for item in items:
                        self.call_task(task, {**task_scope, "item": item if isinstance(item, str) else json.dumps(item)})
                    done[task["name"]] = {}
                else:
                    done[task["name"]] = self.call_task(task, task_scope)

    def call_task(self, task: dict[str, Any], scope: dict[str, str]) -> dict[str, str]:
        arguments = {p["name"]: self.substitute(p["value"], scope) for p in task.get("arguments", {}).get("parameters", [])}
        return self.call(task["template"], arguments)

    def run_container(self, name: str, template: dict[str, Any], scope: dict[str, str]) -> dict[str, str]:
        container = template["container"]
        limit = template.get("retryStrategy", {}).get("limit", 0)
        deadline = template.get("activeDeadlineSeconds")
        for attempt in range(int(limit) + 1):
            pod_scope = {**scope, "retries": str(attempt)} if "retryStrategy" in template else scope
            with tempfile.TemporaryDirectory(prefix="argo-pod-") as pod:
                outputs = {p["name"]: os.path.join(pod, p["valueFrom"]["path"].lstrip("/"))
                           for p in template.get("outputs", {}).get("parameters", [])}
                paths = {p["valueFrom"]["path"]: outputs[p["name"]] for p in template.get("outputs", {}).get("parameters", [])}
                for path in outputs.values():
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                declared = container_environment(
                    [{**e, "value": self.substitute(e["value"], pod_scope)} for e in container.get("env", [])]
                )
                argv = [expand(self.substitute(a, pod_scope), declared)
                        for a in container["command"] + container.get("args", [])]
                for path, inside in paths.items():  # the pod's own filesystem is a scratch folder here
                    argv = [a.replace(path, inside) for a in argv]
                env = {**os.environ, **self.env, **declared}
                command = [sys.executable, "-m", "flowship", *argv[1:]] if argv[0] == "flow" else argv
                try:
                    code = subprocess.run(command, env=env, cwd=pod, capture_output=True, timeout=deadline).returncode
                except subprocess.TimeoutExpired:
                    code = -9
                self.pods.append(Pod(name, argv, attempt + 1, code))
                if code == 0:
                    result = {}
                    for output, path in outputs.items():
                        with open(path, encoding="utf-8") as handle:
                            result[output] = handle.read()
                    return result
        raise ArgoRunError(f"template {name} failed after {int(limit) + 1} attempts: {argv}")
