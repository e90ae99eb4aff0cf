"""Running uv, and turning what it says when it fails into one line that names the step, the package and the cause.

uv resolves, finds interpreters, makes virtual environments and installs
wheels for flowship's ``@pypi``/``@conda`` environments. It comes from PyPI
(the ``uv`` package, a dependency of flowship), so its binary sits beside the
interpreter; a ``uv`` on ``PATH`` is used where the package is missing. uv never
downloads a Python build here: a version no interpreter on the machine has is
an error saying so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence

from flowship.errors import FlowshipError

__all__ = ["EnvironmentFailure", "uv_binary", "run_uv"]

# uv's ways of saying what went wrong, first match wins: a pattern over its stderr -> our cause
_NAME = r"(?P<package>[A-Za-z0-9][A-Za-z0-9_.\-]*)"
_OFFLINE = (
    "the package index cannot be reached and no lock of this environment is cached; resolve once with the "
    "network (or point UV_INDEX_URL at a reachable index)"
)
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"Because {_NAME} was not found in the package registry"), "no package of that name on the index"),
    (re.compile(rf"Because {_NAME} was not found in the cache"), _OFFLINE),
    (re.compile(rf"Failed to fetch: \S*/{_NAME}/"), _OFFLINE),
    (re.compile(r"(error sending request|Connection refused|dns error|tcp connect error)", re.IGNORECASE), _OFFLINE),
    (re.compile(rf"there is no version of {_NAME}"), "no version satisfies the pin"),
    (
        re.compile(rf"Because {_NAME}\S* has no usable wheels"),
        "no wheel of it for Linux, and deployed tasks install wheels only (no compiler, no index); pin a "
        "version that has one, or install it in the image and leave it out of the decorator",
    ),
    (re.compile(rf"Because (?:only )?{_NAME}[<>=!~]"), "no version satisfies the pins"),
    (
        re.compile(r"No interpreter found for Python (?P<python>[0-9.]+)"),
        "no Python {python} on this machine (flowship never downloads Python builds); install it, or change "
        "python= to a version installed here",
    ),
    (re.compile(r"No solution found"), "no versions satisfy the pins together"),
)


class EnvironmentFailure(FlowshipError):
    """A step's environment could not be resolved or created; the message names the step, package and cause."""


def uv_binary() -> str:
    """The uv that came with flowship (the ``uv`` package), else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvironmentFailure("uv is not installed: pip install uv (flowship builds @pypi/@conda environments with it)")


def _cause(stderr: str) -> tuple[str | None, str]:
    for pattern, cause in _CAUSES:
        match = pattern.search(stderr)
        if match:
            return match.groupdict().get("package"), cause.format(**match.groupdict())
    return None, "uv failed"


def _detail(stderr: str) -> str:
    """uv's own explanation, on one line (its hints dropped)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.strip().startswith("hint:")]
    text = " ".join(line.removeprefix("error: ").removeprefix("×").strip() for line in lines)
    text = re.sub(r"\s+", " ", text).replace("╰─▶", "").strip()
    return text[:600]


def run_uv(args: Sequence[str], *, what: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run ``uv ARGS``; its stdout. A failure is an :class:`EnvironmentFailure` that starts with ``what`` (the
    step and decorator), then the package uv complained about and why."""
    variables = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1", **(env or {})}
    variables.pop("VIRTUAL_ENV", None)  # uv must act on the environment it is given, never on the caller's
    done = subprocess.run([uv_binary(), *args], input=stdin, capture_output=True, text=True, env=variables, check=False)
    if done.returncode == 0:
        return done.stdout
    package, cause = _cause(done.stderr)
    named = f" package '{package}':" if package and not package[0].isdigit() else ""
    raise EnvironmentFailure(f"{what}:{named} {cause} — uv said: {_detail(done.stderr)}")
