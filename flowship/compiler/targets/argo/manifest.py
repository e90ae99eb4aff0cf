"""IR -> Argo Workflows v4 objects: a WorkflowTemplate per flow, a CronWorkflow per schedule, a Sensor per trigger.

Layout of the generated WorkflowTemplate:

- one DAG template per foreach level (``main`` for the top); a foreach step is
  a task, followed by a task that invokes the body's DAG ``withParam`` over
  the split indices the foreach task wrote to its output parameter;
- container templates shared by every step whose template would be the same
  (the step name is an input, so only image, resources, retries, ... differ),
  so a 1,000-step flow stays far below Argo's 200-template limit;
- DAGs larger than Argo's 200 tasks split into consecutive part-DAGs.

Every container runs the step command as an argv list, from the code package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.ir import FlowIR, StepIR
from flowship.compiler.naming import k8s_name, stable_hash
from flowship.compiler.targets.argo.rbac import rbac_documents, rbac_names
from flowship.compiler.targets.argo.sensor import sensor_document, trigger_arguments, trigger_expressions
from flowship.compiler.targets.argo.settings import ArgoSettings, read_settings
from flowship.compiler.targets.argo.switches import loop_template, max_repetitions, task_conditions
from flowship.compiler.targets.shared import DeployOptions, deployed_step, resource_quantities
from flowship.compiler.triggers import own_finish_event
from flowship.errors import FlowshipError
from flowship.param_codec import default_text
from flowship.step_command import TIMEOUT_GRACE_SECONDS, WEBHOOK_VARIABLE, OutcomeCommand, encode_stored_value

__all__ = [
    "compile_to_argo",
    "render_yaml",
    "argo_names",
    "object_names",
    "MAX_DAG_TASKS",
    "MAX_TEMPLATES",
    "SPLITS_FILE",
    "PRIORITY_ANNOTATION",
]

API_VERSION = "argoproj.io/v1alpha1"
MAX_DAG_TASKS = 200
MAX_TEMPLATES = 200
_PART_SIZE = 150  # tasks per part-DAG when a DAG must be split
# Unique per deployment and run: a workflow's name is unique in its namespace (and starts with its template's).
RUN_ID = "argo-{{workflow.namespace}}.{{workflow.name}}"
SPLITS_FILE = "/tmp/flowship-splits.json"
SWITCH_FILE = "/tmp/flowship-switch"  # a switch task writes the step it picked; its output `switch`
CRON_HISTORY = 3  # finished workflows a CronWorkflow keeps, successful and failed each
PRIORITY_ANNOTATION = "flowship.io/priority"
FAILURES_LIMIT = 65536  # characters of Argo's failed-node list the exit handler is given
# Argo evaluates `depends` with expr-lang after turning each '-' into '_': a task named like one of the
# language's words breaks the expression at run time, and nothing in Argo checks for it.
DEPENDS_KEYWORDS = frozenset(
    [
        "in",
        "not",
        "and",
        "or",
        "matches",
        "contains",
        "startsWith",
        "endsWith",
        "let",
        "if",
        "else",
        "nil",
        "true",
        "false",
    ]
)
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def object_names(deployment: str) -> tuple[str, str]:
    """(WorkflowTemplate name ≤ 63, CronWorkflow name ≤ 52) of a deployment: lowercase RFC 1123. Both follow from
    the template's name, so the objects of a deployment are found again from it alone (flow delete, trigger)."""
    template = k8s_name(deployment, 63)
    return template, k8s_name(template, 52)


def argo_names(ir: FlowIR, options: DeployOptions) -> tuple[str, str]:
    return object_names(options.name or ir.name)


