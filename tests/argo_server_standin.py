"""A loopback stand-in for the Argo Server's REST API, over TLS with a certificate made for the test.

It is not the Argo Server: it serves the documented endpoints `flow deploy`,
`flow trigger` and `flow delete` use (``/api/v1/workflow-templates``,
``/api/v1/cron-workflows``, ``/api/v1/workflows/{ns}/submit``), checks the
bearer token, checks every object it is sent against Argo's own CRD schema
(strict) before storing it, keeps resourceVersions as the API server does,
and answers errors as the Argo Server does (``{"code": <gRPC code>,
"message": ...}`` with the matching HTTP status).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import secrets
import ssl
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from argo.schema import schema_errors
from json_handler import JsonHandler

_COLLECTIONS = {
    "workflow-templates": ("WorkflowTemplate", "template"),
    "cron-workflows": ("CronWorkflow", "cronWorkflow"),
}
_PATH = re.compile(r"^/api/v1/(workflow-templates|cron-workflows|workflows)/([^/]+)(?:/([^/?]+))?$")
_GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6}


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "argo-server stand-in")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "argo-server.crt", folder / "argo-server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class ArgoServerStandIn:
    def __init__(self, folder: Path, crds: Path, token: str = "s3cr3t-token") -> None:
        self.token, self.crds = token, crds
        self.objects: dict[tuple[str, str, str], dict] = {}  # (namespace, collection, name) -> object
        self.submitted: list[dict] = []  # the submit requests, as sent
        self.certificate, key = make_certificate(folder)
        standin = self

        class Handler(JsonHandler):

            def error(self, code: int, message: str) -> None:
                self.reply(code, {"code": _GRPC.get(code, 2), "message": message})

            def route(self) -> tuple[str, str, str | None] | None:
                if self.headers.get("Authorization") != f"Bearer {standin.token}":
                    self.error(401, "token not valid")
                    return None
                match = _PATH.match(self.path)
                if not match:
                    self.error(404, "Not Found")
                    return None
                collection, namespace, name = match.groups()
                return collection, namespace, name

            def checked(self, collection: str, namespace: str, body: dict) -> dict | None:
                kind, key = _COLLECTIONS[collection]
                document = body.get(key)
                if body.get("namespace") != namespace or not isinstance(document, dict) or document.get("kind") != kind:
                    self.error(400, f"the body needs namespace and {key} (a {kind})")
                    return None
                errors = schema_errors(standin.crds, document)
                if errors:
                    self.error(400, f"{kind} is invalid: {errors[0]}")
                    return None
                return document

            def do_GET(self) -> None:
                route = self.route()
                if route:
                    found = standin.objects.get((route[1], route[0], route[2] or ""))
                    if found is None:
                        self.error(404, f'{route[0]} "{route[2]}" not found')
                    else:
                        self.reply(200, found)

            def do_POST(self) -> None:
                route = self.route()
                if not route:
                    return
                collection, namespace, name = route
                body = self.body()
                if collection == "workflows" and name == "submit":
                    self.submit(namespace, body)
                    return
                document = self.checked(collection, namespace, body)
                if document is None:
                    return
                key = (namespace, collection, document["metadata"]["name"])
                if key in standin.objects:
                    self.error(409, f'"{key[2]}" already exists')
                    return
                document["metadata"]["resourceVersion"] = "1"
                standin.objects[key] = document
                self.reply(200, document)

            def submit(self, namespace: str, body: dict) -> None:
                template = standin.objects.get((namespace, "workflow-templates", body.get("resourceName", "")))
                if body.get("resourceKind") != "WorkflowTemplate" or template is None:
                    self.error(404, f'workflowtemplates.argoproj.io "{body.get("resourceName")}" not found')
                    return
                declared = {p["name"] for p in template["spec"].get("arguments", {}).get("parameters", [])}
                for parameter in body.get("submitOptions", {}).get("parameters", []):
                    if parameter.split("=", 1)[0] not in declared:
                        self.error(400, f"parameter {parameter.split('=', 1)[0]} is not declared")
                        return
                standin.submitted.append(body)
                name = f"{body['resourceName'][:57]}-{secrets.token_hex(3)[:5]}"
                self.reply(200, {"metadata": {"name": name, "namespace": namespace}})

            def do_PUT(self) -> None:
                route = self.route()
                if not route:
                    return
                collection, namespace, name = route
                document = self.checked(collection, namespace, self.body())
                if document is None:
                    return
                current = standin.objects.get((namespace, collection, name or ""))
                version = document["metadata"].get("resourceVersion")
                if current is None or version != current["metadata"]["resourceVersion"]:
                    self.error(409, "the object has been modified; please apply your changes to the latest version")
                    return
                document["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
                standin.objects[(namespace, collection, name or "")] = document
                self.reply(200, document)

            def do_DELETE(self) -> None:
                route = self.route()
                if route:
                    if standin.objects.pop((route[1], route[0], route[2] or ""), None) is None:
                        self.error(404, f'"{route[2]}" not found')
                    else:
                        self.reply(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
