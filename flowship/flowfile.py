"""Reading flow files from disk for the compiler, with errors a user can act on."""

from __future__ import annotations

import os
import tokenize

from flowship.compiler import CheckResult, FlowIR, check_flow_source
from flowship.compiler.parse import RawCall
from flowship.errors import FlowDefinitionError, FlowshipError

__all__ = ["check_flow_file", "load_flow"]


def check_flow_file(path: str, with_decorators: tuple[RawCall, ...] = ()) -> CheckResult:
    """Check the flow in ``path``; problems name the file as ``path`` was given."""
    if not os.path.isfile(path):
        raise FlowshipError(f"{path}: no such flow file — give the path of a .py file that defines a FlowSpec")
    try:
        with tokenize.open(path) as handle:  # the encoding Python would use: a BOM, a coding line, else UTF-8
            source = handle.read()
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:  # SyntaxError: an unknown coding line
        raise FlowshipError(f"{path}: cannot read the flow file ({exc}) — check its permissions and encoding") from None
    return check_flow_source(source, path, with_decorators)


def load_flow(path: str) -> FlowIR:
    """The IR of the flow in ``path``, or :class:`FlowDefinitionError` listing every error."""
    result = check_flow_file(path)
    if result.ir is None:
        raise FlowDefinitionError(result.problems)
    return result.ir
