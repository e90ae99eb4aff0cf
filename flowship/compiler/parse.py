"""Read a flow file's source into plain records, without running any of it.

Everything the compiler knows about a flow comes from the file's AST: the
flow class, its steps and their ``self.next(...)`` transitions, decorator and
``Parameter`` arguments (literals, or module-level constants bound to
literals; any other argument is kept as its source text, for
``compiler/evaluate.py`` to have evaluated by an import), and which
``self.<name>`` attributes each step reads and writes. Not importing the file
keeps ``flow check`` and ``flow compile`` fast, deterministic, and
independent of the flow's own dependencies.

Problems found here (syntax errors, a malformed ``self.next``) are collected,
never raised one by one.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from flowship.errors import Problem

__all__ = ["RawCall", "ParsedStep", "ParsedFlow", "parse_flow_source", "NOT_LITERAL", "FLOWSPEC_MEMBERS"]


class _NotLiteral:
    def __repr__(self) -> str:
        return "NOT_LITERAL"


NOT_LITERAL: Any = _NotLiteral()

# Attributes FlowSpec provides itself: reading them is not reading an artifact.
FLOWSPEC_MEMBERS = frozenset(
    {"next", "merge_artifacts", "foreach_stack", "input", "index", "name", "script_name", "cmd"}
)
_TYPE_NAMES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "JSONType": "json"}
_DYNAMIC_BUILTINS = {"setattr", "delattr", "vars"}
_GUARD_BUILTINS = {"hasattr", "getattr"}


@dataclass
class RawCall:
    """A decorator or Parameter call as written: its name, literal arguments and line."""

    name: str
    line: int
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    # The source text of each argument that is not a literal ("#0" for the first positional one): what
    # compiler/evaluate.py gets by importing the flow module, and how `flow check` names it.
    unevaluated: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedStep:
    name: str
    line: int
    has_inputs: bool
    decorators: list[RawCall]
    next_targets: tuple[str, ...] = ()
    next_line: int = 0
    foreach: str | None = None
    # name -> first line it is assigned; reads as (name, line) not preceded by a write here
    writes: dict[str, int] = field(default_factory=dict)
    reads: list[tuple[str, int]] = field(default_factory=list)
    dynamic: bool = False  # sets attributes by name: nothing downstream is certain
    guarded: bool = False  # probes attributes by name: its own reads are not certain
    merges: bool = False
    merge_exclude: tuple[str, ...] = ()
    merge_include: tuple[str, ...] = ()


@dataclass
class ParsedFlow:
    file: str
    name: str = ""
    line: int = 0
    steps: dict[str, ParsedStep] = field(default_factory=dict)
    parameters: list[tuple[str, RawCall]] = field(default_factory=list)  # (attribute, call)
    configs: list[tuple[str, RawCall]] = field(default_factory=list)  # Config(...): (attribute, call)
    flow_decorators: list[RawCall] = field(default_factory=list)
    class_attributes: set[str] = field(default_factory=set)
    external_bases: bool = False
    problems: list[Problem] = field(default_factory=list)


def _call_name(node: ast.expr) -> str | None:
    """``retry`` for ``retry``, ``retry(...)``, ``flowship.retry`` and ``flowship.retry(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_self_attr(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


class _Literals:
    """Evaluates literal expressions, module-level constants and type names."""

    def __init__(self, source: str = "") -> None:
        self.constants: dict[str, Any] = {}
        self.source = source

    def evaluate(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return self.constants[node.id]
            return _TYPE_NAMES.get(node.id, NOT_LITERAL)
        if isinstance(node, ast.Attribute) and node.attr == "JSONType":
            return "json"
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub)):
            left, right = self.evaluate(node.left), self.evaluate(node.right)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
                return {ast.Mult: left * right, ast.Add: left + right, ast.Sub: left - right}[type(node.op)]
            if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                return left + right
            return NOT_LITERAL
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.evaluate(e) for e in node.elts]
            return NOT_LITERAL if any(i is NOT_LITERAL for i in items) else items
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                return NOT_LITERAL
            keys = [self.evaluate(k) for k in node.keys]  # type: ignore[arg-type]
            values = [self.evaluate(v) for v in node.values]
            if any(v is NOT_LITERAL for v in keys + values):
                return NOT_LITERAL
            try:
                return dict(zip(keys, values, strict=False))
            except TypeError:
                return NOT_LITERAL
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return NOT_LITERAL

    def call(self, node: ast.expr) -> RawCall:
        name = _call_name(node) or "?"
        if not isinstance(node, ast.Call):
            return RawCall(name, node.lineno)
        raw = RawCall(
            name,
            node.lineno,
            [self.evaluate(a) for a in node.args],
            {k.arg: self.evaluate(k.value) for k in node.keywords if k.arg is not None},
        )
        given = [(f"#{i}", a) for i, a in enumerate(node.args)] + [(k.arg, k.value) for k in node.keywords if k.arg]
        for key, value_node in given:
            if (raw.args[int(key[1:])] if key.startswith("#") else raw.kwargs[key]) is NOT_LITERAL:
                raw.unevaluated[key] = ast.get_source_segment(self.source, value_node) or "..."
        return raw


