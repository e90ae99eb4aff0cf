"""Argo deployments: objects on a Kubernetes cluster, through the official ``kubernetes`` client (or, with
``--argo-server``, through the Argo Server's REST API: ``argo_server.py``).

Creates, replaces and deletes WorkflowTemplates and CronWorkflows, and
submits Workflows from a template. Configuration comes from the kubeconfig (or
``KUBECONFIG``) or, inside a pod, the in-cluster service account. Client and
API errors become :class:`~flowship.errors.FlowshipError` messages that say
what to do: no cluster, no permission, Argo's CRDs not installed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowship.compiler.ir import ParameterType
from flowship.compiler.targets.argo.manifest import PRIORITY_ANNOTATION, object_names
from flowship.compiler.targets.argo.rbac import DEPLOYMENT_ANNOTATION, RBAC_KINDS, rbac_names
from flowship.compiler.targets.base import Compiled
from flowship.errors import FlowshipError
from flowship.param_codec import parse_typed
from flowship.providers.argo_server import ArgoServer
from flowship.providers.deployer import Change, Deployer, DeployerOption, Triggered
from flowship.step_command import encode_stored_value

__all__ = ["ArgoCluster", "ArgoDeployer", "DEPLOYER"]

GROUP, VERSION = "argoproj.io", "v1alpha1"
# kind -> the API path of its collection in a namespace ({ns}); the RBAC kinds come with --rbac
COLLECTIONS = {
    "WorkflowTemplate": f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/workflowtemplates",
    "CronWorkflow": f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/cronworkflows",
    "Sensor": f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/sensors",  # Argo Events: same group and version
    "Workflow": f"/apis/{GROUP}/{VERSION}/namespaces/{{ns}}/workflows",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}


class ArgoCluster:
    def __init__(self, namespace: str | None = None, context: str | None = None):
        try:
            import kubernetes
        except ImportError:
            raise FlowshipError(
                "talking to Kubernetes needs the kubernetes client: pip install 'flowship[argo]'"
            ) from None
        from kubernetes.config.config_exception import ConfigException

        try:
            kubernetes.config.load_kube_config(context=context)
            contexts, active = kubernetes.config.list_kube_config_contexts()
            chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
            default_namespace = chosen.get("context", {}).get("namespace", "default")
        except (ConfigException, FileNotFoundError, TypeError) as exc:
            if context:
                raise FlowshipError(f"--kube-context {context}: the kubeconfig cannot use it ({exc})") from None
            try:
                kubernetes.config.load_incluster_config()
                default_namespace = "default"
            except ConfigException:
                raise FlowshipError(
                    "no Kubernetes cluster configured: set KUBECONFIG or ~/.kube/config (or run inside a pod)"
                ) from None
        self.namespace = namespace or default_namespace
        self.client = kubernetes.client.ApiClient()
        self._api_exception = kubernetes.client.exceptions.ApiException

    def _request(self, method: str, kind: str, name: str | None = None, body: dict[str, Any] | None = None) -> Any:
        """One call of the Kubernetes REST API on a kind's collection (or one object in it)."""
        path = COLLECTIONS[kind].format(ns=self.namespace) + (f"/{name}" if name else "")
        return self.client.call_api(
            path,
            method,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            response_types_map={200: "object", 201: "object"},
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
        )

    def _call(self, what: str, function, *args: Any, **kwargs: Any) -> Any:
        import urllib3

        try:
            return function(*args, **kwargs)
        except self._api_exception as exc:
            if exc.status in (401, 403):
                raise FlowshipError(
                    f"{what}: no permission in namespace {self.namespace} ({exc.status} {exc.reason}) — "
                    f"ask for the right to create, update and delete {what.split()[0]}s there"
                ) from None
            if exc.status == 404 and "the server could not find the requested resource" in (exc.body or "").lower():
                raise FlowshipError(
                    f"{what}: Argo Workflows is not installed on this cluster (no argoproj.io CRDs)"
                ) from None
            raise FlowshipError(f"{what}: the cluster answered {exc.status} {exc.reason}: {exc.body}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise FlowshipError(
                f"{what}: cannot reach the Kubernetes API ({exc.__class__.__name__}) — is the cluster up?"
            ) from None

    def _exists(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", kind, name)
        except self._api_exception as exc:
            if (
                exc.status == 404
                and "not found" in (exc.body or "").lower()
                and "could not find the requested resource" not in (exc.body or "").lower()
            ):
                return None
            raise

    def apply(self, document: dict[str, Any]) -> str:
        """Create the object, or replace it when it exists; returns 'created' or 'replaced'."""
        kind, name = document["kind"], document["metadata"]["name"]
        body = {**document, "metadata": {**document["metadata"], "namespace": self.namespace}}
        what = f"{kind} {self.namespace}/{name}"
        current = self._call(what, self._exists, kind, name)
        if current is None:
            self._call(what, self._request, "POST", kind, body=body)
            return "created"
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self._call(what, self._request, "PUT", kind, name, body)
        return "replaced"

    def delete(self, kind: str, name: str) -> None:
        self._call(f"{kind} {self.namespace}/{name}", self._request, "DELETE", kind, name)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self._call(f"{kind} {self.namespace}/{name}", self._exists, kind, name)

    def submit(self, template: str, parameters: dict[str, str], priority: int | None = None) -> str:
        """Start a Workflow from a WorkflowTemplate; returns the workflow's name."""
        spec: dict[str, Any] = {
            "workflowTemplateRef": {"name": template},
            "arguments": {"parameters": [{"name": k, "value": v} for k, v in parameters.items()]},
        }
        if priority is not None:
            spec["priority"] = priority
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Workflow",
            "metadata": {"generateName": f"{template[:57]}-", "namespace": self.namespace},
            "spec": spec,
        }
        created = self._call(f"Workflow from {template}", self._request, "POST", "Workflow", body=body)
        return created["metadata"]["name"]


