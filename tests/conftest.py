"""Shared helpers: check flow source written inline, locate the shared yardstick flows."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from flowship.compiler import CheckResult, check_flow_source

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FLOWS = Path(__file__).resolve().parent / "flows"
EXAMPLES = REPO / "examples"

HEADER = "from flowship import *\n\n\n"


def check(source: str, file: str = "flow.py") -> CheckResult:
    """Check a flow written inline (dedented, with the flowship import prepended)."""
    return check_flow_source(HEADER + textwrap.dedent(source), file)


def two_step_flow(members: str = "", class_decorators: str = "", start_decorators: str = "", name: str = "F") -> str:
    """Source of the smallest valid flow (start -> end), with extra class members or decorators."""
    return f"""
{class_decorators}
class {name}(FlowSpec):
{members}
{start_decorators}
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def messages(source: str) -> list[str]:
    """Every problem of an inline flow, formatted; line numbers count the 3-line header."""
    return [str(p) for p in check(source).problems]


def shared_dir(*parts: str) -> Path:
    """A path in ../shared, or skip the test when the shared folder is absent (a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing; CI must run with ../shared beside the repository")
        pytest.skip(f"{path} not present: the shared yardstick is only beside the repository in CI")
    return path
