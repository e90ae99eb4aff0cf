"""Compile every example for Argo and for Airflow into examples/argo/ and examples/airflow/.

Run: python scripts/compile_examples.py            (rewrites the files)
     python scripts/compile_examples.py --check    (exit 1 when a file differs; the test suite runs this)

The files are real `flow compile` output, as a team would commit them for review or a GitOps tool, for a
store in S3 and an image built with docker/Dockerfile; @project flows are compiled for production. They are
compiled with --no-upload: before they can run, `flow deploy` (or `flow compile` without --no-upload, with
the same --datastore) puts each example's code package in that store.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from flowship.deploy import DeploySettings, build_deployment
from flowship.flowfile import load_flow

HERE = Path(__file__).resolve().parent.parent / "examples"
SETTINGS = {"datastore": "s3://flowship-examples/store", "image": "ghcr.io/flowship/examples:0.1.0"}


def outputs() -> dict[Path, str]:
    files = {}
    for source in sorted(HERE.glob("*.py")):
        ir = load_flow(str(source.relative_to(HERE.parent)))
        for target, folder in (("argo", "argo"), ("airflow", "airflow")):
            settings = DeploySettings(target, production=ir.project is not None, **SETTINGS)
            compiled = build_deployment(str(source), ir, settings).compiled
            if compiled.errors:
                raise SystemExit(f"{source.name} does not compile for {target}: {compiled.errors}")
            suffix = ".yaml" if target == "argo" else ".py"
            files[HERE / folder / f"{source.stem}{suffix}"] = compiled.text
    return files


def main(check: bool) -> int:
    stale = []
    for path, text in outputs().items():
        if check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                stale.append(path)
                sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                           str(path), "compiled now", n=1))
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"{len(stale)} example outputs are stale: python scripts/compile_examples.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
