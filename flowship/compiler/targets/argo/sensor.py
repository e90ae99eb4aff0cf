"""@trigger and @trigger_on_finish on Argo: an Argo Events Sensor that submits the flow's WorkflowTemplate.

Every event arrives through one webhook EventSource (``--event-source``, its event
``flowship``) as Metaflow's ArgoEvent body ``{"name": ..., "payload": {...}}``: a
published event (``flow event publish``), or a finished run announcing
``metaflow.<deployment>.end`` from its exit handler (``--event-webhook``). The Sensor
has one dependency per event the flow waits for, each filtered on the body's ``name``
(a finished upstream's name carries its project and branch, so a branch never starts
production), and, as Argo Events does without ``conditions``, fires once every
dependency has an event. Its trigger creates a Workflow from the template, as ``argo
submit --from`` would, with the events put into the Workflow's arguments by the
trigger's parameters:

- ``flowship-trigger-<i>``: dependency i's whole body, for ``current.trigger``;
- each mapped parameter: its payload field, the parameter's default when the field is
  absent (Argo Events falls back to ``value`` when the template gives nothing).

Both travel as ``flowship-json-base64:<base64 of the JSON value>`` (sprig's ``toJson |
b64enc``): Argo substitutes ``{{`` in a Workflow's arguments, and a payload's text must
reach the task as sent. The start task decodes them (``step_command.py``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from flowship.compiler.ir import FlowIR
from flowship.compiler.naming import k8s_name
from flowship.compiler.targets.argo.settings import EVENT_NAME, ArgoSettings
from flowship.compiler.targets.shared import DeployOptions
from flowship.compiler.triggers import upstream_event_names
from flowship.param_codec import default_text
from flowship.step_command import ENCODED_JSON_PREFIX, encode_stored_value

__all__ = ["trigger_arguments", "trigger_expressions", "sensor_document", "TRIGGER_PARAMETER"]

TRIGGER_PARAMETER = "flowship-trigger-{}"  # a workflow parameter per dependency: its event, for current.trigger


def _dependency(name: str) -> str:
    """A dependency name for an event: readable, and distinct for names that read alike once cleaned."""
    return f"{k8s_name(name, 40)}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def trigger_arguments(ir: FlowIR, options: DeployOptions) -> list[dict[str, str]]:
    """The Workflow's arguments a triggered flow adds: one empty slot per event (a run started by hand has none)."""
    names = upstream_event_names(ir, options.project, options.branch)
    return [{"name": TRIGGER_PARAMETER.format(i), "value": ""} for i in range(len(names))]


def trigger_expressions(ir: FlowIR, options: DeployOptions) -> tuple[str, ...]:
    """The start task's ``--trigger-base64`` values: each slot's text as base64, computed by Argo."""
    count = len(upstream_event_names(ir, options.project, options.branch))
    return tuple(f"{{{{=toBase64(workflow.parameters['{TRIGGER_PARAMETER.format(i)}'])}}}}" for i in range(count))


def _json_template(expression: str) -> str:
    return f"{ENCODED_JSON_PREFIX}{{{{ {expression} | toJson | b64enc }}}}"


def _field_template(field: str) -> str:
    """The payload field as JSON in base64, or nothing when the payload lacks it (then the default applies)."""
    inner = _json_template(f'get .Input.body.payload "{field}"')
    return f'{{{{ if hasKey .Input.body.payload "{field}" }}}}{inner}{{{{ end }}}}'


def sensor_document(
    ir: FlowIR, options: DeployOptions, settings: ArgoSettings, template_name: str, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The Sensor of a triggered flow: its dependencies, and a trigger creating a Workflow of ``template_name``."""
    names = upstream_event_names(ir, options.project, options.branch)
    dependencies = [
        {
            "name": _dependency(name),
            "eventSourceName": settings.event_source,
            "eventName": EVENT_NAME,
            "filters": {"data": [{"path": "body.name", "type": "string", "value": [f"^{name.replace('.', '[.]')}$"]}]},
        }
        for name, _ in names
    ]
    arguments = []
    for p in ir.parameters:
        value = default_text(p)
        arguments.append({"name": p.name, **({"value": encode_stored_value(value)} if value is not None else {})})
    arguments += trigger_arguments(ir, options)
    index = {argument["name"]: i for i, argument in enumerate(arguments)}
    parameters: list[dict[str, Any]] = []
    events = {e.name: e for e in ir.triggers.events} if ir.triggers else {}
    for i, (name, _) in enumerate(names):
        dependency = _dependency(name)
        for parameter, field in events[name].parameters.items() if name in events else ():
            source = {"dependencyName": dependency, "dataTemplate": _field_template(field)}
            if "value" in arguments[index[parameter]]:
                source["value"] = arguments[index[parameter]]["value"]
            parameters.append({"src": source, "dest": f"spec.arguments.parameters.{index[parameter]}.value"})
        slot = index[TRIGGER_PARAMETER.format(i)]
        source = {"dependencyName": dependency, "dataTemplate": _json_template(".Input.body")}
        parameters.append({"src": source, "dest": f"spec.arguments.parameters.{slot}.value"})
    workflow: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{template_name}-"},
        "spec": {"workflowTemplateRef": {"name": template_name}, "arguments": {"parameters": arguments}},
    }
    if options.namespace:
        workflow["metadata"]["namespace"] = options.namespace
    spec: dict[str, Any] = {"dependencies": dependencies}
    if settings.sensor_service_account:
        spec["template"] = {"serviceAccountName": settings.sensor_service_account}
    spec["triggers"] = [
        {
            "template": {
                "name": template_name,
                "k8s": {"operation": "create", "source": {"resource": workflow}, "parameters": parameters},
            }
        }
    ]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor", "metadata": metadata, "spec": spec}
