"""Vendor Vega, Vega-Lite and vega-embed into flowship/cards/static/ so cards draw charts offline.

A card with a VegaChart inlines these scripts, so it opens from a file with
no network; ``pip install flowship`` needs no npm because the files are
committed. Run this script (it needs npm and the npm registry) to change the
pinned versions below: it packs each package into a temporary folder, copies
its minified browser build and its LICENSE, and writes ``manifest.json`` with
every file's version and sha256. ``--check`` verifies the committed files
against the manifest without npm.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "flowship" / "cards" / "static"
# package -> (pinned version, the minified build that defines its browser global)
PACKAGES = {
    "vega": ("6.4.0", "build/vega.min.js"),
    "vega-lite": ("6.4.3", "build/vega-lite.min.js"),
    "vega-embed": ("7.3.0", "build/vega-embed.min.js"),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendor() -> dict:
    STATIC.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"packages": {}}
    with tempfile.TemporaryDirectory() as work:
        for name, (version, build) in PACKAGES.items():
            out = subprocess.run(
                ["npm", "pack", f"{name}@{version}", "--json"], cwd=work, check=True, capture_output=True, text=True
            )
            tarball = Path(work) / json.loads(out.stdout)[0]["filename"]
            with tarfile.open(tarball) as archive:
                archive.extractall(Path(work) / name, filter="data")
            package = Path(work) / name / "package"
            files = {"script": f"{name}.min.js", "license": f"{name}.LICENSE"}
            shutil.copyfile(package / build, STATIC / files["script"])
            shutil.copyfile(package / "LICENSE", STATIC / files["license"])
            manifest["packages"][name] = {
                "version": version,
                "license": json.loads((package / "package.json").read_text())["license"],
                "files": {kind: {"name": f, "sha256": _sha256(STATIC / f)} for kind, f in files.items()},
            }
    (STATIC / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def check() -> list[str]:
    """What differs between the committed files and the manifest (empty: they match)."""
    manifest = json.loads((STATIC / "manifest.json").read_text())
    problems = []
    for name, entry in manifest["packages"].items():
        if entry["version"] != PACKAGES[name][0]:
            problems.append(f"{name}: manifest has {entry['version']}, this script pins {PACKAGES[name][0]}")
        for record in entry["files"].values():
            path = STATIC / record["name"]
            if not path.exists() or _sha256(path) != record["sha256"]:
                problems.append(f"{record['name']}: missing, or not the file the manifest names")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the vendored files; do not fetch")
    if parser.parse_args().check:
        problems = check()
        print("\n".join(problems) or "vendored Vega files match the manifest")
        return 1 if problems else 0
    for name, entry in vendor()["packages"].items():
        print(f"{name} {entry['version']} ({entry['license']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
