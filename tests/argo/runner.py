"""A test-only executor of Argo WorkflowTemplates that does what Argo v4's controller and the kubelet do.

No Kubernetes cluster can run here, so this stands in for the controller,
modelled on its source (``controller/operator.go``, ``dag.go``,
``workflowpod.go``, ``workflow/common``), with the text passes in
``substitution.py``, ``depends`` in ``depends.py`` and the kubelet's
``$(VAR)`` expansion in ``kubelet.py``:

- Global names: ``workflow.name``, ``.namespace``, ``.uid``,
  ``.parameters.<name>`` (the raw value given or defaulted) and
  ``.parameters.json``. The spec without its templates is substituted once
  with them; a failure there means Argo never starts the workflow.
- Every template call substitutes the template twice (globals and locals,
  then with its inputs, which came out of the first pass), twice more per
  attempt under a ``retryStrategy`` (``retries``), then the pod once more
  (globals, inputs, ``pod.name``): each pass re-reads the one before.
- DAG tasks start when ``depends`` is satisfied, evaluated as Argo does (a
  false one omits the task), then when their ``when`` (``when.py``) holds (a
  false one skips it); a task's own text is substituted with the finished
  tasks' outputs and status (strict for ``tasks.*``; a skipped or omitted
  task's outputs read as their declared default), and each ``withParam`` item
  strictly with ``item``.
- Pods run concurrently, at most ``spec.parallelism`` at once; the container
  gets only its own environment (what the image gives to run Python, the
  ``env`` the test names as the cluster's, ``envFrom`` Secrets the test
  provides, its ``env``, Argo's ``ARGO_*``); ``command``/``args`` are expanded
  by the kubelet unless their JSON is over 128 KiB, when Argo moves them to a
  file and an argument over 128 KiB becomes ``@/tmp/argo_arg_N.txt``.
- ``activeDeadlineSeconds`` of a pod and of the workflow stop the process; a
  pod referring to a Secret that does not exist never starts and fails when
  its ``pendingTimeout`` ends (reported, not waited for).

Not modelled: retry backoff (retries run at once), node status, pod GC,
scheduling onto nodes. Each container's command runs as a local process
(``flow`` is this interpreter's flowship) in its own scratch folder, which
stands for the pod's filesystem.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from argo.depends import DependsError, dependencies, evaluate_depends
from argo.kubelet import container_environment, expand
from argo.substitution import ArgoTemplateError, Missing, evaluate_expression, go_quote, substitute_json
from argo.when import WhenError, evaluate_when

MAX_STACK_DEPTH = 100  # controller.go maxAllowedStackDepth: a template call nested this deep errors
MAX_ARGS_JSON = 131072  # Argo's common.MaxEnvVarLen: longer args go into a ConfigMap the emissary reads
_IMAGE_ENV = ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "SYSTEMROOT")
_CHECKED_PREFIXES = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")


class ArgoRunError(AssertionError):
    pass


class ArgoRefused(ArgoRunError):
    """What Argo refuses before the workflow runs (its validation): no exit handler runs either."""


@dataclass
class Pod:
    template: str
    args: list[str]  # command and args as the process received them
    attempts: int
    exit_code: int
    metadata: dict[str, Any] = field(default_factory=dict)  # labels and annotations, substituted
    env: dict[str, str] = field(default_factory=dict)  # the container's declared env, expanded


@dataclass
class ArgoRunner:
    document: dict[str, Any]
    workflow_name: str
    arguments: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # what the cluster gives every container (the image's ENV)
    namespace: str = "ml"
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # Kubernetes Secrets in the namespace
    pods: list[Pod] = field(default_factory=list)
    peak_pods: int = 0
    failed_nodes: list[dict[str, str]] = field(default_factory=list)  # what `workflow.failures` lists

    def __post_init__(self) -> None:
        spec = self.document["spec"]
        self.templates = {t["name"]: t for t in spec["templates"]}
        declared = {p["name"]: p.get("value") for p in spec.get("arguments", {}).get("parameters", [])}
        unknown = set(self.arguments) - set(declared)
        if unknown:
            raise ArgoRunError(f"arguments {sorted(unknown)} are not declared by the WorkflowTemplate")
        self.globals = {
            "workflow.name": self.workflow_name,
            "workflow.namespace": self.namespace,
            "workflow.uid": f"{zlib.crc32(self.workflow_name.encode()):08x}-0000-4000-8000-000000000000",
            "workflow.mainEntrypoint": spec["entrypoint"],
        }
        values = []
        for name, default in declared.items():
            value = self.arguments.get(name, default)
            if value is None:
                raise ArgoRunError(f"workflow parameter '{name}' has no value")
            self.globals[f"workflow.parameters.{name}"] = value
            values.append({"name": name, "value": value})
        self.globals["workflow.parameters.json"] = json.dumps(values)
        self.lock = threading.Lock()
        self.running = 0
        self.started = 0.0

    # the workflow ---------------------------------------------------------------------------

    def run(self) -> None:
        outside = {k: v for k, v in self.document["spec"].items() if k != "templates"}
        try:
            self.spec = substitute_json(outside, self.globals)
        except ArgoTemplateError as exc:  # operator.go: "Unable to set ExecWorkflow", no phase, never starts
            raise ArgoRunError(f"the workflow never starts: {exc}") from None
        parallelism = self.spec.get("parallelism")
        self.slots = threading.BoundedSemaphore(int(parallelism)) if parallelism else None
        self.deadline = self.spec.get("activeDeadlineSeconds")
        self.started = time.monotonic()
        failure: ArgoRunError | None = None
        try:
            self.execute(self.spec["entrypoint"], {})
        except ArgoRefused:
            raise
        except ArgoRunError as exc:
            failure = exc
        if "onExit" in self.spec:  # operator.go: status and failed nodes are known to the exit handler only
            failed = json.dumps(self.failed_nodes) if self.failed_nodes else "null"
            self.globals["workflow.status"] = "Failed" if failure else "Succeeded"
            self.globals["workflow.failures"] = f'"{go_quote(failed)}"'  # strconv.Quote'd, as Argo sets it
            self.deadline = None
            try:
                self.execute(self.spec["onExit"], {}, display="onExit")
            except ArgoRunError as exc:
                failure = failure or exc
        if failure:
            raise failure

    def remaining(self) -> float | None:
        return None if self.deadline is None else int(self.deadline) - (time.monotonic() - self.started)

    # templates ------------------------------------------------------------------------------

    def execute(self, name: str, arguments: dict[str, str], display: str = "", depth: int = 1) -> dict[str, str]:
        """ProcessArgs + SubstituteParams, then the DAG, the steps or the pod; ``display``: the node's name;
        ``depth``: how deeply this call nests (operator.go executeTemplate counts it)."""
        if depth >= MAX_STACK_DEPTH:
            raise ArgoRunError(f"template {name}: Maximum recursion depth exceeded ({MAX_STACK_DEPTH})")
        template = copy.deepcopy(self.templates[name])
        for parameter in template.get("inputs", {}).get("parameters", []):
            if parameter["name"] in arguments:
                parameter["value"] = arguments[parameter["name"]]
            elif "default" in parameter:
                parameter["value"] = parameter["default"]
            else:
                raise ArgoRunError(f"template {name}: inputs.parameters.{parameter['name']} was not supplied")
        local = {"node.name": f"{self.workflow_name}.{name}"}
        if "retryStrategy" not in template:
            local["pod.name"] = self.pod_name(name)
        template = self.two_passes(template, local)
        if "dag" in template:
            self.run_dag(name, template["dag"]["tasks"], depth)
            return {}
        if "steps" in template:
            return self.run_steps(name, template, depth)
        return self.run_container(name, template, display or name)

    def two_passes(self, template: dict[str, Any], local: dict[str, str]) -> dict[str, Any]:
        scope = {**self.globals, **local}
        try:
            template = substitute_json(template, scope)
            inputs = {f"inputs.parameters.{p['name']}": p["value"]
                      for p in template.get("inputs", {}).get("parameters", [])}
            return substitute_json(template, {**scope, **inputs})
        except ArgoTemplateError as exc:
            raise ArgoRunError(f"template {template['name']}: {exc}") from None

    def pod_name(self, template: str) -> str:
        return f"{self.workflow_name}-{template}-{zlib.crc32(os.urandom(8))}"

    # DAGs -----------------------------------------------------------------------------------

    def run_dag(self, name: str, tasks: list[dict[str, Any]], depth: int) -> None:
        phases: dict[str, str] = {}
        outputs: dict[str, dict[str, str]] = {}
        errors: list[BaseException] = []
        remaining = list(tasks)
        running: dict[str, threading.Thread] = {}
        while remaining or running:
            ready = [t for t in remaining if all(d in phases for d in dependencies(t.get("depends", "")))]
            while ready:  # an omitted task can make others ready at once
                task = ready.pop(0)
                remaining.remove(task)
                try:
                    runs = not task.get("depends") or evaluate_depends(task["depends"], phases)
                except DependsError as exc:
                    phases[task["name"]] = "Errored"
                    errors.append(ArgoRunError(f"template {name}: task {task['name']}: {exc}"))
                    runs = False
                scope = self.task_scope(tasks, phases, outputs)
                if runs and "when" in task:
                    runs = self.when(name, task, scope, phases, errors)
                if not runs:
                    phases.setdefault(task["name"], "Omitted")
                    ready = [t for t in remaining if all(d in phases for d in dependencies(t.get("depends", "")))]
                    continue
                thread = threading.Thread(target=self.run_task, args=(task, scope, phases, outputs, errors, depth),
                                          daemon=True)
                running[task["name"]] = thread
                thread.start()
            if not running and remaining:
                raise ArgoRunError(f"template {name}: tasks {[t['name'] for t in remaining]} can never start")
            for task_name, thread in list(running.items()):
                thread.join(timeout=0.05)
                if not thread.is_alive():
                    del running[task_name]
        if errors:  # dag.go: the DAG node fails too, without a message of its own
            with self.lock:
                self.failed_nodes.append({"displayName": name, "message": "", "templateName": name, "phase": "Failed"})
            raise errors[0]

    def task_scope(self, tasks: list[dict[str, Any]], phases: dict[str, str],
                   outputs: dict[str, dict[str, str]]) -> dict[str, str]:
        """What a task's text may read of the tasks before it (dag.go buildLocalScopeFromTask): their outputs and
        status; a skipped or omitted task's declared outputs read as their ``valueFrom.default`` (scope.go
        addSkippedNodeOutputsToScope), and one without a default stays unknown."""
        scope = {**self.globals}
        for finished, values in list(outputs.items()):
            scope.update({f"tasks.{finished}.outputs.parameters.{k}": v for k, v in values.items()})
        for task in tasks:
            phase = phases.get(task["name"])
            if phase is None:
                continue
            scope[f"tasks.{task['name']}.status"] = phase
            if phase in ("Skipped", "Omitted"):
                template = self.templates.get(task.get("template", ""), {})
                for parameter in template.get("outputs", {}).get("parameters", []):
                    default = parameter.get("valueFrom", {}).get("default")
                    if default is not None:
                        scope[f"tasks.{task['name']}.outputs.parameters.{parameter['name']}"] = default
        return scope

    def when(self, dag: str, task: dict[str, Any], scope: dict[str, str], phases: dict[str, str],
             errors: list[BaseException]) -> bool:
        """Whether a task whose ``depends`` holds runs; a false ``when`` skips it (phase Skipped)."""
        try:
            resolved = substitute_json(task["when"], scope, "strict-tasks")
        except ArgoTemplateError as exc:  # IsMissingVariableErr: requeued, and it never resolves
            raise ArgoRunError(f"template {dag}: task {task['name']}: when never resolves ({exc}); Argo would "
                               "requeue it for ever") from None
        try:
            proceed = evaluate_when(resolved)
        except WhenError as exc:
            phases[task["name"]] = "Errored"
            errors.append(ArgoRunError(f"template {dag}: task {task['name']}: {exc}"))
            return False
        if not proceed:
            phases[task["name"]] = "Skipped"
        return proceed

    def run_task(self, task: dict[str, Any], scope: dict[str, str], phases: dict[str, str],
                 outputs: dict[str, dict[str, str]], errors: list[BaseException], depth: int) -> None:
        own: list[BaseException] = []
        try:
            resolved = substitute_json(task, scope, "strict-tasks")  # dag.go resolveDependencyReferences
            if "withParam" not in resolved:
                arguments = {p["name"]: p["value"] for p in resolved.get("arguments", {}).get("parameters", [])}
                outputs[task["name"]] = self.execute(resolved["template"], arguments, task["name"], depth + 1)
            else:
                items = json.loads(resolved["withParam"])
                if not isinstance(items, list):
                    raise ArgoRunError(f"withParam of {task['name']} is not a JSON list")
                children = [threading.Thread(target=self.run_item, args=(resolved, scope, item, own, depth),
                                             daemon=True) for item in items]
                for child in children:
                    child.start()
                for child in children:
                    child.join()
                outputs[task["name"]] = {}
        except (ArgoRunError, ArgoTemplateError) as exc:
            own.append(exc if isinstance(exc, ArgoRunError) else ArgoRunError(f"task {task['name']}: {exc}"))
        errors.extend(own)
        phases[task["name"]] = "Failed" if own else "Succeeded"

    def run_item(self, task: dict[str, Any], scope: dict[str, str], item: Any, errors: list[BaseException],
                 depth: int) -> None:
        try:
            text = item if isinstance(item, str) else json.dumps(item)
            expanded = substitute_json(task, {**scope, "item": text}, "strict")  # processItem: nothing unresolved
            arguments = {p["name"]: p["value"] for p in expanded.get("arguments", {}).get("parameters", [])}
            self.execute(expanded["template"], arguments, task["name"], depth + 1)
        except (ArgoRunError, ArgoTemplateError) as exc:
            errors.append(exc if isinstance(exc, ArgoRunError) else ArgoRunError(f"task {task['name']}: {exc}"))

    # steps ----------------------------------------------------------------------------------

    def run_steps(self, name: str, template: dict[str, Any], depth: int) -> dict[str, str]:
        """steps.go: group after group, the steps of a group at once; a step's ``when`` and arguments read the
        earlier steps' outputs and status (strictly), a false ``when`` skips the step. The template's outputs
        are then read from its steps (``valueFrom.expression`` over their outputs and status)."""
        scope = {**self.globals}
        for group in template["steps"]:
            calls = []
            for step in group:
                try:
                    if "when" in step and not evaluate_when(substitute_json(step["when"], scope, "strict-tasks")):
                        scope[f"steps.{step['name']}.status"] = "Skipped"
                        target = self.templates.get(step["template"], {})
                        for parameter in target.get("outputs", {}).get("parameters", []):
                            if "default" in parameter.get("valueFrom", {}):
                                key = f"steps.{step['name']}.outputs.parameters.{parameter['name']}"
                                scope[key] = parameter["valueFrom"]["default"]
                        continue
                    resolved = substitute_json(step, scope, "strict-tasks")
                except (ArgoTemplateError, WhenError) as exc:
                    raise ArgoRunError(f"template {name}: step {step['name']}: {exc}") from None
                arguments = {p["name"]: p["value"] for p in resolved.get("arguments", {}).get("parameters", [])}
                calls.append((step["name"], resolved["template"], arguments))
            for step_name, target_template, arguments in calls:  # a group's steps run at once; flowship's: one each
                produced = self.execute(target_template, arguments, step_name, depth + 1)
                scope[f"steps.{step_name}.status"] = "Succeeded"
                scope.update({f"steps.{step_name}.outputs.parameters.{k}": v for k, v in produced.items()})
        outputs = {}
        for parameter in template.get("outputs", {}).get("parameters", []):
            try:
                outputs[parameter["name"]] = str(evaluate_expression(parameter["valueFrom"]["expression"], scope))
            except Missing as missing:
                raise ArgoRunError(f"template {name}: output {parameter['name']}: {missing} is missing") from None
        return outputs

    # pods -----------------------------------------------------------------------------------

    def run_container(self, name: str, template: dict[str, Any], display: str) -> dict[str, str]:
        limit = int(template.get("retryStrategy", {}).get("limit", 0))
        inputs = {f"inputs.parameters.{p['name']}": p["value"] for p in template.get("inputs", {}).get("parameters", [])}
        last: list[str] = []
        for attempt in range(limit + 1):
            attempt_template = template
            pod_name = self.pod_name(name)
            if "retryStrategy" in template:  # operator.go: SubstituteParams again with the attempt's names
                attempt_template = self.two_passes(template, {"retries": str(attempt), "pod.name": pod_name})
            pod = {
                "metadata": {
                    "labels": {**self.spec.get("podMetadata", {}).get("labels", {}),
                               **attempt_template.get("metadata", {}).get("labels", {})},
                    "annotations": {**self.spec.get("podMetadata", {}).get("annotations", {}),
                                    **attempt_template.get("metadata", {}).get("annotations", {})},
                },
                "container": attempt_template["container"],
            }
            try:  # workflowpod.go substitutePodParams
                pod = substitute_json(pod, {**self.globals, **inputs, "pod.name": pod_name})
            except ArgoTemplateError as exc:
                raise ArgoRunError(f"template {name}: {exc}") from None
            self.refuse_unresolved(name, pod["container"])
            code, last, result = self.run_pod(name, attempt_template, pod, attempt)
            if code == 0:
                return result
        message = "timeout" if code == -1 else f"Error (exit code {code})"  # ErrTimeout's text, for pendingTimeout
        with self.lock:
            self.failed_nodes.append({"displayName": display, "message": message, "templateName": name,
                                      "phase": "Failed", "podName": self.pod_name(name)})
        raise ArgoRunError(f"template {name} failed after {limit + 1} attempts: {last}")

    def refuse_unresolved(self, name: str, container: dict[str, Any]) -> None:
        """A ``{{workflow.*}}``, ``{{inputs.*}}``... left in a pod is what Argo's validation rejects at submission."""
        text = json.dumps(container)
        start = text.find("{{")
        while start != -1:
            end = text.find("}}", start)
            tag = text[start + 2 : end].strip()
            if tag.startswith(_CHECKED_PREFIXES):
                raise ArgoRefused(f"template {name}: failed to resolve {{{{{tag}}}}} (Argo refuses the workflow)")
            start = text.find("{{", end)

    def run_pod(self, name: str, template: dict[str, Any], pod: dict[str, Any],
                attempt: int) -> tuple[int, list[str], dict[str, str]]:
        container = pod["container"]
        missing = [s["secretRef"]["name"] for s in container.get("envFrom", []) if s["secretRef"]["name"] not in self.secrets]
        try:
            from_secrets = {k: v for s in container.get("envFrom", []) if not missing
                            for k, v in self.secrets[s["secretRef"]["name"]].items()}
            declared = container_environment(container.get("env", []), from_secrets, self.secrets)
        except KeyError as exc:
            missing.append(str(exc).strip("'"))
        if missing:  # CreateContainerConfigError: the pod stays Pending until pendingTimeout fails it
            self.pods.append(Pod(name, [], attempt + 1, -1, pod["metadata"]))
            return -1, [f"pod never started: Secret {missing[0]} not found (failed after "
                        f"pendingTimeout {template.get('pendingTimeout', 'none: it would wait for ever')})"], {}
        argo = {"ARGO_CONTAINER_NAME": "main", "ARGO_WORKFLOW_NAME": self.workflow_name,
                "ARGO_NODE_ID": f"{self.workflow_name}-{zlib.crc32(name.encode())}"}
        visible = {**from_secrets, **declared, **argo}
        with tempfile.TemporaryDirectory(prefix="argo-pod-") as folder:
            outputs = {p["name"]: os.path.join(folder, p["valueFrom"]["path"].lstrip("/"))
                       for p in template.get("outputs", {}).get("parameters", [])}
            for path in outputs.values():
                os.makedirs(os.path.dirname(path), exist_ok=True)
            command = [expand(a, visible) for a in container["command"]]
            args = container.get("args", [])
            if len(json.dumps(args, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_ARGS_JSON:  # a ConfigMap
                args = [self.argument_file(folder, index, a) if len(a.encode()) > MAX_ARGS_JSON else a
                        for index, a in enumerate(args)]
            else:
                args = [expand(a, visible) for a in args]
            argv = command + args
            for parameter in template.get("outputs", {}).get("parameters", []):  # the pod's own filesystem
                inside = outputs[parameter["name"]]
                argv = [a.replace(parameter["valueFrom"]["path"], inside) for a in argv]
            environment = {**{k: os.environ[k] for k in _IMAGE_ENV if k in os.environ}, **self.env, **visible}
            process = [sys.executable, "-m", "flowship", *argv[1:]] if argv[0] == "flow" else argv
            code = self.start_process(process, environment, folder, template.get("activeDeadlineSeconds"))
            self.pods.append(Pod(name, argv, attempt + 1, code, pod["metadata"], declared))
            result = {}
            if code == 0:
                for output, path in outputs.items():
                    with open(path, encoding="utf-8") as handle:
                        result[output] = handle.read()
            return code, argv, result

    @staticmethod
    def argument_file(folder: str, index: int, argument: str) -> str:
        path = os.path.join(folder, "tmp", f"argo_arg_{index}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(argument)
        return f"@{path}"

    def start_process(self, argv: list[str], env: dict[str, str], folder: str, deadline: Any) -> int:
        limits = [float(x) for x in (deadline, self.remaining()) if x is not None]
        if limits and min(limits) <= 0:
            return -9
        if self.slots:
            self.slots.acquire()
        with self.lock:
            self.running += 1
            self.peak_pods = max(self.peak_pods, self.running)
        try:
            return subprocess.run(argv, env=env, cwd=folder, capture_output=True,
                                  timeout=min(limits) if limits else None).returncode
        except subprocess.TimeoutExpired:
            return -9
        finally:
            with self.lock:
                self.running -= 1
            if self.slots:
                self.slots.release()
