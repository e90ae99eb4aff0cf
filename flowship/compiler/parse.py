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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from flowship.compiler.switches import read_switch
from flowship.errors import Problem

__all__ = [
    "RawCall",
    "ParsedStep",
    "ParsedFlow",
    "ModuleReader",
    "parse_flow_source",
    "NOT_LITERAL",
    "FLOWSPEC_MEMBERS",
    "PARALLEL_ARTIFACT",
    "MAX_GANG_NODES",
]


class _NotLiteral:
    def __repr__(self) -> str:
        return "NOT_LITERAL"


NOT_LITERAL: Any = _NotLiteral()

# Attributes FlowSpec provides itself: reading them is not reading an artifact.
FLOWSPEC_MEMBERS = frozenset(
    {"next", "merge_artifacts", "foreach_stack", "input", "index", "name", "script_name", "cmd"}
)
# self.next(self.train, num_parallel=N) is, as in Metaflow, a foreach over this artifact: list(range(N)).
PARALLEL_ARTIFACT = "_parallel_ubf_iter"
MAX_GANG_NODES = 256  # a local gang's nodes all start together: beyond this, they would not
_TYPE_NAMES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "JSONType": "json"}
_DYNAMIC_BUILTINS = {"setattr", "delattr", "vars"}
_GUARD_BUILTINS = {"hasattr", "getattr"}
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class RawCall:
    """A decorator or Parameter call as written: its name, literal arguments and line."""

    name: str
    line: int
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    file: str = ""  # where it is written, when not in the flow file (a base class in another module)
    # The source text of each argument that is not a literal ("#0" for the first positional one): what
    # compiler/evaluate.py gets by importing the flow module, and how `flow check` names it.
    unevaluated: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedStep:
    name: str
    line: int
    has_inputs: bool
    decorators: list[RawCall]
    file: str = ""  # the file that defines the step: the flow file, or a base class's module
    next_targets: tuple[str, ...] = ()
    next_line: int = 0
    foreach: str | None = None
    # a switch, self.next({"key": self.step, ...}, condition="artifact"): (key, step) in written order
    switch_cases: tuple[tuple[str, str], ...] = ()
    condition: str | None = None
    # name -> first line it is assigned; reads as (name, line) not preceded by a write here
    writes: dict[str, int] = field(default_factory=dict)
    reads: list[tuple[str, int]] = field(default_factory=list)
    dynamic: bool = False  # sets attributes by name: nothing downstream is certain
    guarded: bool = False  # probes attributes by name: its own reads are not certain
    guarded_reads: set[str] = field(default_factory=set)  # read inside try/except AttributeError
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
    # class attributes a call computes (``a, b = shared_parameters()``): only an import tells if they are Parameters
    computed: dict[str, int] = field(default_factory=dict)  # attribute -> line
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
        self.guarded_reads: set[str] = set()
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

    def visit_Try(self, node: ast.Try) -> None:
        """Reads in a ``try`` whose handler catches AttributeError probe for an artifact: not certain reads."""
        if any(_catches_attribute_error(h) for h in node.handlers):
            before = len(self.reads)
            for stmt in node.body:
                self.visit(stmt)
            self.guarded_reads.update(name for name, _ in self.reads[before:])
            rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
            for child in rest:
                self.visit(child)
            return
        self.generic_visit(node)

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


_ATTRIBUTE_ERROR_CATCHERS = {"AttributeError", "Exception", "BaseException"}


def _catches_attribute_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_call_name(t) in _ATTRIBUTE_ERROR_CATCHERS for t in types)


ModuleReader = Callable[[str, int, str], "tuple[str, str] | None"]
"""(module, relative-import level, importing file) -> (source, path) of that module's file, or None if not found."""
_MAX_BASE_DEPTH = 20


@dataclass
class _Module:
    """A module a flow class or one of its bases is written in: its classes, imports and constants."""

    file: str
    classes: dict[str, ast.ClassDef]
    imports: dict[str, tuple[str, int, str | None]]  # local name -> (module, level, imported attribute or None)
    literals: _Literals


