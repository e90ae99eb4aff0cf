"""Estimate what a wide foreach costs an Argo Workflow object: manifest size, and node status per 1,000 items.

Run: python bench/bench_argo_status.py [ITEMS ...]   (default: 1000 5000 10000)

No Argo controller runs here, so the status is estimated: for each item the
controller records a DAG node for the foreach body and a Pod node per body step
(plus a Retry node per step under @retry), with the fields Argo v4 writes
(id, name, displayName, type, templateName, phase, boundaryID, times, progress,
resourcesDuration, inputs, outputs, children, hostNodeName). Argo compresses
``status.nodes`` (gzip, then base64) once the workflow passes its size limit,
1 MiB by default (``MAX_WORKFLOW_SIZE``); the figure that matters is that
compressed size. The printout says how many items fit under 1 MiB, the limit
`flow compile --target argo --max-splits` guards (default 2,000, per foreach).
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flowship.compiler.targets.argo.manifest import compile_to_argo, render_yaml  # noqa: E402
from flowship.compiler.targets.shared import DeployOptions  # noqa: E402
from flowship.flowfile import load_flow  # noqa: E402

LIMIT = 1024 * 1024
WORKFLOW = "daily-retrain-flow-x7k2p"


def _node(rng: random.Random, name: str, kind: str, template: str, boundary: str, inputs: dict[str, str]) -> dict:
    node_id = f"{WORKFLOW}-{rng.getrandbits(32)}"
    node = {
        "id": node_id,
        "name": name,
        "displayName": name.rsplit(".", 1)[-1],
        "type": kind,
        "templateName": template,
        "templateScope": "local/",
        "phase": "Succeeded",
        "boundaryID": boundary,
        "startedAt": f"2026-12-01T00:00:{rng.randrange(60):02d}Z",
        "finishedAt": f"2026-12-01T00:01:{rng.randrange(60):02d}Z",
        "progress": "1/1",
        "resourcesDuration": {"cpu": rng.randrange(1, 99), "memory": rng.randrange(1, 999)},
        "inputs": {"parameters": [{"name": k, "value": v} for k, v in inputs.items()]},
    }
    if kind == "Pod":
        node["outputs"] = {"exitCode": "0"}
        node["hostNodeName"] = f"ip-10-0-{rng.randrange(255)}-{rng.randrange(255)}.ec2.internal"
    return node


def status_nodes(items: int, body_steps: list[tuple[str, str, bool]]) -> dict[str, dict]:
    """Node status of one foreach over ``items`` items whose body runs ``body_steps`` (step, template, retried)."""
    rng = random.Random(0)
    nodes: dict[str, dict] = {}
    for index in range(items):
        task_id = f"0.{index}"
        body = _node(rng, f"{WORKFLOW}.start-each({index}:{task_id})", "DAG", "start-body", WORKFLOW,
                     {"task-id": task_id})
        nodes[body["id"]] = body
        children = []
        for step, template, retried in body_steps:
            parent_name = f"{body['name']}.{step.replace('_', '-')}"
            inputs = {"step": step, "task-id": task_id}
            if retried:
                retry = _node(rng, parent_name, "Retry", template, body["id"], inputs)
                pod = _node(rng, f"{parent_name}(0)", "Pod", template, body["id"], inputs)
                retry["children"] = [pod["id"]]
                nodes[retry["id"]], nodes[pod["id"]] = retry, pod
                children.append(retry["id"])
            else:
                pod = _node(rng, parent_name, "Pod", template, body["id"], inputs)
                nodes[pod["id"]] = pod
                children.append(pod["id"])
        body["children"], body["outboundNodes"] = children[:1], children[-1:]
    return nodes


def compressed_size(nodes: dict[str, dict]) -> int:
    return len(base64.b64encode(gzip.compress(json.dumps(nodes, separators=(",", ":")).encode())))


def main(counts: list[int]) -> None:
    flow = load_flow(str(HERE.parent / "examples" / "daily_retrain.py"))
    options = DeployOptions(datastore="s3://bench/store", package_sha="0" * 64, flow_path="daily_retrain.py",
                            image="registry.example.com/flows:1")
    manifest = render_yaml(compile_to_argo(flow, options))
    print(f"WorkflowTemplate of examples/daily_retrain.py: {len(manifest.encode()):,} bytes (independent of width)")
    body = [(s.name, s.k8s_name, s.decorators.retry is not None) for s in flow.steps if s.foreach_depth == 1]
    print(f"foreach body: {', '.join(step for step, _, _ in body)} (@retry: "
          f"{', '.join(step for step, _, retried in body if retried) or 'none'})")
    three = [(f"step_{i}", f"step-{i}", True) for i in range(3)]
    variants = (
        ("as written", body),
        ("without @retry", [(s, t, False) for s, t, _ in body]),
        ("a body of three steps, each under @retry", three),
    )
    for variant, steps in variants:
        per_thousand = compressed_size(status_nodes(1000, steps))
        print(f"  {variant}: node status ≈ {per_thousand:,} bytes compressed per 1,000 items "
              f"({per_thousand / 1000:.0f} bytes an item); about {LIMIT * 1000 // per_thousand:,} items fit in 1 MiB")
        for count in counts:
            size = compressed_size(status_nodes(count, steps))
            verdict = "fits" if size < LIMIT else "over the limit: the workflow errors unless status is offloaded"
            print(f"    {count:>7,} items: {size:>10,} bytes compressed — {verdict}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 5000, 10000])
