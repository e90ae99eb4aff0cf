"""What a target is: a name, a table of what it honours, and a generator from IR to documents.

A target subclass holds data — its ``SUPPORTS`` table (every feature in
``compiler/features.py`` mapped, honoured inside the task, or unsupported
with the reason), its options and modes — and a ``generate`` function. The
shared :meth:`Target.compile` reports every unsupported feature a flow uses,
naming the step, the attribute and the target, before anything is generated,
so nothing a user wrote is silently dropped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from flowship.compiler.features import used_features
from flowship.compiler.ir import FlowIR
from flowship.compiler.targets.shared import DeployOptions
from flowship.errors import HasProblems, Problem

__all__ = [
    "Target",
    "TargetOption",
    "Unsupported",
    "Support",
    "MAPPED",
    "IN_TASK",
    "Document",
    "Compiled",
    "unsupported_features",
]

MAPPED = "mapped"  # the target's output carries the feature
IN_TASK = "in-task"  # the step command honours it inside the task, from the run's IR, on every scheduler


@dataclass(frozen=True)
class Unsupported:
    """A feature this target cannot honour: an error, or a warning where its meaning is kept."""

    severity: Literal["error", "warning"]
    reason: str
    fix: str
    when: Callable[[Any, DeployOptions], bool] | None = None  # unsupported only when this holds for the value


Support = str | Unsupported


@dataclass(frozen=True)
class TargetOption:
    """An option of ``flow compile``/``deploy`` that only this target reads (``--<name>``)."""

    name: str
    help: str
    choices: tuple[str, ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class Document:
    """One object the target produces: a Kubernetes object (a dict) or a file's text."""

    kind: str
    name: str
    body: Any


@dataclass(frozen=True)
class Compiled(HasProblems):
    target: str
    name: str  # the deployment's main object: WorkflowTemplate name, DAG id
    documents: tuple[Document, ...]
    text: str
    problems: tuple[Problem, ...]
    options: DeployOptions


class Target(ABC):
    name: ClassVar[str]
    suffix: ClassVar[str]  # of the file `flow compile -o FOLDER/` writes
    options: ClassVar[tuple[TargetOption, ...]] = ()
    modes: ClassVar[tuple[Mapping[str, str], ...]] = ({},)  # option values that change what is supported

    @abstractmethod
    def supports(self, options: DeployOptions) -> Mapping[str, Support]:
        """Feature key -> support, for the mode ``options`` select; every key of FEATURES must be present."""

    @abstractmethod
    def deployment_name(self, ir: FlowIR, options: DeployOptions) -> str: ...

    @abstractmethod
    def generate(self, ir: FlowIR, options: DeployOptions) -> list[Document]: ...

    @abstractmethod
    def render(self, documents: list[Document]) -> str: ...

    def check(self, ir: FlowIR, documents: list[Document], text: str) -> list[Problem]:
        """Problems the target finds in its own output (e.g. Argo's lint rules); none by default."""
        return []

    def label(self, options: DeployOptions) -> str:
        """How messages name the target in the mode ``options`` select: ``airflow --operator local``."""
        mode = " ".join(
            f"--{o.name} {options.target_options[o.name]}"
            for o in self.options
            if o.choices and options.target_options.get(o.name) not in (None, o.default)
        )
        return f"{self.name} {mode}".strip()

    def unsupported(self, ir: FlowIR, options: DeployOptions) -> list[Problem]:
        return _schedule_problems(ir) + unsupported_features(ir, self.supports(options), self.label(options), options)

    def compile(self, ir: FlowIR, options: DeployOptions) -> Compiled:
        problems = self.unsupported(ir, options)
        name = self.deployment_name(ir, options)
        if any(p.is_error for p in problems):
            return Compiled(self.name, name, (), "", tuple(problems), options)
        documents = self.generate(ir, options)
        text = self.render(documents)
        problems += self.check(ir, documents, text)
        return Compiled(self.name, name, tuple(documents), text, tuple(problems), options)


def unsupported_features(
    ir: FlowIR, table: Mapping[str, Support], label: str, options: DeployOptions | None = None
) -> list[Problem]:
    """One problem per reason and step (or parameter), naming every feature it covers, at the line that uses it."""
    found: dict[tuple[str, str], tuple[int, Unsupported, list[str], Any]] = {}
    for used in used_features(ir):
        support = table[used.feature.key]
        if not isinstance(support, Unsupported):
            continue
        if support.when and options is not None and not support.when(used.value, options):
            continue
        entry = found.setdefault((used.where, support.reason), (used.line, support, [], used.value))
        entry[2].append(used.feature.spelling)
    problems = []
    for (where, reason), (line, support, spellings, value) in found.items():
        message = f"{_merge_spellings(spellings)} on {where} cannot be honoured by {label}: {reason}"
        problems.append(Problem(ir.file, line, message, support.fix.format(value=value), support.severity))
    return problems


def _schedule_problems(ir: FlowIR) -> list[Problem]:
    """A scheduled run gives no parameter values, so every parameter of a scheduled flow needs a default."""
    if ir.schedule is None:
        return []
    return [
        Problem(
            ir.file,
            p.line,
            f"parameter '{p.name}' has no default, so a scheduled run cannot start the flow",
            "give it a default, or remove @schedule",
        )
        for p in ir.parameters
        if p.required
    ]


def _merge_spellings(spellings: list[str]) -> str:
    """``@resources(cpu=)`` and ``@resources(gpu=)`` read as ``@resources(cpu=, gpu=)``."""
    merged: dict[str, list[str]] = {}
    for spelling in spellings:
        head, _, args = spelling.partition("(")
        merged.setdefault(head, [])
        if args:
            merged[head].append(args.rstrip(")"))
    return " and ".join(f"{head}({', '.join(args)})" if args else head for head, args in merged.items())
