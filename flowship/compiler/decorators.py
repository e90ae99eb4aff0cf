"""Validate decorator arguments and normalize them into IR values.

Each supported decorator has a table entry: its arguments with their
defaults (Metaflow's, where Metaflow has the decorator) and one small function
that turns the literal arguments into an IR value or reports what is wrong.
A decorator flowship does not know is an error: silently dropping, say,
``@batch`` would run the step somewhere the user did not ask for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowship.compiler.cron import CronError, check_timezone, normalize_cron
from flowship.compiler.ir import Card, Catch, Kubernetes, ProjectIR, Resources, Retry, ScheduleIR, StepDecorators
from flowship.compiler.parse import NOT_LITERAL, RawCall
from flowship.compiler.pythonenv import (
    PACKAGE_ARGUMENTS,
    Declared,
    conda_base_problems,
    declared_packages,
    step_python_env,
)
from flowship.compiler.triggers import TRIGGER_DECORATORS
from flowship.errors import Problem
from flowship.expressions import ExpressionError, parse_expression

__all__ = [
    "STEP_DECORATORS",
    "FLOW_DECORATORS",
    "check_step_decorator",
    "accepted_decorators",
    "normalize_step_decorators",
    "normalize_flow_decorators",
]

STEP_DECORATORS: dict[str, dict[str, Any]] = {
    "resources": {"cpu": 1, "memory": 4096, "gpu": 0, "disk": None},
    "retry": {"times": 3, "minutes_between_retries": 2},
    "timeout": {"seconds": 0, "minutes": 0, "hours": 0},
    "catch": {"var": None, "print_exception": True},
    "environment": {"vars": {}},
    "kubernetes": {
        "image": None,
        "namespace": None,
        "service_account": None,
        "node_selector": None,
        "tolerations": None,
        "secrets": None,
        "cpu": None,
        "memory": None,
        "gpu": None,
        "disk": None,
    },
    "secrets": {"sources": []},
    "parallel": {},  # marks the step num_parallel= starts; checked with the graph (compiler/checks.py)
    "card": {
        "type": "default",
        "id": None,
        "options": {},
        "timeout": 45,
        "save_errors": True,
        "refresh_interval": 5,
        "customize": False,
    },
    **PACKAGE_ARGUMENTS,  # @pypi, @conda: merged with the flow's bases (compiler/pythonenv.py)
}
# Decorators a step may carry more than once, as in Metaflow (each @card is one more card).
REPEATABLE = frozenset({"card"})
CARD_TYPES = ("default", "blank", "html")
# Metaflow's pattern for a card id usable as current.card[id]; at most 100 long, since it names the card's file
_CARD_ID = re.compile(r"^[a-zA-Z0-9_]{1,100}$")
FLOW_DECORATORS: dict[str, dict[str, Any]] = {
    "schedule": {"hourly": False, "daily": True, "weekly": False, "cron": None, "timezone": None},
    "project": {"name": None, "gates": []},
    "pypi_base": PACKAGE_ARGUMENTS["pypi"],
    "conda_base": PACKAGE_ARGUMENTS["conda"],
    **TRIGGER_DECORATORS,  # normalized by compiler/triggers.py
}

_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_PROJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TOLERATION_KEYS = {"key", "operator", "value", "effect", "tolerationSeconds"}


class _Invalid(ValueError):
    """An argument value is wrong; the message says how to write it."""


@dataclass
class _Args:
    call: RawCall
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


def _number(value: Any, what: str, *, positive: bool = True, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise _Invalid(f"{what} must be {'a whole number' if integer else 'a number'}, got {value!r}")
    if (positive and value <= 0) or value < 0:
        raise _Invalid(f"{what} must be {'positive' if positive else 'zero or more'}, got {value!r}")
    return value


def _mebibytes(value: Any, what: str) -> int:
    """Memory and disk: a number of MiB (Metaflow's convention) or a quantity like '4Gi'."""
    if isinstance(value, str):
        match = _QUANTITY.match(value.strip())
        if not match:
            raise _Invalid(
                f"{what} '{value}' is not a size; write MiB as a number (4096) or a quantity ('4Gi', '512Mi')"
            )
        number, unit = float(match.group(1)), match.group(2)
        value = number * _UNITS[unit] / 2**20 if unit else number
    number = _number(value, what)
    return math.ceil(number)


def _millicores(value: Any) -> int:
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
        except ValueError:
            raise _Invalid(f"cpu '{value}' is not a number of cores; write 2, 0.5 or '500m'") from None
        value = number
    millicores = round(_number(value, "cpu") * 1000)
    if millicores < 1:
        raise _Invalid(f"cpu {value!r} is below one millicore")
    return millicores


def _string_map(value: Any, what: str) -> dict[str, str]:
    if isinstance(value, str):  # Metaflow accepts "k=v,k2=v2" for node selectors
        pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise _Invalid(f"{what} '{value}' is not of the form 'key=value,key2=value2'")
        value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _Invalid(f"{what} must be a dict of strings to strings, got {value!r}")
    return dict(sorted(value.items()))


def _names(value: Any, what: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{what} must be a list of names, got {value!r}")
    for name in value:
        if not pattern.match(name):
            raise _Invalid(f"{what} entry '{name}' is not a valid Kubernetes name (lowercase letters, digits, '-')")
    return tuple(value)


def _resources(a: _Args) -> Resources:
    gpu = _number(a["gpu"] or 0, "gpu", positive=False, integer=True)
    disk = None if a["disk"] is None else _mebibytes(a["disk"], "disk")
    return Resources(_millicores(a["cpu"]), _mebibytes(a["memory"], "memory"), gpu, disk)


def _retry(a: _Args) -> Retry:
    times = _number(a["times"], "times", positive=False, integer=True)
    return Retry(times, _number(a["minutes_between_retries"], "minutes_between_retries", positive=False))


def _timeout(a: _Args) -> int:
    parts = [_number(a[k], k, positive=False) for k in ("seconds", "minutes", "hours")]
    total = parts[0] + 60 * parts[1] + 3600 * parts[2]
    if total <= 0:
        raise _Invalid("the timeout is zero; give seconds=, minutes= or hours= a positive value")
    return math.ceil(total)


def _catch(a: _Args) -> Catch:
    var = a["var"]
    if var is not None and (not isinstance(var, str) or not var.isidentifier()):
        raise _Invalid(f"var must be an attribute name such as 'error', got {var!r}")
    if not isinstance(a["print_exception"], bool):
        raise _Invalid("print_exception must be True or False")
    return Catch(var, a["print_exception"])


def _environment(a: _Args) -> dict[str, str]:
    if not isinstance(a["vars"], dict):
        raise _Invalid(f"vars must be a dict of names to values, got {a['vars']!r}")
    env = {}
    for key, value in a["vars"].items():
        if not isinstance(key, str) or not _ENV_NAME.match(key):
            raise _Invalid(f"environment variable name {key!r} is invalid; use letters, digits and '_'")
        if isinstance(value, (dict, list)) or value is None:
            raise _Invalid(f"environment variable {key} must be a string or number, got {value!r}")
        env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return dict(sorted(env.items()))


def _tolerations(value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise _Invalid(f"tolerations must be a list of dicts, got {value!r}")
    for toleration in value:
        unknown = set(toleration) - _TOLERATION_KEYS
        if unknown:
            raise _Invalid(f"toleration keys {sorted(unknown)} are unknown; use {sorted(_TOLERATION_KEYS)}")
    return tuple(dict(sorted(t.items())) for t in value)


def _kubernetes(a: _Args) -> Kubernetes:
    for key, pattern in (("namespace", _DNS_LABEL), ("service_account", _DNS_SUBDOMAIN)):
        if a[key] is not None and (not isinstance(a[key], str) or not pattern.match(a[key])):
            raise _Invalid(f"{key} {a[key]!r} is not a valid Kubernetes name (lowercase letters, digits, '-')")
    if a["image"] is not None and (not isinstance(a["image"], str) or not a["image"].strip()):
        raise _Invalid(f"image must be an image reference string, got {a['image']!r}")
    return Kubernetes(
        image=a["image"],
        namespace=a["namespace"],
        service_account=a["service_account"],
        node_selector=_string_map(a["node_selector"] or {}, "node_selector"),
        tolerations=_tolerations(a["tolerations"] or []),
    )


def _secrets(a: _Args) -> tuple[str, ...]:
    if isinstance(a["sources"], list) and any(isinstance(s, dict) for s in a["sources"]):
        raise _Invalid("only Kubernetes Secret names are supported as sources, e.g. sources=['db-credentials']")
    return _names(a["sources"], "sources", _DNS_SUBDOMAIN)


def _card(a: _Args) -> Card:
    if a["type"] not in CARD_TYPES:
        raise _Invalid(f"type {a['type']!r} is not a card type flowship renders; use one of {', '.join(CARD_TYPES)}")
    if a["id"] is not None and (not isinstance(a["id"], str) or not _CARD_ID.match(a["id"])):
        raise _Invalid(
            f"id {a['id']!r} is not a card id; use up to 100 letters, digits and '_' "
            "(it names current.card[id] and its file)"
        )
    if not isinstance(a["options"], dict) or not all(isinstance(k, str) for k in a["options"]):
        raise _Invalid(f"options must be a dict with string keys, got {a['options']!r}")
    for flag in ("save_errors", "customize"):
        if not isinstance(a[flag], bool):
            raise _Invalid(f"{flag} must be True or False, got {a[flag]!r}")
    timeout = _number(a["timeout"], "timeout", integer=True)
    refresh = _number(a["refresh_interval"], "refresh_interval", integer=True)
    return Card(a["type"], a["id"], dict(a["options"]), timeout, a["save_errors"], refresh, a["customize"])


def _declared(a: _Args) -> Declared:
    try:
        return declared_packages(a.values)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _schedule(a: _Args) -> ScheduleIR:
    timezone = a["timezone"]
    try:
        if timezone is not None:
            if not isinstance(timezone, str):
                raise CronError(f"timezone must be a string, got {timezone!r}")
            check_timezone(timezone)
        if a["cron"] is not None:
            if not isinstance(a["cron"], str):
                raise CronError(f"cron must be a string, got {a['cron']!r}")
            return ScheduleIR(normalize_cron(a["cron"]), timezone, None)
    except CronError as exc:
        raise _Invalid(str(exc)) from None
    for preset, cron in (("weekly", "0 0 * * 0"), ("hourly", "0 * * * *"), ("daily", "0 0 * * *")):
        if a[preset] is True:
            return ScheduleIR(cron, timezone, preset)  # type: ignore[arg-type]
    raise _Invalid("hourly=, daily= and weekly= take True or False; set one of them to True, or give cron='...'")


def _project(a: _Args) -> ProjectIR:
    name = a["name"]
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        raise _Invalid(
            f"name {name!r} is not a valid project name; "
            "use up to 40 lowercase letters, digits and '_', starting with a letter"
        )
    return ProjectIR(name, _gates(a["gates"]))


def _gates(value: Any) -> tuple[str, ...]:
    """Each gate must parse in the safe expression language; a malformed one is reported here, at check."""
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise _Invalid(f"gates must be a list of expressions (strings), got {value!r}")
    for text in value:
        try:
            parse_expression(text)
        except ExpressionError as exc:
            raise _Invalid(str(exc)) from None
    return tuple(text.strip() for text in value)


_NORMALIZERS: dict[str, Callable[[_Args], Any]] = {
    "resources": _resources,
    "retry": _retry,
    "timeout": _timeout,
    "catch": _catch,
    "environment": _environment,
    "kubernetes": _kubernetes,
    "secrets": _secrets,
    "parallel": lambda a: True,
    "card": _card,
    **{name: _declared for name in ("pypi", "conda", "pypi_base", "conda_base")},
    "schedule": _schedule,
    "project": _project,
}


def _bind(call: RawCall, spec: dict[str, Any], file: str, problems: list[Problem]) -> _Args | None:
    """Match a call's arguments to the decorator's, reporting unknown or non-literal ones."""
    where = f"@{call.name}"
    ok = True
    if call.args:
        problems.append(
            Problem(
                file,
                call.line,
                f"{where} takes keyword arguments only",
                f"write e.g. @{call.name}({next(iter(spec))}=...)",
            )
        )
        ok = False
    for key, value in call.kwargs.items():
        if key not in spec:
            problems.append(
                Problem(file, call.line, f"{where} has no argument '{key}'", f"use one of: {', '.join(spec)}")
            )
            ok = False
        elif value is NOT_LITERAL:
            problems.append(
                Problem(
                    file,
                    call.line,
                    f"{where} argument '{key}' is not a literal value",
                    "write a number, string, list or dict (or a module-level constant bound to one)",
                )
            )
            ok = False
    return _Args(call, {**spec, **call.kwargs}) if ok else None


def _normalize(call: RawCall, spec: dict[str, Any], file: str, problems: list[Problem]) -> Any:
    args = _bind(call, spec, file, problems)
    if args is None:
        return None
    try:
        return _NORMALIZERS[call.name](args)
    except _Invalid as exc:
        problems.append(Problem(file, call.line, f"@{call.name}: {exc}", "fix the argument"))
        return None


def _normalize_calls(
    calls: list[RawCall], table: dict[str, dict[str, Any]], where: str, file: str, problems: list[Problem]
) -> dict[str, Any]:
    """Normalize each known decorator once; report unknown and repeated ones."""
    values: dict[str, Any] = {}
    scope = "step" if table is STEP_DECORATORS else "flow"
    for call in calls:
        if call.name not in table:
            problems.append(
                Problem(
                    file,
                    call.line,
                    f"@{call.name} is not a decorator flowship supports on {where}",
                    f"remove it, or use one of: {', '.join('@' + k for k in accepted_decorators(scope))}",
                )
            )
        elif call.name in REPEATABLE:
            values.setdefault(call.name, []).append(_normalize(call, table[call.name], file, problems))
        elif call.name in values:
            problems.append(Problem(file, call.line, f"@{call.name} appears twice on {where}", "keep one"))
        else:
            values[call.name] = _normalize(call, table[call.name], file, problems)
    return values


def check_step_decorator(call: RawCall) -> list[str]:
    """What is wrong with one step decorator given on its own (``--with``), as messages."""
    problems: list[Problem] = []
    _normalize_calls([call], STEP_DECORATORS, "--with", "", problems)
    return [f"{p.message} — {p.fix}" for p in problems if p.is_error]


def accepted_decorators(scope: str) -> list[str]:
    """Decorator names allowed on a step or a flow."""
    return list(STEP_DECORATORS if scope == "step" else FLOW_DECORATORS)


def normalize_step_decorators(
    step: str, calls: list[RawCall], file: str, problems: list[Problem], base: Mapping[str, Declared] | None = None
) -> StepDecorators:
    """A step's decorators; ``base`` holds the flow's @pypi_base/@conda_base, which its @pypi/@conda extend."""
    values = _normalize_calls(calls, STEP_DECORATORS, f"step '{step}'", file, problems)
    kubernetes = values.get("kubernetes")
    resources = _merge_kubernetes_resources(values.get("resources"), calls, file, problems)
    return StepDecorators(
        resources=resources,
        retry=values.get("retry"),
        timeout_seconds=values.get("timeout"),
        catch=values.get("catch"),
        environment=values.get("environment") or {},
        kubernetes=kubernetes,
        secrets=tuple(dict.fromkeys((values.get("secrets") or ()) + _kubernetes_secrets(calls, file, problems))),
        cards=_cards(step, values.get("card") or [], calls, file, problems),
        python_env=_python_env(step, values, base or {}, calls, file, problems),
    )


def _cards(step: str, cards: list[Card | None], calls: list[RawCall], file: str, problems: list[Problem]) -> tuple:
    """A step's cards in written order; two with one id could not both be ``current.card[id]``."""
    lines = [c.line for c in calls if c.name == "card"]
    ids: set[str] = set()
    for card, line in zip(cards, lines, strict=True):
        if card is not None and card.id is not None:
            if card.id in ids:
                problems.append(
                    Problem(
                        file, line, f"@card: two cards with id '{card.id}' on step '{step}'", "give each its own id"
                    )
                )
            ids.add(card.id)
    return tuple(c for c in cards if c is not None)


def _python_env(
    step: str,
    values: dict[str, Any],
    base: Mapping[str, Declared],
    calls: list[RawCall],
    file: str,
    problems: list[Problem],
) -> Any:
    own = {name: values[name] for name in PACKAGE_ARGUMENTS if values.get(name) is not None}
    line = next((c.line for c in calls if c.name in own), min((c.line for c in calls), default=0))
    return step_python_env(step, own, base, file, line, problems)


def _kubernetes_secrets(calls: list[RawCall], file: str, problems: list[Problem]) -> tuple[str, ...]:
    for call in calls:
        if call.name == "kubernetes" and call.kwargs.get("secrets") not in (None, NOT_LITERAL):
            try:
                return _names(call.kwargs["secrets"], "secrets", _DNS_SUBDOMAIN)
            except _Invalid as exc:
                problems.append(Problem(file, call.line, f"@kubernetes: {exc}", "fix the argument"))
    return ()


def _merge_kubernetes_resources(
    resources: Resources | None, calls: list[RawCall], file: str, problems: list[Problem]
) -> Resources | None:
    """@kubernetes(cpu=, memory=, ...) combines with @resources by taking the larger value, as in Metaflow."""
    for call in calls:
        if call.name != "kubernetes":
            continue
        given = {k: call.kwargs.get(k) for k in ("cpu", "memory", "gpu", "disk")}
        given = {k: v for k, v in given.items() if v is not None and v is not NOT_LITERAL}
        if not given:
            return resources
        try:
            extra = _resources(_Args(call, {**STEP_DECORATORS["resources"], **given}))
        except _Invalid as exc:
            problems.append(Problem(file, call.line, f"@kubernetes: {exc}", "fix the argument"))
            return resources
        if resources is None:
            return extra
        disks = [d for d in (resources.disk_mib, extra.disk_mib) if d is not None]
        return Resources(
            max(resources.cpu_millicores, extra.cpu_millicores),
            max(resources.memory_mib, extra.memory_mib),
            max(resources.gpu, extra.gpu),
            max(disks) if disks else None,
        )
    return resources


def normalize_flow_decorators(
    calls: list[RawCall], file: str, problems: list[Problem]
) -> tuple[ScheduleIR | None, ProjectIR | None, dict[str, Declared]]:
    """The flow's schedule, project, and its @pypi_base/@conda_base for the steps to extend."""
    chosen = [c for c in calls if c.name != "schedule" or _chooses_a_schedule(c, file, problems)]
    values = _normalize_calls(chosen, FLOW_DECORATORS, "a flow", file, problems)
    bases = {name: values[name] for name in ("pypi_base", "conda_base") if values.get(name) is not None}
    if "conda_base" in bases:
        line = next(c.line for c in chosen if c.name == "conda_base")
        problems += conda_base_problems(bases["conda_base"], file, line)
    return values.get("schedule"), values.get("project"), bases


def _chooses_a_schedule(call: RawCall, file: str, problems: list[Problem]) -> bool:
    """``@schedule(daily=False)`` alone means no schedule in Metaflow: the flow is deployed without one."""
    given = {**FLOW_DECORATORS["schedule"], **call.kwargs}
    if any(given[k] not in (False, None) for k in ("hourly", "daily", "weekly", "cron")):
        return True
    problems.append(
        Problem(
            file,
            call.line,
            "@schedule chooses no schedule (every preset False, no cron): the flow is deployed unscheduled, "
            "as in Metaflow",
            "remove @schedule, or set daily=True, hourly=True, weekly=True or cron='...'",
            "warning",
        )
    )
    return False
