"""What the kubelet does to a container's env, command and args before the process starts.

Kubernetes expands ``$(NAME)`` from the container's environment in ``command``,
``args`` and env values (an env value sees only the variables defined before it),
turns ``$$`` into ``$``, leaves ``$(NAME)`` of an undefined name as written, and
copies any other ``$`` as is — the algorithm of Kubernetes'
``third_party/forked/golang/expansion``, restated here for the tests' runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["expand", "container_environment"]


def expand(text: str, variables: Mapping[str, str]) -> str:
    out: list[str] = []
    checkpoint = cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest = text[cursor + 1 :]
            if rest[0] == "$":  # an escaped operator
                out.append("$")
                advance = 1
            elif rest[0] == "(":
                closer = rest.find(")", 1)
                if closer == -1:  # an incomplete reference stays as written
                    out.append("$(")
                    advance = 1
                else:
                    name = rest[1:closer]
                    out.append(variables.get(name, f"$({name})"))
                    advance = closer + 1
            else:
                out.append("$" + rest[0])
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def container_environment(
    env: list[dict[str, Any]],
    env_from: Mapping[str, str] | None = None,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """The variables a container's ``env`` list declares: a ``value`` expanded against ``envFrom``'s and the
    ones declared before it, a ``valueFrom.secretKeyRef`` taken as stored (kubelet_pods.go
    makeEnvironmentVariables). A missing Secret or key raises KeyError: the pod cannot start."""
    seen = dict(env_from or {})
    result: dict[str, str] = {}
    for variable in env:
        reference = variable.get("valueFrom", {}).get("secretKeyRef")
        if reference:
            value = (secrets or {})[reference["name"]][reference["key"]]
        else:
            value = expand(variable.get("value", ""), seen)
        result[variable["name"]] = seen[variable["name"]] = value
    return result