@dataclass
class _Builder:
    ir: FlowIR
    options: DeployOptions
    settings: ArgoSettings
    templates: list[dict[str, Any]] = field(default_factory=list)
    container_names: dict[str, str] = field(default_factory=dict)  # template body (JSON) -> name
    template_names: set[str] = field(default_factory=set)
    each_names: dict[str, str] = field(default_factory=dict)
    task_names: dict[str, str] = field(default_factory=dict)

    def template_name(self, wanted: str) -> str:
        """A template name not used yet in this manifest (a short hash resolves a clash)."""
        name = (
            wanted
            if wanted not in self.template_names
            else f"{wanted}-{stable_hash(wanted + str(len(self.template_names)))}"
        )
        self.template_names.add(name)
        return name

    def task_name(self, step: StepIR) -> str:
        """A step's DAG task: its Kubernetes name, unless `depends` would read that as a word of its language."""
        if step.name not in self.task_names:
            name = step.k8s_name
            if name.replace("-", "_") in DEPENDS_KEYWORDS:
                taken = {s.k8s_name for s in self.ir.steps}
                name = f"{name}-step" if f"{name}-step" not in taken else f"{name}-step-{stable_hash(step.name)}"
            self.task_names[step.name] = name
        return self.task_names[step.name]

    def each_name(self, step: StepIR) -> str:
        """The task that fans a foreach out; distinct from every step's task name."""
        if step.name not in self.each_names:
            taken = {self.task_name(s) for s in self.ir.steps} | set(self.each_names.values())
            wanted = f"{self.task_name(step)}-each"
            self.each_names[step.name] = wanted if wanted not in taken else f"{wanted}-{stable_hash(step.name)}"
        return self.each_names[step.name]

    # container templates -------------------------------------------------------

    def container_template(self, step: StepIR) -> str:
        """The name of a container template for ``step``; steps whose templates are equal share one."""
        body = self._container(step)
        key = json.dumps(body, sort_keys=True)
        if key not in self.container_names:
            d = step.decorators
            plain = not any(
                (d.resources, d.retry, d.timeout_seconds, d.environment, d.secrets, d.kubernetes, d.python_env)
            )
            if step.name == "start":
                wanted = "start"
            elif plain:
                wanted = {"foreach": "foreach-step", "switch": "switch-step"}.get(step.transition, "step")
            else:
                wanted = step.k8s_name
            name = self.template_name(wanted)
            self.container_names[key] = name
            self.templates.append({"name": name, **body})
        return self.container_names[key]

    def _container(self, step: StepIR) -> dict[str, Any]:
        d = step.decorators
        k = d.kubernetes
        retry = "{{retries}}" if d.retry else "0"
        # A parameter's text reaches the task as base64 that an Argo expression computes from the raw value: a
        # plain {{workflow.parameters.x}} would insert the text, which later passes substitute again.
        params = (
            [(p.name, f"{{{{=toBase64(workflow.parameters['{p.name}'])}}}}") for p in self.ir.parameters]
            if step.name == "start"
            else None
        )
        argv = deployed_step(
            self.ir,
            self.options,
            step="{{inputs.parameters.step}}",
            run_id=RUN_ID,
            task_id="{{inputs.parameters.task-id}}",
            retry_count=retry,
            splits_file=SPLITS_FILE if step.transition == "foreach" else None,
            params=params,
            max_splits=str(self.settings.max_splits) if step.transition == "foreach" else None,
            params_base64=True,
            switch_file=SWITCH_FILE if step.transition == "switch" else None,
            max_repetitions=str(max_repetitions(step)) if step.loops else None,
            trigger_base64=trigger_expressions(self.ir, self.options),
            environment=self.options.environments.get(step.name),
        ).to_argv()
        image = k.image if k and k.image else self.options.image
        container: dict[str, Any] = {"image": image, "command": argv[:1], "args": argv[1:]}
        container.update(self.environment(d.secrets))
        requests, limits = resource_quantities(d.resources)
        if requests:
            container["resources"] = {"requests": requests, "limits": limits}
        template: dict[str, Any] = {
            "inputs": {"parameters": [{"name": "step"}, {"name": "task-id", "default": "0"}]},
            "metadata": self.pod_metadata(),
        }
        if step.transition == "foreach":
            template["outputs"] = {"parameters": [{"name": "splits", "valueFrom": {"path": SPLITS_FILE}}]}
        if step.transition == "switch":  # a skipped switch's output reads as the default: its `when`s are false
            output = {"name": "switch", "valueFrom": {"path": SWITCH_FILE, "default": ""}}
            template["outputs"] = {"parameters": [output]}
        if k and k.node_selector:
            template["nodeSelector"] = dict(k.node_selector)
        if k and k.tolerations:
            template["tolerations"] = [dict(t) for t in k.tolerations]
        if k and k.service_account:
            template["serviceAccountName"] = k.service_account
        if d.retry:
            template["retryStrategy"] = {"limit": d.retry.times, "retryPolicy": "Always"}
            if d.retry.minutes_between_retries:
                template["retryStrategy"]["backoff"] = {"duration": f"{int(d.retry.minutes_between_retries * 60)}s"}
        if d.timeout_seconds:
            template["activeDeadlineSeconds"] = d.timeout_seconds + TIMEOUT_GRACE_SECONDS
        template["pendingTimeout"] = f"{self.settings.pending_timeout_seconds}s"  # a pod that cannot start fails
        template["container"] = container
        return template

    def environment(self, step_secrets: tuple[str, ...] = ()) -> dict[str, Any]:
        """A container's ``env`` and ``envFrom``: the deployment's variables and Secrets, and the step's."""
        # @environment is set by the task itself, from the run's IR: Argo substitutes {{...}} in env values.
        # Kubernetes expands $(VAR) and $$ in env values; every $ doubled reads back as itself.
        env = {"FLOWSHIP_USER": "argo", **self.settings.env}
        result: dict[str, Any] = {
            "env": [{"name": name, "value": value.replace("$", "$$")} for name, value in env.items()]
        }
        secrets = dict.fromkeys((*step_secrets, *self.settings.secrets))
        if secrets:
            result["envFrom"] = [{"secretRef": {"name": s}} for s in secrets]
        return result

    def exit_template(self) -> dict[str, Any]:
        """``onExit``: records how the run ended (and notifies the webhook of a failure), whatever happened. It
        runs as the start step does (its image and service account) with every Secret any step gets, so it
        reaches the store wherever a step can; a webhook Secret that is missing leaves it out, not the pod."""
        start = self.ir.step("start").decorators.kubernetes
        argv = OutcomeCommand(
            self.ir.name,
            RUN_ID,
            self.options.datastore,
            status="{{workflow.status}}",
            # the failed nodes' messages are text Argo must not read, and their list is cut to stay far below
            # what Argo's executor can hand a pod (it moves long arguments into a ConfigMap of at most 1 MiB)
            failures_base64=f"{{{{=toBase64(sprig.trunc({FAILURES_LIMIT}, workflow.failures))}}}}",
            finish_event=own_finish_event(self.ir, self.options.name),
            event_url=self.settings.event_webhook,
        ).to_argv()
        image = self.options.image or (start.image if start else None)
        container: dict[str, Any] = {"image": image, "command": argv[:1], "args": argv[1:]}
        container.update(self.environment(tuple(s for step in self.ir.steps for s in step.decorators.secrets)))
        if self.settings.failure_webhook:
            secret, key = self.settings.failure_webhook
            reference = {"name": secret, "key": key, "optional": True}
            container["env"].append({"name": WEBHOOK_VARIABLE, "valueFrom": {"secretKeyRef": reference}})
        template: dict[str, Any] = {
            "name": self.template_name("record-outcome"),
            "metadata": {"annotations": {"flowship.io/run-id": RUN_ID}},
        }
        if start and start.service_account:
            template["serviceAccountName"] = start.service_account
        template["pendingTimeout"] = f"{self.settings.pending_timeout_seconds}s"
        template["container"] = container
        return template

    def pod_metadata(self) -> dict[str, Any]:
        """What each step's pod says about itself: its step (as a label where every step name is a valid
        label value) and its task, beside the run's own (``spec.podMetadata``)."""
        metadata: dict[str, Any] = {}
        if all(_LABEL_VALUE.match(s.name) for s in self.ir.steps):
            metadata["labels"] = {"flowship.io/step": "{{inputs.parameters.step}}"}
        metadata["annotations"] = {
            "flowship.io/run-id": RUN_ID,
            "flowship.io/step-name": "{{inputs.parameters.step}}",
            "flowship.io/task-id": "{{inputs.parameters.task-id}}",
        }
        return metadata

    # DAG templates -------------------------------------------------------------

    def dag(self, name: str, steps: list[StepIR], task_id: str) -> str:
        """A DAG template for one foreach level; each foreach in it invokes its body's DAG."""
        member = {s.name for s in steps}
        tasks: list[dict[str, Any]] = []
        for step in steps:
            if step.loops:
                loop = self.template_name(f"{step.k8s_name}-loop")
                self.templates.append(loop_template(loop, step, self.container_template(step)))
                task: dict[str, Any] = {"name": self.task_name(step), "template": loop}
                task.update(task_conditions(step, self.waits_for(step, member)))
                task["arguments"] = {"parameters": [{"name": "task-id", "value": task_id}]}
                tasks.append(task)
                continue
            task = {"name": self.task_name(step), "template": self.container_template(step)}
            task.update(task_conditions(step, self.waits_for(step, member)))
            task["arguments"] = {
                "parameters": [{"name": "step", "value": step.name}]
                + ([{"name": "task-id", "value": task_id}] if task_id != "0" else [])
            }
            tasks.append(task)
            if step.transition == "foreach":
                tasks.append(self._each_task(step))
        return self._emit_dag(name, tasks, task_id)

    def waits_for(self, step: StepIR, member: set[str]) -> list[tuple[str, StepIR]]:
        """(task, step) of what a step's task waits for in its DAG: its parents, or the task fanning its foreach
        out for a foreach's join."""
        if self.ir.joins_foreach(step):
            split = self.ir.step(step.join_of)  # type: ignore[arg-type]
            return [(self.each_name(split), split)]
        return [(self.task_name(self.ir.step(p)), self.ir.step(p)) for p in step.parents if p in member]

    def _each_task(self, step: StepIR) -> dict[str, Any]:
        prefix = step.split_stack + (step.name,)
        body = [
            s
            for s in self.ir.steps
            if s.foreach_depth == step.foreach_depth + 1 and s.split_stack[: len(prefix)] == prefix
        ]
        template = self.dag(self.template_name(f"{step.k8s_name}-body"), body, "{{inputs.parameters.task-id}}")
        return {
            "name": self.each_name(step),
            "template": template,
            "depends": f"{self.task_name(step)}.Succeeded" if step.conditional else self.task_name(step),
            "withParam": f"{{{{tasks.{self.task_name(step)}.outputs.parameters.splits}}}}",
            "arguments": {"parameters": [{"name": "task-id", "value": "{{item}}"}]},
        }

    def _emit_dag(self, name: str, tasks: list[dict[str, Any]], task_id: str) -> str:
        inputs = {"inputs": {"parameters": [{"name": "task-id"}]}} if task_id != "0" else {}
        if len(tasks) <= MAX_DAG_TASKS:
            self.templates.append({"name": name, **inputs, "dag": {"tasks": tasks}})
            return name
        if any("when" in t or "." in t.get("depends", "") for t in tasks):
            raise FlowshipError(
                f"{self.ir.file}: a DAG of {len(tasks)} tasks must be split into parts (Argo's limit is "
                f"{MAX_DAG_TASKS} tasks), which flowship does not do for the steps of a switch; move steps into a "
                "foreach or merge small steps"
            )
        each = set(self.each_names.values())
        parts: list[list[dict[str, Any]]] = [[]]
        for task in tasks:  # a foreach task and the task fanning it out stay in one part
            if len(parts[-1]) >= _PART_SIZE and task["name"] not in each:
                parts.append([])
            parts[-1].append(task)
        outer = []
        for index, part in enumerate(parts, start=1):
            names = {t["name"] for t in part}
            for task in part:  # dependencies on earlier parts are met by the parts' own order
                inside = [d for d in task.pop("depends", "").split(" && ") if d in names]
                if inside:
                    task["depends"] = " && ".join(inside)
            part_name = self.template_name(f"{name}-part-{index}")
            self.templates.append({"name": part_name, **inputs, "dag": {"tasks": part}})
            call: dict[str, Any] = {"name": f"part-{index}", "template": part_name}
            if index > 1:
                call["depends"] = f"part-{index - 1}"
            if task_id != "0":
                call["arguments"] = {"parameters": [{"name": "task-id", "value": "{{inputs.parameters.task-id}}"}]}
            outer.append(call)
        return self._emit_dag(name, outer, task_id)


