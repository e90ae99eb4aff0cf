"""Reading flow files from disk for the compiler, with errors a user can act on."""

from __future__ import annotations

import os
import tokenize

from flowship.compiler import CheckResult, FlowIR, check_flow_source
from flowship.compiler.evaluate import EvaluationInputs
from flowship.errors import FlowDefinitionError, FlowshipError
from flowship.evaluation import evaluate_flow

__all__ = ["check_flow_file", "load_flow"]


def check_flow_file(path: str, inputs: EvaluationInputs | None = None) -> CheckResult:
    """Check the flow in ``path``; problems name the file as ``path`` was given.

    Arguments that are not literals are evaluated by importing the module (``flowship/evaluation.py``), with
    ``inputs`` (config values given, deploy time or not).
    """
    from flowship.runtime.package_files import project_root

    if not os.path.isfile(path):
        raise FlowshipError(f"{path}: no such flow file — give the path of a .py file that defines a FlowSpec")
    try:
        with tokenize.open(path) as handle:  # the encoding Python would use: a BOM, a coding line, else UTF-8
            source = handle.read()
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:  # SyntaxError: an unknown coding line
        raise FlowshipError(f"{path}: cannot read the flow file ({exc}) — check its permissions and encoding") from None
    chosen = inputs or EvaluationInputs()
    return check_flow_source(source, path, lambda flow: evaluate_flow(flow, chosen, project_root(path)))


def load_flow(path: str, inputs: EvaluationInputs | None = None) -> FlowIR:
    """The IR of the flow in ``path``, or :class:`FlowDefinitionError` listing every error."""
    result = check_flow_file(path, inputs)
    if result.ir is None:
        raise FlowDefinitionError(result.problems)
    return result.ir