class _BodyScan(ast.NodeVisitor):
    """Collects self-attribute reads and writes in evaluation order."""

    def __init__(self, methods: set[str]):
        self.methods = methods
        self.writes: dict[str, int] = {}
        self.reads: list[tuple[str, int]] = []
        self.helper_calls: list[tuple[str, int]] = []
        self.dynamic = False
        self.guarded = False
        self.next_calls: list[ast.Call] = []
        self.merge_calls: list[ast.Call] = []

    def _write(self, name: str, line: int) -> None:
        self.writes.setdefault(name, line)

    def _read(self, name: str, line: int) -> None:
        if name not in self.writes:
            self.reads.append((name, line))

    def _target(self, target: ast.expr) -> None:
        if _is_self_attr(target):
            self._write(target.attr, target.lineno)  # type: ignore[attr-defined]
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._target(elt)
        elif isinstance(target, ast.Starred):
            self._target(target.value)
        else:
            self.visit(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._target(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._target(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Attribute) and _is_self_attr(node.target):
            self._read(node.target.attr, node.lineno)
        self.visit(node.value)
        self._target(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._target(node.target)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        first = node.args[0] if node.args else None
        if (
            isinstance(func, ast.Name)
            and func.id in _DYNAMIC_BUILTINS
            and isinstance(first, ast.Name)
            and first.id == "self"
        ):
            self.dynamic = True
        if isinstance(func, ast.Name) and func.id in _GUARD_BUILTINS:
            self.guarded = True
        if _is_self_attr(func):
            name = func.attr  # type: ignore[attr-defined]
            if name == "next":
                self.next_calls.append(node)
                return
            if name == "merge_artifacts":
                self.merge_calls.append(node)
            elif name in self.methods:
                self.helper_calls.append((name, node.lineno))
            elif name not in FLOWSPEC_MEMBERS:
                self._read(name, node.lineno)
            for arg in node.args + [k.value for k in node.keywords]:
                self.visit(arg)
            return
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_self_attr(node):
            if node.attr == "__dict__":
                self.dynamic = True
            elif isinstance(node.ctx, ast.Load) and node.attr not in self.methods:
                self._read(node.attr, node.lineno)
            elif isinstance(node.ctx, ast.Store):
                self._write(node.attr, node.lineno)
            return
        self.generic_visit(node)


def _flow_classes(tree: ast.Module) -> tuple[dict[str, ast.ClassDef], set[str]]:
    """Classes that derive from FlowSpec directly or through classes in this file."""
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    flows: dict[str, ast.ClassDef] = {}
    changed = True
    while changed:
        changed = False
        for name, node in classes.items():
            if name in flows:
                continue
            if any(_call_name(b) == "FlowSpec" or _call_name(b) in flows for b in node.bases):
                flows[name] = node
                changed = True
    bases_of_others = {_call_name(b) for node in flows.values() for b in node.bases}
    return flows, {n for n in flows if n not in bases_of_others}


class _FlowReader:
    def __init__(self, source: str, file: str):
        self.source = source
        self.flow = ParsedFlow(file=file)
        self.literals = _Literals(source)

    def problem(self, line: int, message: str, fix: str = "", severity: str = "error") -> None:
        self.flow.problems.append(Problem(self.flow.file, line, message, fix, severity))  # type: ignore[arg-type]

    def read(self) -> ParsedFlow:
        try:
            tree = ast.parse(self.source, filename=self.flow.file)
        except SyntaxError as exc:
            self.problem(exc.lineno or 0, f"syntax error: {exc.msg}", "fix the Python syntax")
            return self.flow
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                value = self.literals.evaluate(node.value)
                if value is not NOT_LITERAL:
                    self.literals.constants[node.targets[0].id] = value
        flows, leaves = _flow_classes(tree)
        if not leaves:
            self.problem(
                1, "no flow class found", "define a class that derives from FlowSpec, e.g. `class MyFlow(FlowSpec):`"
            )
            return self.flow
        if len(leaves) > 1:
            names = ", ".join(sorted(leaves))
            line = min(flows[n].lineno for n in leaves)
            self.problem(line, f"more than one flow class in one file ({names})", "keep one flow per file")
            return self.flow
        (leaf,) = leaves
        self.flow.name, self.flow.line = leaf, flows[leaf].lineno
        chain = self._class_chain(flows, leaf)
        for node in chain:
            self._read_class(node)
        return self.flow

    def _class_chain(self, flows: dict[str, ast.ClassDef], leaf: str) -> list[ast.ClassDef]:
        """Base classes first, so a subclass's steps override its bases'."""
        ordered: list[ast.ClassDef] = []

        def visit(name: str) -> None:
            node = flows[name]
            for base in node.bases:
                base_name = _call_name(base)
                if base_name in flows and flows[base_name] not in ordered:
                    visit(base_name)
                elif base_name not in flows and base_name != "FlowSpec":
                    self.flow.external_bases = True
            ordered.append(node)

        visit(leaf)
        return ordered

    def _read_class(self, node: ast.ClassDef) -> None:
        if node.name == self.flow.name:
            self.flow.flow_decorators = [self.literals.call(d) for d in node.decorator_list]
        functions = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        step_functions = [f for f in functions if any(_call_name(d) == "step" for d in f.decorator_list)]
        helpers = {f.name: f for f in functions if f not in step_functions}
        for stmt in node.body:
            self._read_class_attribute(stmt)
        helper_writes = self._helper_writes(helpers)
        members = {f.name for f in functions}
        for func in step_functions:
            self.flow.steps[func.name] = self._read_step(func, members, helper_writes)

    def _read_class_attribute(self, stmt: ast.stmt) -> None:
        targets: list[ast.expr] = []
        value = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        for target in targets:
            if isinstance(target, ast.Name):
                self.flow.class_attributes.add(target.id)
                if isinstance(value, ast.Call) and _call_name(value) in ("Parameter", "IncludeFile"):
                    self.flow.parameters.append((target.id, self.literals.call(value)))
                elif isinstance(value, ast.Call) and _call_name(value) == "Config":
                    self.flow.configs.append((target.id, self.literals.call(value)))

    def _helper_writes(self, helpers: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]) -> dict[str, set[str]]:
        """Attributes each non-step method assigns, following calls between methods."""
        direct: dict[str, tuple[set[str], set[str], bool]] = {}
        for name, func in helpers.items():
            scan = _BodyScan(set(helpers))
            for stmt in func.body:
                scan.visit(stmt)
            direct[name] = (set(scan.writes), {c for c, _ in scan.helper_calls}, scan.dynamic)
        result: dict[str, set[str]] = {}
        for name in helpers:
            seen, stack, writes = {name}, [name], set()
            while stack:
                current = stack.pop()
                own, calls, dynamic = direct[current]
                writes |= own
                if dynamic:
                    self.flow.external_bases = True  # dynamic helper: data-flow becomes advisory
                for callee in calls - seen:
                    seen.add(callee)
                    stack.append(callee)
            result[name] = writes
        return result

    def _read_step(
        self, func: ast.FunctionDef | ast.AsyncFunctionDef, members: set[str], helper_writes: dict[str, set[str]]
    ) -> ParsedStep:
        decorators = [self.literals.call(d) for d in func.decorator_list if _call_name(d) != "step"]
        arg_names = [a.arg for a in func.args.posonlyargs + func.args.args]
        step = ParsedStep(func.name, func.lineno, has_inputs=len(arg_names) == 2, decorators=decorators)
        if arg_names not in (["self"], ["self", "inputs"]) or func.args.vararg or func.args.kwarg:
            self.problem(
                func.lineno,
                f"step '{func.name}' takes ({', '.join(arg_names)})",
                "a step takes (self), or (self, inputs) when it is a join",
            )
        if isinstance(func, ast.AsyncFunctionDef):
            self.problem(func.lineno, f"step '{func.name}' is async", "define steps with plain `def`")
        scan = _BodyScan(members)
        for stmt in func.body:
            scan.visit(stmt)
        self._read_next(func, step, scan.next_calls)
        for helper, line in scan.helper_calls:
            for name in helper_writes.get(helper, ()):
                scan.writes.setdefault(name, line)
        step.writes, step.reads = scan.writes, scan.reads
        step.dynamic, step.guarded = scan.dynamic, scan.guarded
        for call in scan.merge_calls:
            self._read_merge(call, step)
        return step

    def _read_merge(self, call: ast.Call, step: ParsedStep) -> None:
        step.merges = True
        for keyword in call.keywords:
            value = self.literals.evaluate(keyword.value)
            if keyword.arg not in ("exclude", "include"):
                continue
            if value is NOT_LITERAL or not all(isinstance(v, str) for v in value):
                step.dynamic = True
            elif keyword.arg == "exclude":
                step.merge_exclude = tuple(value)
            else:
                step.merge_include = tuple(value)

    def _read_next(self, func: ast.FunctionDef | ast.AsyncFunctionDef, step: ParsedStep, calls: list[ast.Call]) -> None:
        if not calls:
            return
        last = func.body[-1]
        final = last.value if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) else None
        for call in calls:
            if call is not final:
                self.problem(
                    call.lineno,
                    f"self.next() in step '{func.name}' is not the step's last statement",
                    "call self.next(...) exactly once, unconditionally, as the last line of the step",
                )
        if final is None or final not in calls:
            step.next_line = calls[0].lineno  # reported above; not also "does not call self.next()"
            return
        step.next_line = final.lineno
        targets: list[str] = []
        for arg in final.args:
            if _is_self_attr(arg):
                targets.append(arg.attr)  # type: ignore[attr-defined]
            else:
                self.problem(
                    final.lineno,
                    f"self.next() in step '{func.name}' has an argument that is not a step",
                    "name steps as self.<step>, e.g. self.next(self.train)",
                )
        for keyword in final.keywords:
            value = self.literals.evaluate(keyword.value)
            if keyword.arg == "foreach" and isinstance(value, str):
                step.foreach = value
            elif keyword.arg == "foreach":
                self.problem(
                    final.lineno,
                    f"foreach= in step '{func.name}' is not a string",
                    'name the artifact to iterate over as a string, e.g. foreach="items"',
                )
            else:
                self.problem(
                    final.lineno,
                    f"self.next() in step '{func.name}' has unsupported argument '{keyword.arg}'",
                    'self.next takes steps and optionally foreach="<artifact>"',
                )
        if not targets:
            self.problem(final.lineno, f"self.next() in step '{func.name}' names no step", "e.g. self.next(self.end)")
        step.next_targets = tuple(targets)


def parse_flow_source(source: str, file: str) -> ParsedFlow:
    """Parse ``source`` (the text of ``file``) into a :class:`ParsedFlow`."""
    return _FlowReader(source, file).read()