class ArgoDeployer(Deployer):
    options = (
        DeployerOption("kube-context", "argo: the kubeconfig context (default: the current one)"),
        DeployerOption(
            "argo-server",
            "argo: go through this Argo Server (https://...) instead of the Kubernetes API; token from $ARGO_TOKEN",
        ),
        DeployerOption("argo-token-file", "argo: a file holding the Argo Server's token (default: $ARGO_TOKEN)"),
        DeployerOption("argo-ca-file", "argo: the CA certificates the Argo Server's TLS certificate is checked with"),
        DeployerOption(
            "webhook-url",
            "argo: the Argo Events webhook EventSource's URL events are posted to (token from $ARGO_EVENTS_TOKEN)",
            ("publish",),
            ("publish",),
        ),
    )

    def __init__(self, settings: Mapping[str, str | None], namespace: str | None = None) -> None:
        super().__init__(settings, namespace)
        self._cluster: ArgoCluster | ArgoServer | None = None
        if not settings.get("argo-server"):
            for option in ("argo-token-file", "argo-ca-file"):
                if settings.get(option):
                    raise FlowshipError(f"--{option} is for the Argo Server: give --argo-server URL too")
        elif settings.get("kube-context"):
            raise FlowshipError("--kube-context is for the Kubernetes API, not the Argo Server: give one of them")

    @property
    def cluster(self) -> ArgoCluster | ArgoServer:  # connects on first use: planning a dry run still reads it
        if self._cluster is None:
            server = self.settings.get("argo-server")
            if server:
                self._cluster = ArgoServer(
                    server, self.namespace, self.settings.get("argo-token-file"), self.settings.get("argo-ca-file")
                )
            else:
                self._cluster = ArgoCluster(self.namespace, self.settings.get("kube-context"))
        return self._cluster

    def _where(self, kind: str, name: str) -> str:
        return f"{kind} {self.cluster.namespace}/{name}"

    @staticmethod
    def _deployment(compiled: Compiled) -> str:
        return compiled.name  # the WorkflowTemplate's name, which flow delete and flow trigger work from too

    def _ours(self, kind: str, obj: str, deployment: str) -> bool:
        """Whether an RBAC object exists that --rbac made for this deployment (by its annotation). One we may not
        read, or anyone else's — the user's own account above all — is never touched."""
        try:
            found = self.cluster.get(kind, obj)
        except FlowshipError:
            return False
        return (
            found is not None
            and (found.get("metadata") or {}).get("annotations", {}).get(DEPLOYMENT_ANNOTATION) == deployment
        )

    def _existing(self, deployment: str) -> list[tuple[str, str]]:
        """What this deployment has on the cluster now: Argo's objects, and the RBAC objects --rbac made."""
        return [(k, o) for k, o in self._argo_objects(deployment) if self.cluster.get(k, o) is not None] + [
            (k, o) for k, o in self._rbac_objects(deployment) if self._ours(k, o, deployment)
        ]

    def _stale(self, compiled: Compiled) -> list[tuple[str, str]]:
        """Objects of this deployment the new documents no longer include: the schedule of a flow that lost it,
        the RBAC objects of a deployment redeployed without --rbac."""
        wanted = {(d.kind, d.name) for d in compiled.documents}
        return [(k, o) for k, o in self._existing(self._deployment(compiled)) if (k, o) not in wanted]

    def _refuse_foreign(self, compiled: Compiled) -> None:
        """An RBAC object of the same name that flowship did not make for this deployment is not replaced."""
        deployment = self._deployment(compiled)
        for d in compiled.documents:
            foreign = d.kind in RBAC_KINDS and not self._ours(d.kind, d.name, deployment)
            if foreign and self.cluster.get(d.kind, d.name) is not None:
                raise FlowshipError(
                    f"{self._where(d.kind, d.name)} exists and was not made by --rbac for {deployment}: "
                    "name your own account with --service-account, or remove it"
                )

    def plan(self, compiled: Compiled) -> list[Change]:
        if isinstance(self.cluster, ArgoServer):
            others = [d.kind for d in compiled.documents if not self.cluster.manages(d.kind)]
            if others:
                raise FlowshipError(
                    f"--argo-server manages Argo's objects only, not the {', '.join(others)} of --rbac: apply those "
                    "with kubectl (flow compile --rbac writes them), or deploy through the Kubernetes API"
                )
        self._refuse_foreign(compiled)
        changes = [
            Change("replace" if self.cluster.get(d.kind, d.name) is not None else "create", self._where(d.kind, d.name))
            for d in compiled.documents
        ]
        return changes + [Change("delete", self._where(kind, obj)) for kind, obj in self._stale(compiled)]

    def apply(self, compiled: Compiled) -> list[Change]:
        self._refuse_foreign(compiled)
        stale = self._stale(compiled)
        outcomes = [self.cluster.apply(d.body) for d in compiled.documents]
        for kind, obj in stale:
            self.cluster.delete(kind, obj)
        return [
            Change("create" if outcome == "created" else "replace", self._where(d.kind, d.name))
            for d, outcome in zip(compiled.documents, outcomes, strict=True)
        ] + [Change("delete", self._where(kind, obj)) for kind, obj in stale]

    @staticmethod
    def _argo_objects(name: str) -> list[tuple[str, str]]:
        """The schedule and the sensor first, so nothing starts mid-way."""
        template, cron = object_names(name)
        return [("CronWorkflow", cron), ("Sensor", template), ("WorkflowTemplate", template)]

    @staticmethod
    def _rbac_objects(name: str) -> list[tuple[str, str]]:
        account, role = rbac_names(name)
        return [("RoleBinding", role), ("Role", role), ("ServiceAccount", account)]

    def plan_delete(self, name: str) -> list[Change]:
        """The template and schedule, said even when absent; a Sensor and the RBAC objects --rbac made, where they
        exist."""
        existing = set(self._existing(name))
        changes = [
            Change("delete" if (kind, obj) in existing else "absent", self._where(kind, obj))
            for kind, obj in self._argo_objects(name)
            if kind != "Sensor" or (kind, obj) in existing
        ]
        return changes + [
            Change("delete", self._where(k, o)) for k, o in self._rbac_objects(name) if (k, o) in existing
        ]

    def delete(self, name: str) -> list[Change]:
        changes = self.plan_delete(name)
        for change in changes:
            if change.action == "delete":
                kind, where = change.what.split(" ", 1)
                self.cluster.delete(kind, where.rsplit("/", 1)[1])
        return changes

    def _template(self, name: str) -> dict[str, Any]:
        template_name = object_names(name)[0]
        template = self.cluster.get("WorkflowTemplate", template_name)
        if template is None:
            raise FlowshipError(f"no WorkflowTemplate {self.cluster.namespace}/{template_name}; deploy the flow first")
        return template

    def parameters(self, name: str) -> dict[str, ParameterType]:
        template = self._template(name)
        declared = template["spec"].get("arguments", {}).get("parameters", [])
        types = json.loads(template["metadata"].get("annotations", {}).get("flowship.io/parameter-types", "{}"))
        return {p["name"]: types.get(p["name"], "str") for p in declared}

    def trigger(self, name: str, values: Mapping[str, str]) -> Triggered:
        types = self.parameters(name)
        for key, text in values.items():  # passed as text, as typed; checked now rather than failing in the pod
            parse_typed(key, types[key], text)
        stored = {key: encode_stored_value(text) for key, text in values.items()}  # no {{ in Argo's own spec
        template = self._template(name)
        priority = template["metadata"].get("annotations", {}).get(PRIORITY_ANNOTATION)
        workflow = self.cluster.submit(template["metadata"]["name"], stored, int(priority) if priority else None)
        return Triggered(f"Workflow {self.cluster.namespace}/{workflow}", f"argo-{self.cluster.namespace}.{workflow}")

    def publish(self, event: Mapping[str, Any]) -> str:
        """POST the event to the webhook event source; the sensors of flows with @trigger on it pick it up."""
        from flowship.runtime.triggering import post_event

        url = str(self.settings["webhook-url"])
        status = post_event(url, dict(event))
        return f"event '{event['name']}' (id {event['id']}) to {url} ({status})"


DEPLOYER = ArgoDeployer