def _arguments(ir: FlowIR, options: DeployOptions) -> list[dict[str, str]]:
    parameters = []
    for p in ir.parameters:
        value = default_text(p)
        parameter = {"name": p.name, **({"value": encode_stored_value(value)} if value is not None else {})}
        if p.help:
            parameter["description"] = p.help
        parameters.append(parameter)
    return parameters + trigger_arguments(ir, options)


def _run_labels(ir: FlowIR, options: DeployOptions, settings: ArgoSettings) -> dict[str, str]:
    """Labels the deployment's objects, workflows and pods share; exact text goes into annotations."""
    labels = {"app.kubernetes.io/managed-by": "flowship", "flowship.io/flow": k8s_name(ir.name)}
    if options.project:
        labels["flowship.io/project"] = k8s_name(options.project)
    if options.branch:
        labels["flowship.io/branch"] = k8s_name(options.branch)
    return {**labels, **settings.labels}


def _run_annotations(ir: FlowIR, options: DeployOptions, settings: ArgoSettings) -> dict[str, str]:
    annotations = {"flowship.io/flow-name": ir.name}
    if options.package_sha:
        annotations["flowship.io/code-package"] = options.package_sha
    else:
        annotations["flowship.io/code-in-image"] = options.flow_path
    if options.run_namespace:
        annotations["flowship.io/namespace"] = options.run_namespace
    if options.promoted_from:
        annotations["flowship.io/promoted-from"] = options.promoted_from
    return {**annotations, **settings.annotations}


