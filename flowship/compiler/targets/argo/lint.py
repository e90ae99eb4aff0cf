"""The ``argo lint`` rules a JSON schema cannot express, for the manifests we generate.

Argo's CLI is not on PyPI, so ``flow check --target argo`` and the tests run
these rules (after Argo v4's ``workflow/validate``): object names and
lengths, entrypoint, template and task names, template references, every
input supplied, ``{{...}}`` variables resolving in scope, DAG dependencies
existing and acyclic, ``withParam`` only over a dependency's output, cron
schedules and timezones, Argo's object counts and etcd's size limit.
"""

from __future__ import annotations

import re
from typing import Any

from flowship.compiler.cron import CronError, check_timezone, normalize_cron

__all__ = ["lint_argo", "SIZE_WARNING", "SIZE_LIMIT"]

SIZE_WARNING = 256 * 1024
SIZE_LIMIT = 1024 * 1024
_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
_PARAM_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")
_OBJECT = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TAG = re.compile(r"{{\s*([^{}]*?)\s*}}")
_CHECKED_PREFIXES = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")
_ALWAYS = {
    "workflow.name",
    "workflow.namespace",
    "workflow.uid",
    "workflow.serviceAccountName",
    "workflow.status",
    "workflow.mainEntrypoint",
    "tasks.name",
    "steps.name",
    "node.name",
}


