"""A task's ``when``, evaluated the way Argo's controller does, for the tests' runner.

Argo (``controller/dag.go`` resolveDependencyReferences, ``controller/steps.go`` shouldExecute) first
substitutes the ``when`` text strictly for ``tasks.*``/``steps.*`` (a name not known yet requeues the task,
so one that never comes keeps it waiting for ever), then evaluates it with govaluate, reading every bare
word as a string ("Succeeded == Succeeded"). A result that is not a boolean, or text govaluate cannot
parse, errors the task. Only what flowship writes is modelled: quoted strings, bare words, ``==``, ``!=``,
``&&``, ``||``, ``!`` and brackets.
"""

from __future__ import annotations

import re

__all__ = ["WhenError", "evaluate_when"]

_TOKEN = re.compile(r"\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|==|!=|&&|\|\||!|\(|\)|[A-Za-z0-9_.-]+)")


class WhenError(AssertionError):
    """Argo marks the task Error: ``Invalid 'when' expression``."""


def evaluate_when(text: str) -> bool:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match:
            raise WhenError(f"Invalid 'when' expression '{text}': unexpected text at {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    at = 0

    def peek() -> str | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> str:
        nonlocal at
        if at >= len(tokens):
            raise WhenError(f"Invalid 'when' expression '{text}': unexpected end")
        at += 1
        return tokens[at - 1]

    def operand() -> object:
        token = take()
        if token == "(":
            value = disjunction()
            if take() != ")":
                raise WhenError(f"Invalid 'when' expression '{text}': unbalanced brackets")
            return value
        if token == "!":
            value = operand()
            if not isinstance(value, bool):
                raise WhenError(f"Failed to evaluate 'when' expresion '{text}': ! of a string")
            return not value
        if token in ("==", "!=", "&&", "||", ")"):
            raise WhenError(f"Invalid 'when' expression '{text}': unexpected {token}")
        if token[0] in "'\"":
            return token[1:-1]
        return {"true": True, "false": False}.get(token, token)  # govaluate: variables become strings

    def comparison() -> object:
        left = operand()
        while peek() in ("==", "!="):
            negate = take() == "!="
            left = (left == operand()) != negate
        return left

    def conjunction() -> object:
        left = comparison()
        while peek() == "&&":
            take()
            right = comparison()
            if not isinstance(left, bool) or not isinstance(right, bool):
                raise WhenError(f"Failed to evaluate 'when' expresion '{text}': && of a string")
            left = left and right
        return left

    def disjunction() -> object:
        left = conjunction()
        while peek() == "||":
            take()
            right = conjunction()
            if not isinstance(left, bool) or not isinstance(right, bool):
                raise WhenError(f"Failed to evaluate 'when' expresion '{text}': || of a string")
            left = left or right
        return left

    result = disjunction()
    if at != len(tokens):
        raise WhenError(f"Invalid 'when' expression '{text}': unexpected {tokens[at]}")
    if not isinstance(result, bool):
        raise WhenError(f"Expected boolean evaluation for '{text}'. Got {result}")
    return result