def _metadata(ir: FlowIR, name: str, options: DeployOptions, settings: ArgoSettings) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if options.namespace:
        metadata["namespace"] = options.namespace
    metadata["labels"] = _run_labels(ir, options, settings)
    metadata["annotations"] = _run_annotations(ir, options, settings)
    if ir.parameters:  # Argo parameters are text: `flow trigger` checks values against these types first
        types = {p.name: p.text_type for p in ir.parameters}
        metadata["annotations"]["flowship.io/parameter-types"] = json.dumps(types, sort_keys=True)
    if settings.priority is not None:  # Argo reads priority from each Workflow: `flow trigger` sets it from here
        metadata["annotations"][PRIORITY_ANNOTATION] = str(settings.priority)
    return metadata


def _workflow_spec(ir: FlowIR, options: DeployOptions, settings: ArgoSettings, main: str) -> dict[str, Any]:
    """The WorkflowTemplate's spec before its templates: what every run of it gets."""
    spec: dict[str, Any] = {"entrypoint": main}
    if options.service_account or settings.rbac:
        spec["serviceAccountName"] = options.service_account or rbac_names(argo_names(ir, options)[0])[0]
    spec["parallelism"] = settings.parallelism
    if settings.run_timeout_seconds:
        spec["activeDeadlineSeconds"] = settings.run_timeout_seconds
    labels, annotations = _run_labels(ir, options, settings), _run_annotations(ir, options, settings)
    spec["workflowMetadata"] = {"labels": labels, "annotations": annotations}
    spec["podMetadata"] = {"labels": labels, "annotations": annotations}
    if _arguments(ir, options):
        spec["arguments"] = {"parameters": _arguments(ir, options)}
    return spec