def _module(tree: ast.Module, file: str, source: str) -> _Module:
    literals = _Literals(source)
    imports: dict[str, tuple[str, int, str | None]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = literals.evaluate(node.value)
            if value is not NOT_LITERAL:
                literals.constants[node.targets[0].id] = value
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module or "", node.level, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                imports[local] = (alias.name if alias.asname else local, 0, None)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    return _Module(file, classes, imports, literals)


def _dotted(node: ast.expr) -> list[str]:
    """``["pkg", "base", "Base"]`` for ``pkg.base.Base``; empty for anything but names and attributes."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    return [node.id, *parts] if isinstance(node, ast.Name) else []


def _is_step(node: ast.stmt) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    return isinstance(node, _FUNCTIONS) and any(_call_name(d) == "step" for d in node.decorator_list)


def _names_flowspec(base: ast.expr) -> bool:
    return _call_name(base) == "FlowSpec"


class _FlowReader:
    def __init__(self, source: str, file: str, modules: ModuleReader | None):
        self.source = source
        self.flow = ParsedFlow(file=file)
        self.literals = _Literals(source)
        self.file = file  # the module being read: problems name it
        self.modules = modules
        self.loaded: dict[str, _Module | None] = {}

    def problem(self, line: int, message: str, fix: str = "", severity: str = "error") -> None:
        self.flow.problems.append(Problem(self.file, line, message, fix, severity))  # type: ignore[arg-type]

    def read(self) -> ParsedFlow:
        try:
            tree = ast.parse(self.source, filename=self.flow.file)
        except SyntaxError as exc:
            self.problem(exc.lineno or 0, f"syntax error: {exc.msg}", "fix the Python syntax")
            return self.flow
        module = _module(tree, self.flow.file, self.source)
        for node in tree.body:  # tasks import the flow file by its path, as `python flow.py` runs it: no package
            if isinstance(node, ast.ImportFrom) and node.level:
                self.problem(
                    node.lineno,
                    f"the flow file imports relatively (from {'.' * node.level}{node.module or ''} import ...), "
                    "which fails when its tasks import it as a script",
                    "import absolutely, e.g. from pkg.module import Name (the flow's project root is importable)",
                )
        self.literals = module.literals
        flows = {name: node for name, node in module.classes.items() if self._is_flow(node, module, 0)}
        bases_of_others = {
            id(r[0])
            for node in flows.values()
            for b in node.bases
            if not _names_flowspec(b) and (r := self._resolve(b, module))  # FlowSpec itself is never read
        }
        leaves = {name for name, node in flows.items() if id(node) not in bases_of_others}
        if not leaves:
            self._no_flow_class(module)
            return self.flow
        if len(leaves) > 1:
            names = ", ".join(sorted(leaves))
            line = min(flows[n].lineno for n in leaves)
            self.problem(line, f"more than one flow class in one file ({names})", "keep one flow per file")
            return self.flow
        (leaf,) = leaves
        self.flow.name, self.flow.line = leaf, flows[leaf].lineno
        chain = self._class_chain(flows[leaf], module)
        members = {f.name for node, _ in chain for f in node.body if isinstance(f, _FUNCTIONS)}
        helper_writes = self._helper_writes([node for node, _ in chain], members)
        for node, owner in chain:
            self.file, self.literals = owner.file, owner.literals
            self._read_class(node, members, helper_writes)
        self.file, self.literals = self.flow.file, module.literals
        return self.flow

    def _no_flow_class(self, module: _Module) -> None:
        """Say why: most often a class with steps whose base class lives in a module that cannot be found."""
        for node in module.classes.values():
            steps = any(_is_step(f) for f in node.body)
            unread = [ast.unparse(b) for b in node.bases if not self._resolve(b, module)]
            if steps and unread:
                self.problem(
                    node.lineno,
                    f"class {node.name} has steps, but its base {', '.join(unread)} cannot be read, so flow check "
                    "cannot tell it is a flow",
                    "keep base classes in the flow's folder or project (found as the flow's tasks import them), "
                    "or derive the flow from FlowSpec directly",
                )
                return
        self.problem(
            1, "no flow class found", "define a class that derives from FlowSpec, e.g. `class MyFlow(FlowSpec):`"
        )

    def _load(self, name: str, level: int, importer: str) -> _Module | None:
        """The module ``name`` as imported from ``importer``, read (never run) through the reader."""
        found = self.modules(name, level, importer) if self.modules else None
        if found is None:
            return None
        source, path = found
        if path not in self.loaded:
            try:
                self.loaded[path] = _module(ast.parse(source, filename=path), path, source)
            except SyntaxError as exc:
                self.loaded[path] = None
                self.flow.problems.append(
                    Problem(path, exc.lineno or 0, f"syntax error: {exc.msg}", "fix the Python syntax")
                )
        return self.loaded[path]

    def _resolve(self, base: ast.expr, module: _Module, depth: int = 0) -> tuple[ast.ClassDef, _Module] | None:
        """The class a base-class expression names, in this file or in a module of the project it imports."""
        if depth > _MAX_BASE_DEPTH:
            return None
        if isinstance(base, ast.Name):
            if base.id in module.classes:
                return module.classes[base.id], module
            if base.id not in module.imports:
                return None
            name, level, attribute = module.imports[base.id]
            target = self._load(name, level, module.file) if attribute is not None else None
            return self._resolve(ast.Name(attribute), target, depth + 1) if target and attribute else None
        path = _dotted(base)
        if len(path) > 1 and path[0] in module.imports:  # pkg.base.Base after `import pkg.base`
            name, level, attribute = module.imports[path[0]]
            imported = [*name.split("."), attribute] if attribute else name.split(".")
            target = self._load(".".join(p for p in [*imported, *path[1:-1]] if p), level, module.file)
            return self._resolve(ast.Name(path[-1]), target, depth + 1) if target else None
        return None

    def _is_flow(self, node: ast.ClassDef, module: _Module, depth: int) -> bool:
        if depth > _MAX_BASE_DEPTH:
            return False
        for base in node.bases:
            if _names_flowspec(base):
                return True
            resolved = self._resolve(base, module)
            if resolved and self._is_flow(*resolved, depth + 1):
                return True
        return False

    def _class_chain(self, leaf: ast.ClassDef, module: _Module) -> list[tuple[ast.ClassDef, _Module]]:
        """The flow class and every base it has that can be read, bases first (a subclass overrides its bases)."""
        ordered: list[tuple[ast.ClassDef, _Module]] = []
        seen: set[int] = set()

        def visit(node: ast.ClassDef, owner: _Module) -> None:
            seen.add(id(node))
            for base in reversed(node.bases):  # the first base is read last, so it wins, as Python's MRO has it
                resolved = None if _names_flowspec(base) else self._resolve(base, owner)
                if resolved and id(resolved[0]) not in seen:
                    visit(*resolved)
                elif not resolved and not _names_flowspec(base):
                    self.flow.external_bases = True  # a base that cannot be read: data-flow findings are advisory
            ordered.append((node, owner))

        visit(leaf, module)
        return ordered

    def _read_class(self, node: ast.ClassDef, members: set[str], helper_writes: dict[str, set[str]]) -> None:
        if node.name == self.flow.name and self.file == self.flow.file:
            self.flow.flow_decorators = [self.literals.call(d) for d in node.decorator_list]
        for stmt in node.body:
            self._read_class_attribute(stmt)
        for func in node.body:
            if _is_step(func):
                self.flow.steps[func.name] = self._read_step(func, members, helper_writes)

    def _read_class_attribute(self, stmt: ast.stmt) -> None:
        targets: list[ast.expr] = []
        value = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        for target in targets:
            names = [e for e in target.elts if isinstance(e, ast.Name)] if isinstance(target, ast.Tuple) else []
            computed = isinstance(value, ast.Call) and _call_name(value) not in ("Parameter", "IncludeFile", "Config")
            for element in names:  # a, b = make_parameters()
                self.flow.class_attributes.add(element.id)
                if computed:
                    self.flow.computed[element.id] = stmt.lineno
            if isinstance(target, ast.Name):
                self.flow.class_attributes.add(target.id)
                # a subclass's attribute replaces a base's Parameter of that name
                self.flow.parameters = [(a, c) for a, c in self.flow.parameters if a != target.id]
                self.flow.computed.pop(target.id, None)
                if computed and value is not None and self.literals.evaluate(value) is NOT_LITERAL:
                    self.flow.computed[target.id] = stmt.lineno
                if isinstance(value, ast.Call) and _call_name(value) in ("Parameter", "IncludeFile"):
                    call = self.literals.call(value)
                    call.file = "" if self.file == self.flow.file else self.file
                    self.flow.parameters.append((target.id, call))
                elif isinstance(value, ast.Call) and _call_name(value) == "Config":
                    self.flow.configs.append((target.id, self.literals.call(value)))

    def _helper_writes(self, classes: list[ast.ClassDef], members: set[str]) -> dict[str, set[str]]:
        """Attributes each non-step method assigns, following calls between methods (a subclass's override wins)."""
        helpers = {f.name: f for node in classes for f in node.body if isinstance(f, _FUNCTIONS) and not _is_step(f)}
        direct: dict[str, tuple[set[str], set[str], bool]] = {}
        for name, func in helpers.items():
            scan = _BodyScan(members)
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
        step = ParsedStep(func.name, func.lineno, len(arg_names) == 2, decorators, file=self.file)
        if len(arg_names) not in (1, 2) or func.args.vararg or func.args.kwarg or func.args.kwonlyargs:
            self.problem(
                func.lineno,
                f"step '{func.name}' takes ({', '.join(arg_names)})",
                "a step takes (self), or (self, inputs) when it is a join (any name works for inputs)",
            )
        for marker in (d for d in func.decorator_list if isinstance(d, ast.Call) and _call_name(d) == "step"):
            role = next((k.arg for k in marker.keywords if k.arg in ("start", "end")), None)
            self.problem(
                marker.lineno,
                f"@step({role or '...'}=True) on step '{func.name}': steps other than 'start' and 'end' cannot "
                "begin or end a flow in flowship",
                f"name the step {role}: def {role}(self)" if role else "write @step without arguments",
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
        step.dynamic, step.guarded, step.guarded_reads = scan.dynamic, scan.guarded, scan.guarded_reads
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
        if (final.args and isinstance(final.args[0], ast.Dict)) or any(k.arg == "condition" for k in final.keywords):
            switch = read_switch(func.name, final, self.literals.evaluate, self.problem)
            if switch is not None:
                step.switch_cases, step.condition = switch
                step.next_targets = tuple(dict.fromkeys(target for _, target in step.switch_cases))
            return
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
            if keyword.arg == "num_parallel" and not isinstance(value, (str, float, bool, list, dict)):
                step.foreach = PARALLEL_ARTIFACT  # a whole number, or an expression the step evaluates
            elif keyword.arg == "num_parallel":
                self.problem(
                    final.lineno,
                    f"num_parallel= in step '{func.name}' is not a whole number",
                    "give the number of nodes, e.g. self.next(self.train, num_parallel=4)",
                )
            elif keyword.arg == "foreach" and isinstance(value, str):
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
                    'self.next takes steps, optionally foreach="<artifact>", num_parallel=N, or one dict of cases with '
                    'condition="<artifact>"',
                )
        if not targets:
            self.problem(final.lineno, f"self.next() in step '{func.name}' names no step", "e.g. self.next(self.end)")
        step.next_targets = tuple(targets)


def parse_flow_source(source: str, file: str, modules: ModuleReader | None = None) -> ParsedFlow:
    """Parse ``source`` (the text of ``file``) into a :class:`ParsedFlow`.

    ``modules`` finds the source of modules the flow imports base classes from; without it, a base class
    defined in another module is not read (and data-flow findings become warnings).
    """
    return _FlowReader(source, file, modules).read()
