"""Every flowship name a flow file uses must exist: found by ``flow check``, never as an ImportError in a task.

A Metaflow flow moves to flowship by changing its import line, so it may
use any of Metaflow's public names. This check reads the file's imports
(``from flowship import X``, ``from flowship.sub import Y``, ``import
flowship`` then ``flowship.X``), the fields it reads of ``current``, and the
Metaflow names it uses after ``from flowship import *``, and reports each
name flowship does not have as an error at its line, with what to do instead. Names are looked up in the
installed flowship itself, so the check knows exactly what a task will find.
Imports of ``metaflow`` itself are errors too: a task has flowship, not
Metaflow.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from types import ModuleType

from flowship.errors import Problem, did_you_mean

__all__ = ["import_problems"]

_DOCS = "see docs/authoring.md (Metaflow names) for what flowship provides"
# What to do instead, for Metaflow names and modules flowship does not provide.
_INSTEAD = {
    "Runner": "start runs with `flow run FLOW_FILE` (flowship has no Python Runner API yet)",
    "NBRunner": "start runs with `flow run FLOW_FILE` (flowship has no notebook runner yet)",
    "Deployer": "deploy with `flow deploy FLOW_FILE --target argo|airflow`",
    "NBDeployer": "deploy with `flow deploy FLOW_FILE --target argo|airflow`",
    "DeployedFlow": "deploy with `flow deploy FLOW_FILE --target argo|airflow`",
    "UserStepDecorator": "custom step decorators are not supported; use a plain Python function called by the step",
    "user_step_decorator": "custom step decorators are not supported; use a plain Python function called by the step",
    "StepMutator": "mutators are not supported; write the decorators on the steps",
    "FlowMutator": "mutators are not supported; write the decorators on the flow",
    "USER_SKIP_STEP": "custom step decorators are not supported",
    "inspect_spin": "spin is not supported; run the step with `flow step` or `flow resume`",
}
# Names ``from metaflow import *`` binds (Metaflow's __init__.py has no __all__) beyond flowship's own; after
# ``from flowship import *`` a use of one flowship lacks would be a NameError in the task.
_METAFLOW_STAR = {
    *_INSTEAD,
    "Config",
    "ConfigValue",
    "config_expr",
    "JSONTypeClass",
    "tuple_util",
    "yaml_parser",
    "requirements_txt_parser",
    "pyproject_toml_parser",
    "conda_environment_yml_parser",
    "namespaced_event_name",
}
_MODULE_INSTEAD = {
    "flowship.plugins.datatools": "from flowship.datatools import S3 (or from flowship import S3)",
    "flowship.plugins.datatools.s3": "from flowship.datatools import S3 (or from flowship import S3)",
    "flowship.plugins.cards": "from flowship.cards import Markdown, Table, ...",
    "flowship.cards.card_modules": "from flowship.cards import Markdown, Table, ...",
    "flowship.exception": "catch flowship.errors.FlowshipError",
}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _member(module: ModuleType, name: str) -> object | None:
    """The attribute, or a submodule of that name; None when neither exists."""
    try:
        return getattr(module, name)
    except AttributeError:
        pass
    if hasattr(module, "__path__") and importlib.util.find_spec(f"{module.__name__}.{name}") is not None:
        return _module(f"{module.__name__}.{name}")
    return None


class _ImportScan(ast.NodeVisitor):
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.modules: dict[str, ModuleType] = {}  # local name -> flowship module it is bound to
        self.current_names: set[str] = set()  # local names bound to flowship's current
        self.star = False  # from flowship import *
        self.bound: set[str] = set()  # names the file binds itself
        self.loads: list[tuple[str, int]] = []  # bare names read, and where

    def error(self, line: int, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, line, message, fix))

    def _missing_name(self, line: int, module: str, name: str, spelled: str) -> None:
        known = list(getattr(_module(module), "__all__", []))
        hint = _INSTEAD.get(name) or (did_you_mean(name, known).replace(" — did you mean", "did you mean") or _DOCS)
        self.error(line, f"`{spelled}`: {module} has no '{name}'", hint)

    def _resolve_module(self, line: int, name: str, spelled: str) -> ModuleType | None:
        if name.split(".")[0] == "metaflow":
            local = "flowship" + name[len("metaflow") :]
            fix = _MODULE_INSTEAD.get(local) or (f"import the same names from {local}" if _module(local) else _DOCS)
            self.error(line, f"`{spelled}`: this flow imports Metaflow", fix)
            return None
        module = _module(name)
        if module is None:
            fix = _MODULE_INSTEAD.get(name) or _DOCS
            self.error(line, f"`{spelled}`: there is no module {name}", fix)
        return module

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        name = node.module or ""
        if node.level or name.split(".")[0] not in ("flowship", "metaflow"):
            return
        names = ", ".join(a.name for a in node.names)
        module = self._resolve_module(node.lineno, name, f"from {name} import {names}")
        if module is None:
            return
        for alias in node.names:
            if alias.name == "*":
                if name == "flowship":
                    self.current_names.add("current")
                    self.star = True
                continue
            self.bound.add(alias.asname or alias.name)
            member = _member(module, alias.name)
            local = alias.asname or alias.name
            if member is None:
                self._missing_name(node.lineno, name, alias.name, f"from {name} import {alias.name}")
            elif isinstance(member, ModuleType):
                self.modules[local] = member
            elif name == "flowship" and alias.name == "current":
                self.current_names.add(local)

    def visit_Import(self, node: ast.Import) -> None:
        self.bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        for alias in node.names:
            if alias.name.split(".")[0] not in ("flowship", "metaflow"):
                continue
            module = self._resolve_module(node.lineno, alias.name, f"import {alias.name}")
            if module is None:
                continue
            if alias.asname:
                self.modules[alias.asname] = module
            else:
                top = _module("flowship")
                if top is not None:
                    self.modules["flowship"] = top

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            chain.insert(0, base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            self.generic_visit(node)
            return
        self.visit_Name(base)  # the chain's inner attributes are this node's own: visiting them would report twice
        if base.id in self.current_names:
            self._check_current(node.lineno, chain[0])
        elif base.id in self.modules:
            self._check_chain(node.lineno, self.modules[base.id], base.id, chain)

    def _check_chain(self, line: int, module: ModuleType, spelled: str, chain: list[str]) -> None:
        for index, attribute in enumerate(chain):
            member = _member(module, attribute)
            spelled = f"{spelled}.{attribute}"
            if member is None:
                self._missing_name(line, module.__name__, attribute, spelled)
                return
            if not isinstance(member, ModuleType):
                if (module.__name__, attribute) == ("flowship", "current") and index + 1 < len(chain):
                    self._check_current(line, chain[index + 1])  # flowship.current.<field>
                return
            module = member

    def _check_current(self, line: int, field: str) -> None:
        from flowship.current import FIELDS

        if field in FIELDS or field in ("get", "_bind"):
            return
        fix = _INSTEAD.get(field) or f"current has {', '.join(FIELDS)}"
        self.error(line, f"current.{field}: flowship's current has no '{field}'", fix)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loads.append((node.id, node.lineno))
        else:
            self.bound.add(node.id)

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    def star_problems(self) -> None:
        """Metaflow names a ``from flowship import *`` file reads that flowship does not bind."""
        top = _module("flowship")
        if not self.star or top is None:
            return
        for name, line in self.loads:
            if name in _METAFLOW_STAR and name not in self.bound and _member(top, name) is None:
                hint = _INSTEAD.get(name) or _DOCS
                self.error(line, f"{name}: `from flowship import *` does not give '{name}' (Metaflow's does)", hint)
                self.bound.add(name)  # once per name

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)


def import_problems(source: str, file: str) -> list[Problem]:
    """Each flowship (or Metaflow) name ``source`` imports or uses that a task would not find."""
    try:
        tree = ast.parse(source, filename=file)
    except SyntaxError:
        return []  # reported by the parser
    scan = _ImportScan(file)
    scan.visit(tree)
    scan.star_problems()
    return scan.problems