def _strings(node: Any, path: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


class _Linter:
    def __init__(self, document: dict[str, Any], templates_by_name: dict[str, dict[str, Any]]):
        self.doc = document
        self.kind = document["kind"]
        self.templates = templates_by_name
        self.errors: list[str] = []
        self.global_params: set[str] = set()

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{self.kind}/{self.doc['metadata'].get('name')}: {where}: {message}")

    def check_name(self) -> None:
        name = self.doc["metadata"].get("name", "")
        limit = 52 if self.kind == "CronWorkflow" else 63
        if not _OBJECT.match(name):
            self.error("metadata.name", f"'{name}' is not a lowercase RFC 1123 name")
        if len(name) > limit:
            self.error("metadata.name", f"'{name}' is longer than {limit} characters")

    def resolve(self, where: str, text: str, scope: set[str], loop: bool) -> None:
        for match in _TAG.finditer(text):
            tag = match.group(1)
            if tag.startswith("="):
                continue
            if tag == "item" and not loop:
                self.error(where, "{{item}} outside a loop")
            if not tag.startswith(_CHECKED_PREFIXES) or tag in _ALWAYS or tag in scope:
                continue
            if tag.startswith("workflow.parameters.") and self.kind == "WorkflowTemplate":
                continue
            if tag.startswith("item.") and loop:
                continue
            self.error(where, f"failed to resolve {{{{{tag}}}}}")

    def check_call(self, where: str, call: dict[str, Any]) -> None:
        target = self.templates.get(call.get("template", ""))
        if target is None:
            self.error(where, f"template '{call.get('template')}' not found")
            return
        given = {p["name"] for p in call.get("arguments", {}).get("parameters", [])}
        for parameter in target.get("inputs", {}).get("parameters", []):
            if parameter["name"] not in given and "default" not in parameter and "value" not in parameter:
                self.error(where, f"inputs.parameters.{parameter['name']} was not supplied")

    def template_scope(self, template: dict[str, Any]) -> set[str]:
        scope = {f"workflow.parameters.{p}" for p in self.global_params}
        for parameter in template.get("inputs", {}).get("parameters", []):
            scope.add(f"inputs.parameters.{parameter['name']}")
        if "container" in template:
            scope.add("pod.name")
            for parameter in template.get("outputs", {}).get("parameters", []):
                scope.add(f"outputs.parameters.{parameter['name']}.path")
        if "retryStrategy" in template:
            scope |= {"retries"}
        return scope

    def check_template(self, template: dict[str, Any]) -> None:
        name = template.get("name", "")
        scope = self.template_scope(template)
        if not _NAME.match(name) or len(name) > 128:
            self.error(f"template {name}", "invalid template name")
        kinds = [k for k in ("container", "dag", "steps", "script", "resource", "suspend") if k in template]
        if len(kinds) != 1:
            self.error(f"template {name}", f"has {len(kinds)} template types; exactly one is allowed")
        if "activeDeadlineSeconds" in template and "container" not in template:
            self.error(f"template {name}", "activeDeadlineSeconds is only allowed on leaf templates")
        for parameter in template.get("inputs", {}).get("parameters", []) + template.get("outputs", {}).get(
            "parameters", []
        ):
            if not _PARAM_NAME.match(parameter.get("name", "")):
                self.error(f"template {name}", f"invalid parameter name '{parameter.get('name')}'")
        if "container" in template:
            for where, text in _strings(template["container"], f"template {name}.container"):
                self.resolve(where, text, scope, False)
            if not template["container"].get("image"):
                self.error(f"template {name}", "container has no image")
            for parameter in template.get("outputs", {}).get("parameters", []):
                if "path" not in parameter.get("valueFrom", {}):
                    self.error(f"template {name}", f"output '{parameter['name']}' needs valueFrom.path")
        if "dag" in template:
            self.check_dag(name, template["dag"].get("tasks", []), scope)
        if "steps" in template:
            self.check_steps(name, template["steps"], scope)

    def check_steps(self, name: str, groups: list[list[dict[str, Any]]], scope: set[str]) -> None:
        """Steps run group after group: a step reads the outputs and status of steps in earlier groups only."""
        seen = set(scope)
        for group in groups:
            for step in group:
                where = f"template {name} step {step.get('name')}"
                if not _NAME.match(step.get("name", "")):
                    self.error(where, "invalid step name")
                self.check_call(where, step)
                for key in ("arguments", "when"):
                    for text_where, text in _strings(step.get(key, {}), where):
                        self.resolve(text_where, text, seen, False)
            for step in group:
                target = self.templates.get(step.get("template", ""), {})
                seen |= {f"steps.{step.get('name')}.status"}
                seen |= {
                    f"steps.{step.get('name')}.outputs.parameters.{p['name']}"
                    for p in target.get("outputs", {}).get("parameters", [])
                }

    def check_dag(self, name: str, tasks: list[dict[str, Any]], scope: set[str]) -> None:
        if not 1 <= len(tasks) <= 200:
            self.error(f"template {name}", f"a DAG needs 1 to 200 tasks, has {len(tasks)}")
        names = [t.get("name", "") for t in tasks]
        if len(set(names)) != len(names):
            self.error(f"template {name}", "task names are not unique")
        import networkx as nx  # only when linting: `flow --help` lists targets without it

        graph = nx.DiGraph()
        graph.add_nodes_from(names)
        outputs: dict[str, set[str]] = {}
        for task in tasks:
            target = self.templates.get(task.get("template", ""), {})
            outputs[task["name"]] = {p["name"] for p in target.get("outputs", {}).get("parameters", [])}
        dag_scope = set(scope)
        for task_name, produced in outputs.items():
            fields = ("id", "startedAt", "finishedAt", "hostNodeName", "status")
            dag_scope |= {f"tasks.{task_name}.{field}" for field in fields}
            dag_scope |= {f"tasks.{task_name}.outputs.parameters.{p}" for p in produced}
        for task in tasks:
            where = f"template {name} task {task['name']}"
            if not _NAME.match(task["name"]) or task["name"][0].isdigit():
                self.error(where, "invalid task name")
            depends = _depends_names(task.get("depends", ""), where, self.error)
            for dependency in depends:
                if dependency not in outputs:
                    self.error(where, f"dependency '{dependency}' not defined")
                else:
                    graph.add_edge(dependency, task["name"])
            self.check_call(where, task)
            loop = "withParam" in task
            if loop:
                match = re.fullmatch(r"{{tasks\.([^.]+)\.outputs\.parameters\.[^}]+}}", task["withParam"])
                if not match or match.group(1) not in depends:
                    self.error(where, "withParam must read the output of a task it depends on")
            for key in ("arguments", "withParam", "when"):
                for text_where, text in _strings(task.get(key, {}), where):
                    self.resolve(text_where, text, dag_scope, loop)
        if not nx.is_directed_acyclic_graph(graph):
            self.error(f"template {name}", "dependency cycle detected")

    def run(self) -> list[str]:
        self.check_name()
        spec = self.doc["spec"]
        if self.kind == "CronWorkflow":
            self.check_cron(spec)
            return self.errors
        self.global_params = {p["name"] for p in spec.get("arguments", {}).get("parameters", [])}
        templates = spec.get("templates", [])
        if len(templates) > 200:
            self.error("spec.templates", f"{len(templates)} templates, over Argo's limit of 200")
        names = [t.get("name") for t in templates]
        if len(set(names)) != len(names):
            self.error("spec.templates", "template names are not unique")
        if spec.get("entrypoint") not in self.templates:
            self.error("spec.entrypoint", f"template '{spec.get('entrypoint')}' not found")
        for template in templates:
            self.check_template(template)
        return self.errors

    def check_cron(self, spec: dict[str, Any]) -> None:
        if not spec.get("schedules"):
            self.error("spec.schedules", "at least one schedule is required")
        for schedule in spec.get("schedules", []):
            try:
                normalize_cron(schedule)
            except CronError as exc:
                self.error("spec.schedules", str(exc))
        if spec.get("timezone"):
            try:
                check_timezone(spec["timezone"])
            except CronError as exc:
                self.error("spec.timezone", str(exc))
        if spec.get("concurrencyPolicy", "") not in ("", "Allow", "Forbid", "Replace"):
            self.error("spec.concurrencyPolicy", f"'{spec['concurrencyPolicy']}' is not Allow, Forbid or Replace")
        ref = spec.get("workflowSpec", {}).get("workflowTemplateRef", {}).get("name")
        target = self.templates.get(f"workflowtemplate:{ref}")
        if target is None:
            self.error(
                "spec.workflowSpec.workflowTemplateRef", f"WorkflowTemplate '{ref}' not found among the documents"
            )
            return
        given = {p["name"]: p for p in spec["workflowSpec"].get("arguments", {}).get("parameters", [])}
        for parameter in target["spec"].get("arguments", {}).get("parameters", []):
            if "value" not in given.get(parameter["name"], {}):
                self.error("spec.workflowSpec.arguments", f"parameter '{parameter['name']}' needs a value")


ARGO_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


# ancestry.go: a task name, optionally with the result it must have; the words the expression may use besides
_DEPENDS_TERM = re.compile(r"([a-zA-Z0-9][-a-zA-Z0-9]*?)\.([A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)")
_DEPENDS_RESULTS = {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed"}


def _depends_names(depends: str, where: str, error: Any) -> list[str]:
    """The tasks a ``depends`` expression names (Argo's grammar: names, ``.Result``, ``&&``, ``||``, ``!``, ())."""
    names = []
    rest = re.sub(r"&&|\|\||[!()\s]", " ", depends)
    for token in rest.split():
        match = _DEPENDS_TERM.fullmatch(token)
        if not match or (match.group(2) and match.group(2) not in _DEPENDS_RESULTS):
            error(where, f"depends: '{token}' is not a task or task.Result")
            continue
        names.append(match.group(1) or match.group(3))
    return list(dict.fromkeys(names))


def lint_argo(documents: list[dict[str, Any]], size: int | None = None) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a set of manifests; ``size`` is their serialized size in bytes."""
    errors: list[str] = []
    warnings: list[str] = []
    workflow_templates = {
        f"workflowtemplate:{d['metadata']['name']}": d for d in documents if d["kind"] == "WorkflowTemplate"
    }
    for document in documents:
        if document["kind"] not in ARGO_KINDS:  # as `argo lint`: other kinds are not Argo's to check
            continue
        templates = {t["name"]: t for t in document.get("spec", {}).get("templates", [])}
        errors += _Linter(document, {**templates, **workflow_templates}).run()
    if size is not None and size > SIZE_LIMIT:
        errors.append(f"the manifests are {size} bytes, over Argo's 1 MiB object limit")
    elif size is not None and size > SIZE_WARNING:
        warnings.append(f"the manifests are {size} bytes; Argo copies the template into every workflow's status")
    return errors, warnings
