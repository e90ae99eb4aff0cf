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
from flowship.errors import FlowDefinitionError, FlowshipError, Problem, did_you_mean

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
    result = check_flow_source(
        source,
        path,
        lambda flow: evaluate_flow(flow, chosen, project_root(path)),
        with_decorators,
        module_reader(path),
    )
    if result.ir is None or result.ir.triggers is None or not result.ir.triggers.finishes:
        return result
    import dataclasses

    return dataclasses.replace(result, problems=result.problems + tuple(_unknown_upstreams(result.ir, path)))


def _unknown_upstreams(ir: FlowIR, path: str) -> list[Problem]:
    """@trigger_on_finish on a flow of its own project that no flow file beside it defines: a warning (the upstream
    may live elsewhere), since a misspelt name would wait for ever."""
    from flowship.compiler.parse import parse_flow_source

    project = ir.project.name if ir.project else None
    folder = os.path.dirname(path) or "."
    known: set[tuple[str, str | None]] = set()  # (flow name, its @project name) of the flow files beside this one
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or not os.path.isfile(os.path.join(folder, name)):
            continue
        try:
            with tokenize.open(os.path.join(folder, name)) as handle:
                parsed = parse_flow_source(handle.read(), name)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        if parsed.name:
            calls = [c for c in parsed.flow_decorators if c.name == "project"]
            known.add((parsed.name, calls[0].kwargs.get("name") if calls else None))
    assert ir.triggers is not None
    problems = []
    for upstream in ir.triggers.finishes:
        if (upstream.project or project) != project or (upstream.flow, project) in known:
            continue
        ours = [n for n, p in known if p == project and n != ir.name]
        where = f"in project {project!r}" if project else "without @project"
        beside = os.path.basename(path)
        problems.append(
            Problem(
                path,
                ir.triggers.line,
                f"@trigger_on_finish: no flow {upstream.flow} {where} in the flow files beside {beside}",
                (did_you_mean(upstream.flow, ours).replace(" — did you mean", "did you mean") or "check the name")
                + "; a flow of another project is named project.branch.FlowName",
                "warning",
            )
        )
    return problems


def load_flow(path: str, inputs: EvaluationInputs | None = None) -> FlowIR:
    """The IR of the flow in ``path``, or :class:`FlowDefinitionError` listing every error."""
    result = check_flow_file(path, inputs)
    if result.ir is None:
        raise FlowDefinitionError(result.problems)
    return result.ir
