"""Making a locked environment on this machine, once, and running a task in it.

An environment is a virtual environment made by uv from its lock (versions
and hashes checked), kept under the cache by the lock's hash and reused by
every later task with that lock. A deployed environment installs from wheels
fetched from the store, with uv offline and no index; a local one from the
index, through uv's cache. flowship itself is never installed into it: the
task runs with ``PYTHONPATH`` set to a folder holding only the ``flowship``
package (a link to the running one), so the step sees its pinned packages and
nothing else of the interpreter that started it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from typing import NoReturn

import flowship
from flowship.envs import ACTIVE_VARIABLE
from flowship.envs.lock import cache_root, locked_packages
from flowship.envs.uv import run_uv

__all__ = ["interpreter_for", "ensure_environment", "flowship_path", "exec_in_environment"]


def _matches(python: str) -> bool:
    """Whether the running interpreter is the version ``python`` asks for ("3.11" any 3.11, "3.11.4" exactly)."""
    running = [str(part) for part in sys.version_info[:3]]
    return python.split(".") == running[: len(python.split("."))]


def interpreter_for(python: str | None, what: str) -> str:
    """An interpreter of version ``python`` on this machine: the running one when it fits, else one uv finds."""
    if python is None or _matches(python):
        return sys.executable
    return run_uv(["python", "find", "--no-project", python], what=what).strip()


def _requirements(lock: str) -> str:
    lines = []
    for package in locked_packages(lock):
        hashes = " ".join(f"--hash=sha256:{sha}" for sha in package.hashes)
        lines.append(f"{package.name}=={package.version} {hashes}")
    return "\n".join(lines) + "\n"


def ensure_environment(lock: str, python: str | None, what: str, wheels: str | None = None) -> str:
    """The interpreter of the environment ``lock`` describes, made now unless it exists.

    ``wheels``: install only from this folder, offline (a deployed task); None: from the index.
    """
    interpreter = interpreter_for(python, what)
    name = hashlib.sha256(f"{lock}\n{interpreter}".encode()).hexdigest()[:32]
    home = os.path.join(cache_root(), "envs", name)
    python_path = os.path.join(home, "bin", "python")
    if os.path.exists(os.path.join(home, ".complete")):
        return python_path
    os.makedirs(os.path.dirname(home), exist_ok=True)
    scratch = tempfile.mkdtemp(dir=os.path.dirname(home), prefix=".build-")
    try:
        run_uv(["venv", "--quiet", "--relocatable", "--python", interpreter, scratch], what=what)
        source = ["--offline", "--no-index", "--find-links", wheels] if wheels else []
        run_uv(
            ["pip", "install", "--quiet", "--python", os.path.join(scratch, "bin", "python"), "--no-deps"]
            + ["--require-hashes", *source, "-r", "-"],
            what=what,
            stdin=_requirements(lock),
        )
        open(os.path.join(scratch, ".complete"), "w").close()
        try:
            os.rename(scratch, home)  # atomic: of tasks making the same environment at once, one wins
        except OSError:
            pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return python_path


def flowship_path() -> str:
    """A folder holding only the running flowship package: what an environment's tasks import it from."""
    package = os.path.dirname(os.path.abspath(flowship.__file__))
    folder = os.path.join(cache_root(), "flowship", hashlib.sha256(package.encode()).hexdigest()[:16])
    if not os.path.exists(os.path.join(folder, "flowship")):
        os.makedirs(folder, exist_ok=True)
        link = tempfile.mktemp(dir=folder, prefix=".link-")
        os.symlink(package, link)
        try:
            os.rename(link, os.path.join(folder, "flowship"))
        except OSError:
            os.unlink(link)
    return folder


def exec_in_environment(python: str, environment_id: str, argv: list[str]) -> NoReturn:
    """Replace this process with ``flow step ARGV`` run by the environment's interpreter."""
    sys.stdout.flush()
    sys.stderr.flush()
    variables = {**os.environ, "PYTHONPATH": flowship_path(), "PYTHONNOUSERSITE": "1", ACTIVE_VARIABLE: environment_id}
    variables.pop("VIRTUAL_ENV", None)
    os.execve(python, [python, "-s", "-m", "flowship.envs", *argv], variables)
