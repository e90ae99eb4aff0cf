"""Argo's ``{{...}}`` substitution, as its ``util/template`` package does it, for the tests' runner.

Restated from Argo v4's source (``util/template``: fasttemplate parsing,
simple and expression tags; ``workflow/common`` for where the passes run):

- The text substituted is JSON (a marshalled template, task or pod). A tag
  runs from ``{{`` to the first ``}}`` after it; no nesting, no escape; a
  ``{{`` with no ``}}`` after it fails ("Cannot find end tag").
- A tag whose text starts with ``=`` is an expression (expr-lang); any other
  is looked up, spaces trimmed, in the pass's map of names.
- A simple tag not in the map whose text holds another ``{{`` is read as a
  nested tag: the inner name's value is written after the outer ``{{``.
- A simple tag's value is inserted as Go's ``strconv.Quote`` writes it
  (without the quotes), and the result must still be valid JSON: control
  characters such as ``\\a`` or ``\\x01`` fail the pass ("invalid JSON").
- An expression sees the map with dotted names made nested (``workflow.
  parameters['x']``); one naming what the map does not hold yet is left as it
  is for a later pass (or fails a strict pass); one that does not parse fails
  every pass. Its result is inserted JSON-escaped.
- Inserted text is not read again in the same pass, but every later pass
  reads the output of the one before: a value holding ``{{workflow.name}}``
  becomes the workflow's name in the next pass.

Only the expressions flowship writes are modelled (a name path, ``toBase64``
of one, ``sprig`` arithmetic, ``==`` and ``c ? a : b``); any other expression
is an error of this model, said as such.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["ArgoTemplateError", "substitute_json", "substitute_text", "go_quote", "evaluate_expression", "Missing"]

Strictness = Literal["allow", "strict", "strict-tasks"]
_EXPR_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>[0-9]+)"
                         r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<op>==|!=|\?|:)"
                         r"|(?P<punct>[.,()\[\]]))")
_EXPR_FUNCTIONS: dict[str, Any] = {
    "toBase64": lambda text: base64.b64encode(str(text).encode()).decode(),
    "sprig.trunc": lambda length, text: str(text)[: int(length)],  # sprig: the first `length` characters
    "sprig.add": lambda *numbers: sum(int(n) for n in numbers),  # sprig: toInt64 of each (text too), summed
}


class ArgoTemplateError(AssertionError):
    """What Argo would report for this text (the pass fails: a node or the workflow errors)."""


class _Missing(Exception):
    pass


Missing = _Missing  # an expression read a name its scope does not hold


def go_quote(text: str) -> str:
    """``strconv.Quote(text)`` without its quotes: what Argo writes into the JSON for a simple tag's value."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == " " or (char.isprintable() and not unicodedata.category(char).startswith("Z")):
            out.append(char)
        elif char in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def _nested(scope: Mapping[str, str]) -> dict[str, Any]:
    """bellows.Expand: dotted names become nested maps; a name that also has children is dropped."""
    tree: dict[str, Any] = {}
    for key in sorted(scope, key=lambda k: k.count(".")):
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if not isinstance(node.get(leaf), dict):
            node[leaf] = scope[key]
    return tree


