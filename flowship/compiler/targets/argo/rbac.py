"""What a workflow's pods may do in the cluster: the least Argo v4 needs, as objects ``--rbac`` adds.

Argo's executor in every pod reports outputs (a foreach step's splits among
them) by creating and patching ``workflowtaskresults``; without that right a
foreach never fans out. Nothing else is needed: flowship's tasks reach their
store with the store's own credentials (``--secret``, or a service account
mapped to a cloud role). A service account named with ``--service-account``
is the user's (it may carry such a mapping) and is bound, never rewritten.
"""

from __future__ import annotations

from typing import Any

from flowship.compiler.naming import k8s_name

__all__ = ["RBAC_RULES", "RBAC_KINDS", "DEPLOYMENT_ANNOTATION", "rbac_names", "rbac_documents"]

RBAC_KINDS = ("ServiceAccount", "Role", "RoleBinding")
# Marks the objects --rbac made, and for which deployment: redeploys and deletes touch only those.
DEPLOYMENT_ANNOTATION = "flowship.io/deployment"
RBAC_RULES = [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]


def rbac_names(template: str) -> tuple[str, str]:
    """(ServiceAccount made for the deployment, Role and RoleBinding) names, from its WorkflowTemplate's name."""
    return k8s_name(f"{template}-workflow", 63), k8s_name(f"{template}-workflow", 63)


def rbac_documents(
    template: str, service_account: str | None, namespace: str, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """The ServiceAccount (unless given), Role and RoleBinding of the deployment of WorkflowTemplate ``template``."""
    made, role = rbac_names(template)

    def metadata(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": {DEPLOYMENT_ANNOTATION: template},
        }

    subject = {"kind": "ServiceAccount", "name": service_account or made, "namespace": namespace}
    documents: list[dict[str, Any]] = []
    if not service_account:
        documents.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(made)})
    documents.append(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata(role), "rules": RBAC_RULES}
    )
    documents.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(role),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [subject],
        }
    )
    return documents
