"""Reading flow files from disk for the compiler, with errors a user can act on.

Every task reads its flow file (:func:`module_reader`), so the front end (and networkx with it) is imported only
by the functions that check a whole flow.
"""

from __future__ import annotations

import os
import sys
import tokenize
from typing import TYPE_CHECKING

from flowship.compiler.parse import ModuleReader, RawCall
from flowship.errors import FlowDefinitionError, FlowshipError

if TYPE_CHECKING:
    from flowship.compiler import CheckResult, FlowIR
    from flowship.compiler.evaluate import EvaluationInputs

__all__ = ["check_flow_file", "load_flow", "module_reader"]

_MAX_MODULE_BYTES = 4 * 2**20  # a base class lives in an ordinary module; nothing larger is read


def module_reader(flow_file: str) -> ModuleReader:
    """Finds the modules a flow imports its base classes from, as its tasks import them (never runs them).

    A task puts the flow's folder, then its project's root, before the interpreter's own path; modules are
    looked for in that order. Paths of modules beside the flow are named the way the flow file was given.
    """
    from flowship.runtime.package_files import project_root

    folder = os.path.dirname(os.path.abspath(flow_file))
    roots = list(dict.fromkeys([folder, project_root(flow_file), *(p for p in sys.path if p and os.path.isdir(p))]))

    def named(path: str) -> str:
        inside = os.path.relpath(path, folder)
        return inside if inside.startswith(os.pardir) else os.path.join(os.path.dirname(flow_file), inside)

    def read(name: str, level: int, importer: str) -> tuple[str, str] | None:
        parts = [p for p in name.split(".") if p]
        if level:
            base = os.path.dirname(os.path.abspath(importer))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            places = [base]
        else:
            places = roots
        for root in places:
            stem = os.path.join(root, *parts)
            for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
                if os.path.isfile(candidate) and os.path.getsize(candidate) <= _MAX_MODULE_BYTES:
                    try:
                        with tokenize.open(candidate) as handle:
                            return handle.read(), named(os.path.abspath(candidate))
                    except (OSError, UnicodeDecodeError, SyntaxError):
                        return None
        return None

    return read


def check_flow_file(
    path: str, inputs: EvaluationInputs | None = None, with_decorators: tuple[RawCall, ...] = ()
) -> CheckResult:
    """Check the flow in ``path``; problems name the file as ``path`` was given.

    Arguments that are not literals are evaluated by importing the module (``flowship/evaluation.py``), with
    ``inputs`` (config values given, deploy time or not); ``with_decorators`` are ``--with``'s.
    """
    from flowship.runtime.package_files import project_root

    if not os.path.isfile(path):
        raise FlowshipError(f"{path}: no such flow file — give the path of a .py file that defines a FlowSpec")
    try:
        with tokenize.open(path) as handle:  # the encoding Python would use: a BOM, a coding line, else UTF-8
            source = handle.read()
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:  # SyntaxError: an unknown coding line
        raise FlowshipError(f"{path}: cannot read the flow file ({exc}) — check its permissions and encoding") from None
    from flowship.compiler import check_flow_source
    from flowship.compiler.evaluate import EvaluationInputs
    from flowship.evaluation import evaluate_flow

    chosen = inputs or EvaluationInputs()
    return check_flow_source(
        source,
        path,
        lambda flow: evaluate_flow(flow, chosen, project_root(path)),
        with_decorators,
        module_reader(path),
    )


def load_flow(path: str, inputs: EvaluationInputs | None = None) -> FlowIR:
    """The IR of the flow in ``path``, or :class:`FlowDefinitionError` listing every error."""
    result = check_flow_file(path, inputs)
    if result.ir is None:
        raise FlowDefinitionError(result.problems)
    return result.ir