def _parse(expression: str) -> Any:
    """The expr-lang subset flowship writes, as a tree: ("path", [keys]) | ("number", n) | ("call", name, [args]),
    for ``a.b['c']``, ``toBase64(x)``, ``sprig.trunc(65536, x)``. Anything else fails as a parse error does in
    Argo: in every pass."""
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = _EXPR_TOKEN.match(expression, position)
        if not match:
            raise ArgoTemplateError(f"failed to evaluate expression: unexpected token at {expression[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    if not tokens:
        raise ArgoTemplateError(f"failed to evaluate expression {expression!r}: unexpected end of input")

    def fail(at: int) -> ArgoTemplateError:
        found = tokens[at][1] if at < len(tokens) else "end of input"
        return ArgoTemplateError(f"failed to evaluate expression {expression!r}: unexpected token {found!r}")

    def term(at: int) -> tuple[Any, int]:
        if at < len(tokens) and tokens[at][0] == "number":
            return ("number", int(tokens[at][1])), at + 1
        if at < len(tokens) and tokens[at][0] == "string":
            return ("string", tokens[at][1][1:-1]), at + 1
        if at >= len(tokens) or tokens[at][0] != "name":
            raise fail(at)
        keys, at = [tokens[at][1]], at + 1
        while at < len(tokens):
            if tokens[at][1] == "." and at + 1 < len(tokens) and tokens[at + 1][0] == "name":
                keys, at = keys + [tokens[at + 1][1]], at + 2
            elif tokens[at][1] == "[" and at + 2 < len(tokens) and tokens[at + 1][0] == "string" and tokens[at + 2][1] == "]":
                keys, at = keys + [tokens[at + 1][1][1:-1]], at + 3
            elif tokens[at][1] == "(":
                name = ".".join(keys)
                if name not in _EXPR_FUNCTIONS:
                    raise ArgoTemplateError(f"the tests' Argo model does not know the function {name}()")
                arguments, at = [], at + 1
                while True:
                    argument, at = term(at)
                    arguments.append(argument)
                    if at < len(tokens) and tokens[at][1] == ",":
                        at += 1
                        continue
                    if at < len(tokens) and tokens[at][1] == ")":
                        return ("call", name, arguments), at + 1
                    raise fail(at)
            else:
                break
        return ("path", keys), at

    def comparison(at: int) -> tuple[Any, int]:
        left, at = term(at)
        if at < len(tokens) and tokens[at][1] in ("==", "!="):
            right, end = term(at + 1)
            return ("compare", tokens[at][1], left, right), end
        return left, at

    def conditional(at: int) -> tuple[Any, int]:  # expr-lang's `c ? a : b`, evaluated lazily
        condition, at = comparison(at)
        if at < len(tokens) and tokens[at][1] == "?":
            chosen, at = conditional(at + 1)
            if at >= len(tokens) or tokens[at][1] != ":":
                raise fail(at)
            other, at = conditional(at + 1)
            return ("if", condition, chosen, other), at
        return condition, at

    tree, end = conditional(0)
    if end != len(tokens):
        raise fail(end)
    return tree


def evaluate_expression(expression: str, scope: Mapping[str, str]) -> Any:
    """The value of an expression (a name path, a call, ``==``/``!=``, ``c ? a : b``) over ``scope``."""
    tree, env = _parse(expression), _nested(scope)

    def value(node: Any) -> Any:
        if node[0] in ("number", "string"):
            return node[1]
        if node[0] == "compare":
            return (value(node[2]) == value(node[3])) == (node[1] == "==")
        if node[0] == "if":
            return value(node[2]) if value(node[1]) is True else value(node[3])
        if node[0] == "call":
            return _EXPR_FUNCTIONS[node[1]](*(value(argument) for argument in node[2]))
        found: Any = env
        for key in node[1]:
            if not isinstance(found, dict) or key not in found:
                raise _Missing(".".join(node[1]))
            found = found[key]
        return found

    return value(tree)


def _evaluate(expression: str, scope: Mapping[str, str]) -> str:
    result = evaluate_expression(expression, scope)
    if isinstance(result, dict):
        raise ArgoTemplateError(f"the tests' Argo model does not insert maps ({expression!r})")
    return str(result)


def substitute_text(text: str, scope: Mapping[str, str], strictness: Strictness = "allow") -> str:
    """One pass over JSON ``text``: every tag replaced where the map allows, the rest as ``strictness`` says."""
    out, position = [], 0
    while True:
        start = text.find("{{", position)
        if start == -1:
            out.append(text[position:])
            break
        end = text.find("}}", start + 2)
        if end == -1:
            raise ArgoTemplateError(f"Cannot find end tag=\"}}}}\" in the template starting from {text[start:][:60]!r}")
        out.append(text[position:start])
        tag, position = text[start + 2 : end], end + 2
        if tag.startswith("="):
            try:
                expression = json.loads(f'"{tag[1:]}"')
            except json.JSONDecodeError:
                raise ArgoTemplateError(f"failed to unmarshall JSON expression {tag!r}") from None
            try:
                out.append(json.dumps(_evaluate(expression, scope), ensure_ascii=False)[1:-1])
            except _Missing as missing:
                if strictness == "strict":
                    raise ArgoTemplateError(f"failed to evaluate expression: {missing} is missing") from None
                out.append("{{" + tag + "}}")
            continue
        name, nested = tag.strip(), tag.rfind("{{")
        if name in scope:
            out.append(go_quote(scope[name]))
        elif nested > 0 and tag[nested + 2 :] in scope:  # {{tasks.{{item}}...: the inner tag, the outer kept open
            out.append("{{" + tag[:nested] + go_quote(scope[tag[nested + 2 :]]))
        elif strictness == "strict" or (strictness == "strict-tasks" and re.match(r"^(tasks|steps)(\.|$)", name)):
            raise ArgoTemplateError(f"failed to resolve {{{{{name}}}}}")
        else:
            out.append("{{" + tag + "}}")
    result = "".join(out)
    try:
        json.loads(result)
    except json.JSONDecodeError:
        raise ArgoTemplateError("cannot finish template replacement because the result was invalid JSON") from None
    return result


def substitute_json(value: Any, scope: Mapping[str, str], strictness: Strictness = "allow") -> Any:
    """One pass over a JSON-able object, as Argo marshals it, substitutes, and unmarshals it."""
    return json.loads(substitute_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), scope, strictness))
