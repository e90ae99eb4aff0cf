"""Turns a flow file's source into checked IR and target text; pure, no I/O.

The front end (:func:`check_flow_source`) parses, checks and builds the IR.
Its names are loaded on first use: importing ``flowship`` (which every task
process does) must not pay for networkx.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CheckResult", "check_flow_source", "FlowIR", "ParameterIR", "StepIR"]

_HOMES = {
    "CheckResult": "flowship.compiler.frontend",
    "check_flow_source": "flowship.compiler.frontend",
    "FlowIR": "flowship.compiler.ir",
    "ParameterIR": "flowship.compiler.ir",
    "StepIR": "flowship.compiler.ir",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'flowship.compiler' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