def _cron_workflow(ir: FlowIR, options: DeployOptions, settings: ArgoSettings) -> dict[str, Any]:
    """A schedule in UTC unless the flow says otherwise, that never stalls behind a stuck run for long and
    still starts a run missed while the controller was down (within the starting deadline)."""
    template_name, cron_name = argo_names(ir, options)
    assert ir.schedule is not None
    spec: dict[str, Any] = {
        "schedules": [ir.schedule.cron],
        "timezone": ir.schedule.timezone or "UTC",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": settings.starting_deadline_seconds,
        "successfulJobsHistoryLimit": CRON_HISTORY,
        "failedJobsHistoryLimit": CRON_HISTORY,
        "workflowSpec": {"workflowTemplateRef": {"name": template_name}},
    }
    if settings.priority is not None:
        spec["workflowSpec"]["priority"] = settings.priority
    if _arguments(ir, options):
        spec["workflowSpec"]["arguments"] = {"parameters": _arguments(ir, options)}
    return {
        "apiVersion": API_VERSION,
        "kind": "CronWorkflow",
        "metadata": _metadata(ir, cron_name, options, settings),
        "spec": spec,
    }


def compile_to_argo(ir: FlowIR, options: DeployOptions) -> list[dict[str, Any]]:
    """The WorkflowTemplate, then the CronWorkflow when the flow has @schedule, the Sensor when it has triggers."""
    settings = read_settings(options.target_options)
    template_name = argo_names(ir, options)[0]
    builder = _Builder(ir, options, settings)
    main = builder.dag(builder.template_name("main"), [s for s in ir.steps if s.foreach_depth == 0], "0")
    exit_handler = builder.exit_template()
    if len(builder.templates) + 1 > MAX_TEMPLATES:
        raise FlowshipError(
            f"{ir.file}: the flow needs {len(builder.templates) + 1} Argo templates, over Argo's limit of "
            f"{MAX_TEMPLATES}; give more steps the same decorators so they can share a template"
        )
    spec = _workflow_spec(ir, options, settings, main)
    spec["onExit"] = exit_handler["name"]
    spec["templates"] = [builder.templates[-1]] + builder.templates[:-1] + [exit_handler]  # main first, for a reader
    template = {
        "apiVersion": API_VERSION,
        "kind": "WorkflowTemplate",
        "metadata": _metadata(ir, template_name, options, settings),
        "spec": spec,
    }
    documents = [template] + ([_cron_workflow(ir, options, settings)] if ir.schedule else [])
    if ir.triggers:
        metadata = _metadata(ir, template_name, options, settings)
        documents.append(sensor_document(ir, options, settings, template_name, metadata))
    if settings.rbac and options.namespace:  # the target refuses --rbac without a namespace
        labels = _run_labels(ir, options, settings)
        documents += rbac_documents(template_name, options.service_account, options.namespace, labels)
    return documents


def render_yaml(documents: list[dict[str, Any]]) -> str:
    """YAML in the order the documents were built (kind and name first), for a human reviewer.

    Parameter lists (``arguments: {parameters: [{name: step, value: train}]}``) are written on one line:
    easier to scan, and a 1,000-step manifest stays well under Argo's limits.
    """
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # a shared dict is written out again, never as &id001/*id001

    def represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=_compact(data) or None)

    def _compact(data: Any) -> bool:
        if isinstance(data, dict) and set(data) == {"parameters"}:
            return all(_compact(p) for p in data["parameters"])
        return (
            isinstance(data, dict)
            and set(data) <= {"name", "value", "default", "description"}
            and all(isinstance(v, str) for v in data.values())
        )

    Dumper.add_representer(dict, represent_dict)
    return yaml.dump_all(
        documents, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=1000, allow_unicode=True
    )
