"""Promotion gates: compare a candidate run's artifacts with the current production run's.

``flow promote --gate EXPR`` and ``@project(name=..., gates=[...])`` both
come here: each gate is an expression of the safe language in
``flowship/expressions.py``, where a name is an artifact of the candidate
run's end step and ``production.NAME`` one of the current production run
(``promotions.current_production``). Every gate is evaluated, and every value
it read is kept for printing and for the history. A gate that cannot be
evaluated (an unknown artifact, a type mismatch) fails with the reason; a
gate reading ``production.`` where there is no production run yet passes or
fails as ``if_no_production`` says.

:func:`decide_in_flow` is what the end task of a run does with in-flow gates:
a production run records "promoted" or "held back, why" in the history;
any other run only says the gates are not its to decide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from flowship.expressions import PRODUCTION, ExpressionError, UnknownName, evaluate, parse_expression, shown
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.promotions import (
    Promotion,
    current_production,
    environment_of,
    record_promotion,
    run_environment_ids,
)

__all__ = ["GateResult", "GateReport", "check_gates", "artifact_lookup", "decide_in_flow", "IfNoProduction"]

IfNoProduction = Literal["pass", "fail"]


@dataclass(frozen=True)
class GateResult:
    expression: str
    passed: bool
    values: Mapping[str, str]  # every name it read, with its value as printed
    error: str | None = None  # why it could not be evaluated, or why it passed without a production run

    def lines(self) -> list[str]:
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"gate {self.expression}: {verdict}" + (f" ({self.error})" if self.error else "")]
        lines += [f"    {name} = {value}" for name, value in self.values.items()]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression, "passed": self.passed, "values": dict(self.values), "error": self.error}


@dataclass(frozen=True)
class GateReport:
    results: tuple[GateResult, ...]
    production: Promotion | None

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def reason(self) -> str:
        failed = [r for r in self.results if not r.passed]
        against = f" against production run {self.production.run}" if self.production else ""
        if not failed:
            return f"{len(self.results)} gate{'s' if len(self.results) != 1 else ''} passed{against}"
        failures = [f"{r.expression} failed" + (f": {r.error}" if r.error else f" ({_values(r)})") for r in failed]
        return "; ".join(failures) + against

    def lines(self) -> list[str]:
        head = f"production run: {self.production.run}" if self.production else "production run: none yet"
        return [head] + [line for result in self.results for line in result.lines()]


def _values(result: GateResult) -> str:
    return ", ".join(f"{name} = {value}" for name, value in result.values.items())


def artifact_lookup(data: Any, what: str) -> Callable[[str], Any]:
    """A name's value among ``data``'s artifacts (a Client ``run.data``, or a mapping); UnknownName if absent."""

    def lookup(name: str) -> Any:
        present = name in data
        if not present:
            names = sorted(data) if isinstance(data, Mapping) else dir(data)
            raise UnknownName(f"{what} has no artifact '{name}' (it has {', '.join(names) or 'none'})")
        return data[name] if isinstance(data, Mapping) else getattr(data, name)

    return lookup


def _production_data(production: Promotion, store: FlowDatastore) -> Any:
    """The production run's end artifacts: from the store it ran in, else from this store."""
    from flowship.providers.storage import open_storage
    from flowship.runtime.client import Run

    run_id = production.run.split("/", 1)[1]
    problems = []
    for url in dict.fromkeys([production.run_datastore, store.storage.url]):
        try:
            return Run(FlowDatastore(open_storage(url), store.flow_name), run_id).data
        except Exception as exc:  # a store not reachable from here, or the run not in it: try the next one
            problems.append(f"{url}: {exc}")
    raise UnknownName(f"the production run {production.run} cannot be read ({'; '.join(problems)})")


def check_gates(
    expressions: Sequence[str],
    candidate: Callable[[str], Any],
    production: Promotion | None,
    store: FlowDatastore,
    *,
    if_no_production: IfNoProduction,
    rule: str,
) -> GateReport:
    """Evaluate every gate; ``candidate`` looks up the candidate's artifacts (see :func:`artifact_lookup`).
    ``rule`` says where ``if_no_production`` comes from, for the message."""
    production_data: list[Any] = []

    def lookup(name: str) -> Any:
        if not name.startswith(PRODUCTION + "."):
            return candidate(name)
        if production is None:
            raise UnknownName("no production run yet")
        if not production_data:
            production_data.append(_production_data(production, store))
        return artifact_lookup(production_data[0], f"the production run {production.run}")(name.split(".", 1)[1])

    results = []
    for text in expressions:
        try:
            expression = parse_expression(text)
        except ExpressionError as exc:
            results.append(GateResult(text, False, {}, str(exc)))
            continue
        if expression.reads_production and production is None:
            verb = "passes" if if_no_production == "pass" else "fails"
            note = f"no production run yet, so it {verb}: {rule}"
            results.append(GateResult(expression.text, if_no_production == "pass", {}, note))
            continue
        seen: dict[str, Any] = {}

        def reading(name: str, seen: dict[str, Any] = seen) -> Any:
            seen[name] = lookup(name)
            return seen[name]

        try:
            value, _ = evaluate(expression, reading)
        except ExpressionError as exc:
            results.append(GateResult(expression.text, False, {k: shown(v) for k, v in seen.items()}, str(exc)))
            continue
        values = {name: shown(v) for name, v in seen.items()}
        if not isinstance(value, bool):
            why = f"it gives {type(value).__name__} {shown(value)}, not True or False — compare it, e.g. x > 0"
            results.append(GateResult(expression.text, False, values, why))
            continue
        results.append(GateResult(expression.text, value, values))
    return GateReport(tuple(results), production)


def decide_in_flow(ir: Any, run: Mapping[str, Any], store: FlowDatastore, artifacts: Any) -> None:
    """At the end of a run of a flow with ``@project(gates=...)``: a production run promotes itself or is held
    back, and says which in its log and in the history; other runs leave production alone."""
    gates = ir.project.gates if ir.project else ()
    if not gates:
        return
    namespace = run["namespace"]
    if not namespace.startswith("production:"):
        print(f"gates: not evaluated — this run is in {namespace}; @project gates decide for production runs")
        return
    pathspec = f"{ir.name}/{run['run_id']}"
    production = current_production(store, namespace)
    report = check_gates(
        gates,
        artifact_lookup(artifacts, f"run {pathspec}"),
        production,
        store,
        if_no_production="pass",
        rule="@project gates let the first production run through",
    )
    for line in report.lines():
        print(line)
    outcome = "promoted" if report.passed else "held back"
    record_promotion(
        store,
        kind="in-flow",
        outcome=outcome,
        reason=report.reason,
        run=pathspec,
        run_datastore=store.storage.url,
        namespace=namespace,
        project=run.get("project"),
        branch=run.get("branch"),
        code_package=run.get("code_package"),
        parameters=dict(run.get("parameters") or {}),
        environment=environment_of(run_environment_ids(store, run)),
        gates=tuple(result.to_dict() for result in report.results),
    )
    print(f"{pathspec}: {outcome} — {report.reason}")
