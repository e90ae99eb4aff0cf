"""Validate manifests against Argo v4's own CRD openAPIV3Schema, strictly (unknown fields rejected).

The CRDs live in ../shared/argo/crds (Argo v4.1.2, unmodified). Each kind's
``openAPIV3Schema`` becomes a Draft 7 JSON Schema: ``x-kubernetes-int-or-string``
accepts integers or strings, ``nullable`` adds null, and every object with
``properties`` and no ``x-kubernetes-preserve-unknown-fields`` gets
``additionalProperties: false``. Converted schemas are cached beside the tests.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CACHE = Path(__file__).resolve().parent / ".schema-cache"
EVENTS_KINDS = ("Sensor", "EventSource")
KIND_FILES = {
    "WorkflowTemplate": "argoproj.io_workflowtemplates.yaml",
    "CronWorkflow": "argoproj.io_cronworkflows.yaml",
    "Workflow": "argoproj.io_workflows.yaml",
}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-validations")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("anyOf", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = kind + ["null"]
    if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    return out


@functools.lru_cache(maxsize=None)
def validator(crds: Path, kind: str) -> jsonschema.Draft7Validator:
    cached = CACHE / f"{kind}.json"
    source = crds / KIND_FILES[kind]
    if cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime:
        schema = json.loads(cached.read_text())
    else:
        crd = yaml.safe_load(source.read_text())
        schema = _strict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        CACHE.mkdir(exist_ok=True)
        cached.write_text(json.dumps(schema))
    return jsonschema.Draft7Validator(schema)


def schema_errors(crds: Path, document: dict[str, Any]) -> list[str]:
    """Every schema violation of ``document`` as 'path: message'; an Argo Events kind (a Sensor) is checked against
    Argo Events' published schema, kept beside Argo's (``../shared/argo-events``)."""
    if document["kind"] in EVENTS_KINDS:
        return events_schema_errors(crds.parent.parent / "argo-events", document)
    found = validator(crds, document["kind"]).iter_errors(document)
    return sorted(f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found)


@functools.lru_cache(maxsize=None)
def _events_validator(folder: Path, kind: str) -> jsonschema.Draft7Validator:
    """Argo Events publishes a JSON Schema of its types (its CRDs accept any spec): the kind's definition, with the
    file's definitions for its $refs."""
    schema = json.loads((folder / "schema.json").read_text())
    root = {**schema["definitions"][f"io.argoproj.events.v1alpha1.{kind}"], "definitions": schema["definitions"]}
    return jsonschema.Draft7Validator(root)


def events_schema_errors(folder: Path, document: dict[str, Any]) -> list[str]:
    """Every violation of an Argo Events object (a Sensor, an EventSource) of its published schema."""
    found = _events_validator(folder, document["kind"]).iter_errors(document)
    return sorted(f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found)
