"""Argo deployments through the Argo Server's REST API, for users given an Argo Server URL and a token.

Many clusters expose Argo to their users as the Argo Server (``argo server``)
and a bearer token, not as Kubernetes API access. This backend does what
:class:`~flowship.providers.argo.ArgoCluster` does — get, create or replace,
delete WorkflowTemplates, CronWorkflows and Sensors, submit a Workflow from a template —
through ``/api/v1/workflow-templates``, ``/api/v1/cron-workflows``, ``/api/v1/sensors`` and
``/api/v1/workflows/{ns}/submit``. TLS certificates are verified (a private
CA is given with ``--argo-ca-file``); the server's errors (``{"code",
"message"}``) become one-line messages.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from urllib.parse import quote

from flowship.errors import FlowshipError

__all__ = ["ArgoServer", "ARGO_TOKEN_VARIABLE"]

ARGO_TOKEN_VARIABLE = "ARGO_TOKEN"
# kind -> (collection in the API, the request body's key for the object)
_KINDS = {
    "WorkflowTemplate": ("workflow-templates", "template"),
    "CronWorkflow": ("cron-workflows", "cronWorkflow"),
    "Sensor": ("sensors", "sensor"),  # the Argo Server serves Argo Events' Sensors too
}
_TIMEOUT = 30.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx reaches the caller as an HTTPError


class ArgoServer:
    def __init__(self, url: str, namespace: str | None, token_file: str | None = None, ca_file: str | None = None):
        if not namespace:
            raise FlowshipError("--argo-server: give --namespace, the namespace the Argo Server deploys into")
        try:
            parsed = urllib.parse.urlsplit(url)
            valid = parsed.scheme == "https" and bool(parsed.hostname)
        except ValueError:
            valid = False
        if not valid:  # the token must never travel in clear text
            raise FlowshipError(f"--argo-server {url}: give the server's https:// URL, e.g. https://argo.example.com")
        self.url, self.namespace = url.rstrip("/"), namespace
        self.token = self._token(token_file)
        try:
            tls = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise FlowshipError(f"--argo-ca-file {ca_file}: cannot read it as certificates ({exc})") from None
        # no redirects followed: urllib would send the token on to wherever one points
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls), _NoRedirect())

    @staticmethod
    def _token(token_file: str | None) -> str:
        if token_file:
            try:
                with open(token_file, encoding="utf-8") as handle:
                    text = handle.read().strip()
            except OSError as exc:
                raise FlowshipError(f"--argo-token-file {token_file}: {exc.strerror}") from None
        else:
            text = os.environ.get(ARGO_TOKEN_VARIABLE, "").strip()
        if not text:
            raise FlowshipError(
                f"--argo-server needs a token: set ${ARGO_TOKEN_VARIABLE} or give --argo-token-file "
                "(`argo auth token` prints one)"
            )
        return text if text.lower().startswith("bearer ") else f"Bearer {text}"

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, what: str = "") -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": self.token, "Content-Type": "application/json", "Accept": "application/json"},
        )
        text = b""
        try:
            with self.opener.open(request, timeout=_TIMEOUT) as response:
                text = response.read()
            return json.loads(text or b"{}")
        except ValueError:
            raise FlowshipError(
                f"{what}: the Argo Server at {self.url} did not answer in JSON (a login page? check the URL and "
                f"the token): {text[:80]!r}"
            ) from None
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read() or b"{}").get("message", exc.reason)
            except ValueError:
                message = exc.reason
            if exc.code == 404 and method == "GET":
                return None
            if 300 <= exc.code < 400:
                raise FlowshipError(
                    f"{what}: the Argo Server at {self.url} redirected to {exc.headers.get('Location')}; give the URL "
                    "it redirects to (the token is not sent on)"
                ) from None
            if exc.code in (401, 403):
                raise FlowshipError(
                    f"{what}: the Argo Server at {self.url} refused the token ({exc.code}: {message}) — "
                    f"check ${ARGO_TOKEN_VARIABLE} and its rights in namespace {self.namespace}"
                ) from None
            raise FlowshipError(f"{what}: the Argo Server at {self.url} answered {exc.code}: {message}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise FlowshipError(
                    f"{what}: the Argo Server's certificate at {self.url} is not trusted ({exc.reason.verify_message})"
                    " — give its CA with --argo-ca-file"
                ) from None
            raise FlowshipError(f"{what}: cannot reach the Argo Server at {self.url} ({exc.reason})") from None
        except OSError as exc:  # a timeout or a dropped connection while reading
            raise FlowshipError(f"{what}: the Argo Server at {self.url} did not answer ({exc})") from None

    def _path(self, kind: str, name: str | None = None) -> str:
        collection = _KINDS[kind][0]
        return f"/api/v1/{collection}/{quote(self.namespace)}" + (f"/{quote(name)}" if name else "")

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """The object, or None when absent (or of a kind the Argo Server does not manage)."""
        if kind not in _KINDS:
            return None
        return self._request("GET", self._path(kind, name), what=f"{kind} {self.namespace}/{name}")

    @staticmethod
    def manages(kind: str) -> bool:
        return kind in _KINDS

    def apply(self, document: dict[str, Any]) -> str:
        """Create the object, or replace it when it exists; returns 'created' or 'replaced'."""
        kind, name = document["kind"], document["metadata"]["name"]
        if kind not in _KINDS:
            raise FlowshipError(
                f"{kind} {name}: the Argo Server manages Argo's objects only; apply it with kubectl, or deploy "
                "through the Kubernetes API (without --argo-server)"
            )
        what = f"{kind} {self.namespace}/{name}"
        body = {**document, "metadata": {**document["metadata"], "namespace": self.namespace}}
        current = self.get(kind, name)
        if current is None:
            self._request("POST", self._path(kind), {"namespace": self.namespace, _KINDS[kind][1]: body}, what)
            return "created"
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self._request("PUT", self._path(kind, name), {"namespace": self.namespace, _KINDS[kind][1]: body}, what)
        return "replaced"

    def delete(self, kind: str, name: str) -> None:
        self._request("DELETE", self._path(kind, name), what=f"{kind} {self.namespace}/{name}")

    def submit(self, template: str, parameters: dict[str, str], priority: int | None = None) -> str:
        """Start a Workflow from a WorkflowTemplate; returns the workflow's name."""
        options: dict[str, Any] = {"parameters": [f"{k}={v}" for k, v in parameters.items()]}
        if priority is not None:
            options["priority"] = priority
        body = {
            "namespace": self.namespace,
            "resourceKind": "WorkflowTemplate",
            "resourceName": template,
            "submitOptions": options,
        }
        created = self._request(
            "POST", f"/api/v1/workflows/{quote(self.namespace)}/submit", body, f"Workflow from {template}"
        )
        return str(created["metadata"]["name"])
