"""A small, safe expression language for promotion gates and metric alerts.

Gates (``accuracy >= production.accuracy - 0.01``) and alerts
(``abs(value - mean) > 3 * stdev``) are text that may come from anyone who
can edit a flow file or a scheduled command, so they are never handed to
``eval``. An expression is parsed with :mod:`ast` and every node is checked
against a short list: names, ``production.NAME``, numbers, strings,
``True``/``False``/``None``, comparisons (chained too), ``and``/``or``/``not``,
``+ - * /``, unary ``-``/``+`` and calls of ``abs``, ``min``, ``max`` and
``len``. Anything else is refused with the offending part of the text. The
evaluator walks the checked tree itself; arithmetic is on numbers only (no
``**``, no string or list repetition), so no expression can run code, reach
an object's internals, or build a huge value.

One mechanism serves both uses: the compiler checks in-flow gates with
:func:`parse_expression` (pure, no I/O), the runtime evaluates them with
:func:`evaluate`, and ``flow metrics --alert`` uses the same two functions.
"""

from __future__ import annotations

import ast
import numbers
import operator
from collections.abc import Callable, Collection, Sized
from dataclasses import dataclass
from typing import Any

from flowship.errors import FlowshipError

__all__ = ["Expression", "ExpressionError", "UnknownName", "parse_expression", "evaluate", "PRODUCTION", "shown"]

PRODUCTION = "production"  # ``production.X``: artifact X of the current production run
MAX_LENGTH = 2000
_FUNCTIONS = ("abs", "min", "max", "len")
_CONSTANTS = (int, float, str, bool, type(None))
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_ORDERING = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_EQUALITY = {ast.Eq: "==", ast.NotEq: "!="}
_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class ExpressionError(FlowshipError):
    """An expression that is not allowed, or that cannot be evaluated (a type mismatch, a division by zero)."""


class UnknownName(ExpressionError):
    """A name the expression reads has no value (no such artifact, no production run)."""


@dataclass(frozen=True)
class Expression:
    text: str
    tree: ast.expr
    names: tuple[str, ...]  # what it reads, in order: "accuracy", "production.accuracy"

    @property
    def reads_production(self) -> bool:
        return any(name.startswith(PRODUCTION + ".") for name in self.names)


def shown(value: Any, limit: int = 60) -> str:
    """A value as the gate prints it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _part(text: str, node: ast.AST) -> str:
    return ast.get_source_segment(text, node) or type(node).__name__


def _refuse(what: str, text: str, node: ast.AST, why: str) -> ExpressionError:
    column = getattr(node, "col_offset", 0) + 1
    return ExpressionError(f'{what} "{text}": {why} at column {column}: {_part(text, node)}')


def parse_expression(
    text: str, *, what: str = "gate", names: Collection[str] | None = None, production: bool = True
) -> Expression:
    """Check ``text``; ``names`` limits the names it may read (None: any), ``production`` allows ``production.X``."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(f"{what} {text!r}: write an expression, e.g. accuracy >= 0.9")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{what} is {len(text)} characters long; at most {MAX_LENGTH}")
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        column = exc.offset or len(text) + 1  # no offset: it ended too soon
        raise ExpressionError(f'{what} "{text}": not an expression ({exc.msg}) at column {column}') from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f'{what} "{text}": too deeply nested') from None
    read: list[str] = []
    _check(tree, text, what, names, production, read)
    return Expression(text, tree, tuple(dict.fromkeys(read)))


