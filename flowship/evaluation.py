"""Importing a flow module to evaluate its arguments: the child process, its time limit, and what it answers.

``compiler/evaluate.py`` says what to ask and uses the answer; this module
does the I/O. The import runs user code, so it happens in a process of its
own (``flowship/evaluation_child.py``), in a session of its own so that a
timeout stops everything the module started, and it answers in a file (the
module's stdout is its own).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import tokenize
from typing import Any

from flowship.compiler.evaluate import Evaluation, EvaluationInputs, apply_result, described, evaluation_request
from flowship.compiler.parse import ParsedFlow, parse_flow_source
from flowship.errors import FlowshipError
from flowship.runtime.runs import current_user

__all__ = ["evaluate_flow", "declares_configs", "TIMEOUT_VARIABLE", "DEFAULT_TIMEOUT_SECONDS"]

# Importing a module that loads a large library (torch, tensorflow) from a cold disk takes tens of seconds;
# a module that waits on a network or on input never finishes. A minute allows the first and catches the second.
DEFAULT_TIMEOUT_SECONDS = 60
TIMEOUT_VARIABLE = "FLOWSHIP_EVALUATE_TIMEOUT"
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _NoAnswer(Exception):
    """The child gave no answer: (message, fix)."""


def _timeout() -> float:
    text = os.environ.get(TIMEOUT_VARIABLE)
    if not text:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        raise FlowshipError(f"{TIMEOUT_VARIABLE}={text!r}: give a number of seconds") from None
    if seconds <= 0:
        raise FlowshipError(f"{TIMEOUT_VARIABLE}={text!r}: give a positive number of seconds")
    return seconds


def _run_child(request: dict[str, Any], what: str, file: str) -> dict[str, Any]:
    seconds = _timeout()
    env = dict(os.environ)  # the child imports this same flowship, whatever the current folder
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="flowship-evaluate-") as folder:
        result_path = os.path.join(folder, "result.json")
        child = subprocess.Popen(
            [sys.executable, "-m", "flowship.evaluation_child", result_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        try:
            stdout, stderr = child.communicate(json.dumps(request).encode(), timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            _relay(*child.communicate())
            raise _NoAnswer(
                f"importing {file} to evaluate {what} did not finish within {seconds:g} s",
                "keep the module's top level quick (do the work in steps), or allow more time: "
                f"{TIMEOUT_VARIABLE}=SECONDS (default {DEFAULT_TIMEOUT_SECONDS})",
            ) from None
        _relay(stdout, stderr)
        try:
            with open(result_path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise _NoAnswer(
                f"importing {file} to evaluate {what} ended its process (exit code {child.returncode})",
                "what it printed last: " + " | ".join(tail) if tail else "import the module yourself to see why",
            ) from None


def _relay(stdout: bytes, stderr: bytes) -> None:
    """What the module printed while it was imported, shown as Metaflow shows it, on stderr: a command's stdout
    (a manifest from `flow compile`) stays its own."""
    text = (stdout + stderr).decode("utf-8", "replace")
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()


def evaluate_flow(flow: ParsedFlow, inputs: EvaluationInputs, code_root: str | None = None) -> Evaluation:
    """Import ``flow``'s module in a child process and put the evaluated arguments into its calls."""
    if inputs.datastore is None and os.environ.get("FLOWSHIP_DATASTORE"):
        inputs = dataclasses.replace(inputs, datastore=os.environ["FLOWSHIP_DATASTORE"])
    if inputs.answer is not None:  # a deployed start task: the deployment's values, exactly
        return apply_result(flow, inputs, dict(inputs.answer), None)
    request = evaluation_request(flow, inputs, user_name=current_user(), code_root=code_root)
    try:
        return apply_result(flow, inputs, _run_child(request, described(flow), flow.file), None)
    except _NoAnswer as exc:
        return apply_result(flow, inputs, None, exc.args)


def declares_configs(flow_file: str) -> bool:
    """Whether the flow in ``flow_file`` declares a Config (read from the source; False when it cannot be read)."""
    try:
        with tokenize.open(flow_file) as handle:
            return bool(parse_flow_source(handle.read(), flow_file).configs)
    except (OSError, UnicodeDecodeError, SyntaxError):
        return False  # the check that follows says what is wrong with the file
