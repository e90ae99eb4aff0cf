"""A loopback stand-in for the few Kubernetes API endpoints `flow deploy`/`flow trigger` use.

It is not Kubernetes: it stores namespaced objects (argoproj.io's, and the
ServiceAccount, Role and RoleBinding of ``--rbac``) in memory and
answers get, create (with generateName), replace (with resourceVersion
checks) and delete the way the API server does, so the real `kubernetes` client can be
exercised end to end. ``mode`` simulates a forbidden user, a user with Argo's rights only
(``rbac-forbidden``: Kubernetes' ``edit`` role), or missing CRDs.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from json_handler import JsonHandler

_PATH = re.compile(r"^/(?:apis/[^/]+|api)/v[^/]+/namespaces/([^/]+)/([^/]+)(?:/([^/?]+))?")


class StandIn:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.mode = "ok"
        standin = self

        class Handler(JsonHandler):

            def status(self, code: int, reason: str, message: str) -> None:
                self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                                  "message": message, "code": code})

            def route(self):
                if standin.mode == "rbac-forbidden" and "/argoproj.io/" not in self.path:
                    self.status(403, "Forbidden", "forbidden: user cannot get resource in API group rbac")
                    return None
                if standin.mode == "forbidden":
                    self.status(403, "Forbidden", "forbidden: user cannot access argoproj.io")
                    return None
                match = _PATH.match(self.path)
                if (standin.mode == "no-crds" and "/argoproj.io/" in self.path) or not match:
                    self.status(404, "NotFound", "the server could not find the requested resource")
                    return None
                return match.groups()

            def do_GET(self) -> None:
                route = self.route()
                if route:
                    found = standin.objects.get(route)
                    if found is None:
                        self.status(404, "NotFound", f'{route[1]}.argoproj.io "{route[2]}" not found')
                    else:
                        self.reply(200, found)

            def do_POST(self) -> None:
                route = self.route()
                if route:
                    body = self.body()
                    meta = body["metadata"]
                    meta.setdefault("name", meta.get("generateName", "") + secrets.token_hex(3)[:5])
                    key = (route[0], route[1], meta["name"])
                    if key in standin.objects:
                        self.status(409, "AlreadyExists", f'"{meta["name"]}" already exists')
                        return
                    meta["resourceVersion"] = "1"
                    standin.objects[key] = body
                    self.reply(201, body)

            def do_PUT(self) -> None:
                route = self.route()
                if route:
                    body = self.body()
                    current = standin.objects.get(route)
                    if current is None or body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                        self.status(409, "Conflict", "the object has been modified")
                        return
                    body["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
                    standin.objects[route] = body
                    self.reply(200, body)

            def do_DELETE(self) -> None:
                route = self.route()
                if route:
                    if standin.objects.pop(route, None) is None:
                        self.status(404, "NotFound", f'{route[1]}.argoproj.io "{route[2]}" not found')
                    else:
                        self.reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, folder: Path, namespace: str = "ml") -> Path:
        path = folder / "kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "standin",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "tester", "namespace": namespace}}],
            "users": [{"name": "tester", "user": {"token": "not-a-secret"}}],
        }))
        return path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
