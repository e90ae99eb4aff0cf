"""Argo objects on a Kubernetes cluster, through the official ``kubernetes`` client.

Creates or replaces WorkflowTemplates and CronWorkflows, and submits
Workflows from a template. Configuration comes from the kubeconfig (or
``KUBECONFIG``) or, inside a pod, the in-cluster service account. Client and
API errors become :class:`~flowship.errors.FlowshipError` messages that say
what to do: no cluster, no permission, Argo's CRDs not installed.
"""

from __future__ import annotations

from typing import Any

from flowship.errors import FlowshipError

__all__ = ["ArgoCluster"]

GROUP, VERSION = "argoproj.io", "v1alpha1"
PLURALS = {"WorkflowTemplate": "workflowtemplates", "CronWorkflow": "cronworkflows", "Workflow": "workflows"}


class ArgoCluster:
    def __init__(self, namespace: str | None = None, context: str | None = None):
        try:
            import kubernetes
        except ImportError:
            raise FlowshipError("talking to Kubernetes needs the kubernetes client: pip install 'flowship[argo]'") from None
        from kubernetes.config.config_exception import ConfigException

        try:
            kubernetes.config.load_kube_config(context=context)
            _, active = kubernetes.config.list_kube_config_contexts()
            default_namespace = active.get("context", {}).get("namespace", "default")
        except (ConfigException, FileNotFoundError, TypeError):
            try:
                kubernetes.config.load_incluster_config()
                default_namespace = "default"
            except ConfigException:
                raise FlowshipError(
                    "no Kubernetes cluster configured: set KUBECONFIG or ~/.kube/config (or run inside a pod)"
                ) from None
        self.namespace = namespace or default_namespace
        self.api = kubernetes.client.CustomObjectsApi()
        self._api_exception = kubernetes.client.exceptions.ApiException

    def _call(self, what: str, function, *args: Any, **kwargs: Any) -> Any:
        import urllib3

        try:
            return function(*args, **kwargs)
        except self._api_exception as exc:
            if exc.status in (401, 403):
                raise FlowshipError(f"{what}: no permission in namespace {self.namespace} ({exc.status} {exc.reason}) — "
                                    "ask for create/update rights on argoproj.io objects") from None
            if exc.status == 404 and "the server could not find the requested resource" in (exc.body or "").lower():
                raise FlowshipError(f"{what}: Argo Workflows is not installed on this cluster (no argoproj.io CRDs)") from None
            raise FlowshipError(f"{what}: the cluster answered {exc.status} {exc.reason}: {exc.body}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise FlowshipError(f"{what}: cannot reach the Kubernetes API ({exc.__class__.__name__}) — is the cluster up?") from None

    def _exists(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            return self.api.get_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)
        except self._api_exception as exc:
            if exc.status == 404 and "not found" in (exc.body or "").lower() and "could not find the requested resource" not in (exc.body or "").lower():
                return None
            raise

    def apply(self, document: dict[str, Any]) -> str:
        """Create the object, or replace it when it exists; returns 'created' or 'replaced'."""
        plural = PLURALS[document["kind"]]
        name = document["metadata"]["name"]
        body = {**document, "metadata": {**document["metadata"], "namespace": self.namespace}}
        what = f"{document['kind']} {self.namespace}/{name}"
        current = self._call(what, self._exists, plural, name)
        if current is None:
            self._call(what, self.api.create_namespaced_custom_object, GROUP, VERSION, self.namespace, plural, body)
            return "created"
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self._call(what, self.api.replace_namespaced_custom_object, GROUP, VERSION, self.namespace, plural, name, body)
        return "replaced"

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self._call(f"{kind} {self.namespace}/{name}", self._exists, PLURALS[kind], name)

    def submit(self, template: str, parameters: dict[str, str]) -> str:
        """Start a Workflow from a WorkflowTemplate; returns the workflow's name."""
        body = {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow",
            "metadata": {"generateName": f"{template[:57]}-", "namespace": self.namespace},
            "spec": {"workflowTemplateRef": {"name": template},
                     "arguments": {"parameters": [{"name": k, "value": v} for k, v in parameters.items()]}},
        }
        created = self._call(f"Workflow from {template}", self.api.create_namespaced_custom_object,
                             GROUP, VERSION, self.namespace, "workflows", body)
        return created["metadata"]["name"]
