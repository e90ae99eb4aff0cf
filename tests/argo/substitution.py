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
of one); any other expression is an error of this model, said as such.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["ArgoTemplateError", "substitute_json", "substitute_text", "go_quote"]

Strictness = Literal["allow", "strict", "strict-tasks"]
_EXPR_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
                         r"|(?P<punct>[.()\[\]]))")
_EXPR_FUNCTIONS = {"toBase64": lambda text: base64.b64encode(str(text).encode()).decode()}


class ArgoTemplateError(AssertionError):
    """What Argo would report for this text (the pass fails: a node or the workflow errors)."""


class _Missing(Exception):
    pass


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


def _parse(expression: str) -> tuple[str | None, list[str]]:
    """``toBase64(a.b['c'])`` -> ("toBase64", ["a", "b", "c"]); ``a.b`` -> (None, ["a", "b"]). Fails as a parse
    error (fatal in every pass) on anything else flowship does not write."""
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = _EXPR_TOKEN.match(expression, position)
        if not match:
            raise ArgoTemplateError(f"failed to evaluate expression: unexpected token at {expression[position:]!r}")
        tokens.append(match.group("name") or match.group("string") or match.group("punct"))
        position = match.end()
    function = None
    if len(tokens) > 2 and tokens[1] == "(" and tokens[-1] == ")":
        function, tokens = tokens[0], tokens[2:-1]
        if function not in _EXPR_FUNCTIONS:
            raise ArgoTemplateError(f"the tests' Argo model does not know the function {function}()")
    keys, index = [], 0
    while index < len(tokens):
        token = tokens[index]
        if index == 0 and re.fullmatch(r"[A-Za-z_]\w*", token):
            keys.append(token)
            index += 1
        elif token == "." and index + 1 < len(tokens) and re.fullmatch(r"[A-Za-z_]\w*", tokens[index + 1]):
            keys.append(tokens[index + 1])
            index += 2
        elif token == "[" and index + 2 < len(tokens) and tokens[index + 1][0] in "'\"" and tokens[index + 2] == "]":
            keys.append(tokens[index + 1][1:-1])
            index += 3
        else:
            raise ArgoTemplateError(f"failed to evaluate expression {expression!r}: unexpected token {token!r}")
    if not keys:
        raise ArgoTemplateError(f"failed to evaluate expression {expression!r}: unexpected end of input")
    return function, keys


def _evaluate(expression: str, scope: Mapping[str, str]) -> str:
    function, keys = _parse(expression)
    value: Any = _nested(scope)
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise _Missing(".".join(keys))
        value = value[key]
    if isinstance(value, dict):
        raise ArgoTemplateError(f"the tests' Argo model does not insert maps ({expression!r})")
    return _EXPR_FUNCTIONS[function](value) if function else str(value)


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