def _check(
    node: ast.AST, text: str, what: str, names: Collection[str] | None, production: bool, read: list[str]
) -> None:
    if isinstance(node, ast.Name):
        if node.id.startswith("_") or node.id in _FUNCTIONS or node.id == PRODUCTION:
            why = "a function is only called" if node.id in _FUNCTIONS else "this name cannot be read"
            if node.id == PRODUCTION:
                why = "write production.NAME, an artifact of the production run"
            raise _refuse(what, text, node, why)
        if names is not None and node.id not in names:
            raise _refuse(what, text, node, f"unknown name (use {', '.join(sorted(names))})")
        read.append(node.id)
        return
    if isinstance(node, ast.Attribute):
        base = node.value
        if not (production and isinstance(base, ast.Name) and base.id == PRODUCTION):
            allowed = "only production.NAME is allowed" if production else "no attribute can be read"
            raise _refuse(what, text, node, f"attribute access: {allowed}")
        if node.attr.startswith("_"):
            raise _refuse(what, text, node, "this name cannot be read")
        read.append(f"{PRODUCTION}.{node.attr}")
        return
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, _CONSTANTS):
            raise _refuse(what, text, node, "only numbers, strings, True, False and None are allowed")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise _refuse(what, text, node, f"only {', '.join(_FUNCTIONS)} can be called")
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args) or not node.args:
            raise _refuse(what, text, node, f"{node.func.id}() takes plain arguments")
        children: list[ast.AST] = list(node.args)
    elif isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        children = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        children = [node.operand]
    elif isinstance(node, ast.BoolOp):
        children = list(node.values)
    elif isinstance(node, ast.Compare) and all(type(op) in {**_ORDERING, **_EQUALITY} for op in node.ops):
        children = [node.left, *node.comparators]
    else:
        why = {
            ast.BinOp: "only + - * / are allowed",
            ast.Compare: "only == != < <= > >= compare",
            ast.Lambda: "a function cannot be defined",
            ast.Subscript: "indexing is not allowed",
            ast.IfExp: "a conditional expression is not allowed",
            ast.NamedExpr: "an assignment is not allowed",
            ast.JoinedStr: "an f-string is not allowed",
        }.get(type(node), f"{'a comprehension' if 'Comp' in type(node).__name__ else 'this'} is not allowed")
        raise _refuse(what, text, node, why)
    for child in children:
        _check(child, text, what, names, production, read)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class _Evaluator:
    def __init__(self, expression: Expression, lookup: Callable[[str], Any], what: str):
        self.expression, self.lookup, self.what = expression, lookup, what
        self.values: dict[str, Any] = {}

    def fail(self, node: ast.AST, why: str) -> ExpressionError:
        return ExpressionError(f'{self.what} "{self.expression.text}": {why} in {_part(self.expression.text, node)}')

    def read(self, name: str) -> Any:
        if name not in self.values:
            self.values[name] = self.lookup(name)
        return self.values[name]

    def number(self, node: ast.AST) -> Any:
        value = self.eval(node)
        if not _is_number(value):
            raise self.fail(
                node, f"{_part(self.expression.text, node)} is {type(value).__name__} {shown(value)}, not a number"
            )
        return value

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.read(node.id)
        if isinstance(node, ast.Attribute):
            return self.read(f"{PRODUCTION}.{node.attr}")
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BoolOp):
            result = self.eval(node.values[0])
            for value in node.values[1:]:
                if bool(result) == isinstance(node.op, ast.Or):
                    return result
                result = self.eval(value)
            return result
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self.truth(node.operand)
            number = self.number(node.operand)
            return -number if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.BinOp):
            left, right = self.number(node.left), self.number(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise self.fail(node, "division by zero")
            try:
                if isinstance(node.op, ast.Add):
                    return left + right
                if isinstance(node.op, ast.Sub):
                    return left - right
                return left * right if isinstance(node.op, ast.Mult) else left / right
            except ArithmeticError as exc:  # a float overflow: the text asked for a number too large
                raise self.fail(node, str(exc)) from None
        if isinstance(node, ast.Compare):
            return self.compare(node)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _check let nothing else through
        return self.call(node, node.func.id)

    def truth(self, node: ast.AST) -> bool:
        value = self.eval(node)
        try:
            return bool(value)
        except Exception:  # an array's truth is ambiguous: say so instead of guessing
            raise self.fail(node, f"{type(value).__name__} {shown(value)} is neither true nor false") from None

    def compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node)
            if type(op) in _ORDERING:
                both_numbers = _is_number(left) and _is_number(right)
                if not both_numbers and not (isinstance(left, str) and isinstance(right, str)):
                    raise self.fail(
                        node,
                        f"cannot compare {type(left).__name__} {shown(left)} {_ORDERING[type(op)]} "
                        f"{type(right).__name__} {shown(right)} (numbers with numbers, text with text)",
                    )
            result = _COMPARISONS[type(op)](left, right)
            try:
                if not bool(result):
                    return False
            except Exception:
                raise self.fail(node, f"comparing {shown(left)} with {shown(right)} gives no True or False") from None
            left = right
        return True

    def call(self, node: ast.Call, name: str) -> Any:
        if name == "len":
            if len(node.args) != 1:
                raise self.fail(node, "len() takes one argument")
            value = self.eval(node.args[0])
            if not isinstance(value, Sized):
                raise self.fail(node, f"{type(value).__name__} {shown(value)} has no length")
            return len(value)
        if name == "abs":
            if len(node.args) != 1:
                raise self.fail(node, "abs() takes one argument")
            return abs(self.number(node.args[0]))
        if len(node.args) == 1:  # min(values): a list of numbers
            items = self.eval(node.args[0])
            if not isinstance(items, (list, tuple)) or not items or not all(_is_number(i) for i in items):
                raise self.fail(node, f"{name}() takes numbers, or one non-empty list of numbers")
        else:
            items = [self.number(arg) for arg in node.args]
        return min(items) if name == "min" else max(items)


def evaluate(expression: Expression, lookup: Callable[[str], Any], *, what: str = "gate") -> tuple[Any, dict[str, Any]]:
    """The expression's value and every name it read with its value, in the order read.

    ``lookup(name)`` gives a name's value (``"production.accuracy"`` for an attribute of ``production``) or raises
    :class:`UnknownName`.
    """
    evaluator = _Evaluator(expression, lookup, what)
    return evaluator.eval(expression.tree), evaluator.values
