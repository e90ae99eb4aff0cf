"""Which files a code package holds: the flow's own project, and nothing that is not its code.

The root is the nearest folder, from the flow file's up, holding a
``pyproject.toml`` or a ``.git`` (else the flow file's folder), so a flow can
import its project's modules wherever it runs. Below the root, files ending
in ``.py`` (plus ``FLOWSHIP_PACKAGE_SUFFIXES``, e.g. ``.yaml,.sql``) are
taken, except:

- what ``.gitignore`` and ``.flowshipignore`` files exclude (git's syntax,
  each file for its own folder and below);
- hidden files and folders (``.env``, ``.secret.py``, ``.git/``, ``.flowship/``),
  virtual environments (a folder with ``pyvenv.cfg`` or ``conda-meta``),
  ``site-packages``, ``__pycache__`` and ``node_modules``;
- symbolic links that lead outside the root (a credentials file linked in);
- files flowship generated (a DAG file compiled into the project).

The total is capped (``FLOWSHIP_PACKAGE_MAX_MB``, default 64): a project too
large to ship with every run is an error that names its largest files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pathspec import GitIgnoreSpec

from flowship.compiler.targets.base import GENERATED_MARKER
from flowship.errors import FlowshipError

__all__ = ["PackageFiles", "package_files", "project_root"]

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages"}
_ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")
_IGNORE_FILES = (".gitignore", ".flowshipignore")
_DEFAULT_MAX_MB = 64


@dataclass(frozen=True)
class PackageFiles:
    root: str  # absolute
    files: tuple[str, ...]  # relative to the root, "/"-separated, sorted
    size: int  # bytes, before compression

    def flow_path(self, flow_file: str) -> str:
        return os.path.relpath(os.path.abspath(flow_file), self.root).replace(os.sep, "/")


def project_root(flow_file: str) -> str:
    folder = os.path.dirname(os.path.abspath(flow_file))
    candidate = folder
    while True:
        if any(os.path.exists(os.path.join(candidate, marker)) for marker in ("pyproject.toml", ".git")):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return folder
        candidate = parent


def _suffixes() -> tuple[str, ...]:
    extra = [s.strip() for s in os.environ.get("FLOWSHIP_PACKAGE_SUFFIXES", "").split(",") if s.strip()]
    return (".py", *(s if s.startswith(".") else f".{s}" for s in extra))


Specs = list[tuple[str, GitIgnoreSpec]]  # (the ignore file's folder, relative to the root; its patterns)


def _ignore_specs(folder: str, relative: str) -> Specs:
    specs: Specs = []
    for name in _IGNORE_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as handle:
                specs.append((relative, GitIgnoreSpec.from_lines(handle.read().splitlines())))
    return specs


def _ignored(path: str, is_dir: bool, specs: Specs) -> bool:
    """git's rule: the deepest ignore file with an opinion decides, the last matching line within it."""
    verdict = False
    for base, spec in specs:
        inside = path[len(base) + 1 :] if base else path
        result = spec.check_file(inside + ("/" if is_dir else ""))
        if result.include is not None:
            verdict = result.include
    return verdict


def _is_generated(path: str) -> bool:
    with open(path, "rb") as handle:
        return GENERATED_MARKER.encode() in handle.read(512)


def package_files(flow_file: str) -> PackageFiles:
    root = project_root(flow_file)
    suffixes = _suffixes()
    found: list[tuple[str, int]] = []
    stack = [("", root, _ignore_specs(root, ""))]
    while stack:
        relative, folder, specs = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue  # gone since it was listed (a temporary folder), or not ours to read: nothing to ship
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            if entry.name.startswith("."):
                continue
            if entry.is_symlink() and (entry.is_dir() or not os.path.realpath(entry.path).startswith(root + os.sep)):
                continue  # a linked folder (it may loop) or a link leading outside the project: never shipped
            if entry.is_dir():
                if entry.name in _SKIP_DIRS or _ignored(path, True, specs):
                    continue
                if any(os.path.exists(os.path.join(entry.path, m)) for m in _ENVIRONMENT_MARKERS):
                    continue
                stack.append((path, entry.path, specs + _ignore_specs(entry.path, path)))
            elif entry.name.endswith(suffixes) and not _ignored(path, False, specs):
                try:
                    if not _is_generated(entry.path):
                        found.append((path, entry.stat().st_size))
                except (FileNotFoundError, PermissionError):
                    continue
    found.sort()
    size = sum(s for _, s in found)
    limit = float(os.environ.get("FLOWSHIP_PACKAGE_MAX_MB", _DEFAULT_MAX_MB)) * 2**20
    if size > limit:
        largest = ", ".join(f"{p} ({s / 2**20:.1f} MiB)" for p, s in sorted(found, key=lambda f: -f[1])[:3])
        raise FlowshipError(
            f"the code package of {flow_file} would hold {size / 2**20:.1f} MiB from {root}, over the "
            f"{limit / 2**20:.0f} MiB cap; largest: {largest} — exclude files in a .flowshipignore (git's syntax), "
            "or raise FLOWSHIP_PACKAGE_MAX_MB"
        )
    return PackageFiles(root, tuple(p for p, _ in found), size)
