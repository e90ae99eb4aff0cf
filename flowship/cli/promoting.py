"""``flow promote`` with its guardrails (``--gate``, ``--rollback``) and ``flow promotions``.

A promotion finds the run, compiles its recorded code, evaluates the gates
against the current production run (printing every value compared), and
only then plans and applies through the same path as ``flow deploy``
(``deploying.apply_build``). Every outcome that changes or refuses production
is recorded in the deployment's store (``runtime/promotions.py``); a dry run
records nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from flowship.cli.options import add_parser, datastore_option
from flowship.errors import FlowshipError
from flowship.expressions import parse_expression

__all__ = ["promote_arguments", "promote", "add_commands"]

Apply = Callable[[argparse.Namespace, Any], int]


def promote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="EXPR",
        help="promote only if EXPR holds, e.g. 'accuracy >= production.accuracy - 0.01' (repeatable; names are "
        "the run's artifacts, production.NAME the current production run's)",
    )
    parser.add_argument(
        "--gate-if-no-production",
        choices=("pass", "fail"),
        default="fail",
        help="what a gate reading production.NAME does when nothing is in production yet (default: fail)",
    )
    parser.add_argument(
        "--rollback",
        nargs="?",
        type=int,
        const=1,
        metavar="N",
        help="deploy again the code and parameters promoted N promotions before the current one (default 1); "
        "give FLOW instead of FLOW/RUN",
    )


def _version() -> str:
    from flowship import __version__

    return __version__


def _record(build: Any, **fields: Any) -> Any:
    """A history record in the deployment's store, for the deployment ``build`` made."""
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.promotions import record_promotion

    options = build.compiled.options
    store = FlowDatastore(open_storage(options.datastore), build.flow)
    return record_promotion(
        store,
        namespace=options.run_namespace,
        project=options.project,
        branch=options.branch,
        code_package={"sha": build.package.sha, "flow_path": build.package.flow_path},
        deployment=build.compiled.name,
        **fields,
    )


def _gate(args: argparse.Namespace, source: Any, build: Any) -> Any:
    """Evaluate --gate against the current production run of the deployment's namespace; print what it read."""
    from flowship.providers.storage import open_storage
    from flowship.runtime.client import Run
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.gates import artifact_lookup, check_gates
    from flowship.runtime.promotions import current_production

    options = build.compiled.options
    store = FlowDatastore(open_storage(options.datastore), build.flow)
    flow, run_id = source.pathspec.split("/")
    candidate = Run(FlowDatastore(open_storage(source.datastore), flow), run_id).data
    production = current_production(store, options.run_namespace)
    report = check_gates(
        args.gate,
        artifact_lookup(candidate, f"run {source.pathspec}"),
        production,
        store,
        if_no_production=args.gate_if_no_production,
        rule=f"--gate-if-no-production {args.gate_if_no_production}",
    )
    for line in report.lines():
        print(line)
    return report


def promote(args: argparse.Namespace, apply: Apply) -> int:
    """``flow promote FLOW/RUN``: gates, then plan and apply; ``flow promote FLOW --rollback [N]``."""
    from flowship.cli.options import deploy_settings
    from flowship.deploy import build_deployment
    from flowship.runtime.locate import locate_store
    from flowship.runtime.promote import promotable
    from flowship.runtime.promotions import environment_of

    if args.rollback is not None:
        return _rollback(args, apply)
    for gate in args.gate:  # a malformed gate is the command's error, before anything is read or recorded
        parse_expression(gate)
    if args.from_datastore:
        stores = [locate_store(args.from_datastore).url]
    else:  # where flow run put it from here, then the deployment's own store
        stores = [locate_store(None).url] + ([locate_store(args.datastore).url] if args.datastore else [])
    source = promotable(args.pathspec, stores)
    print(
        f"promoting {source.pathspec} from {source.datastore}: code package {source.package.sha[:12]}, "
        f"parameters {source.parameters}"
    )
    build = build_deployment(
        source.flow_file,
        source.ir,
        deploy_settings(args),
        package=source.package,
        promoted_from=source.pathspec,
        pinned_environments=source.environments,
    )
    report = _gate(args, source, build) if args.gate else None
    history = {
        "kind": "promote",
        "run": source.pathspec,
        "run_datastore": source.datastore,
        "parameters": source.parameters,
        "environment": environment_of(
            build.compiled.options.environments, image=build.compiled.options.image, flowship=_version()
        ),
        "gates": tuple(r.to_dict() for r in report.results) if report else (),
        "target": args.target,
    }
    if report is not None and not report.passed:
        if args.dry_run:
            print(f"dry run: would be held back — {report.reason}")
            return 1
        _record(build, outcome="held back", reason=report.reason, **history)
        print(f"held back: {report.reason}; nothing deployed")
        return 1
    code = apply(args, build)
    if code == 0 and not args.dry_run:
        reason = report.reason if report else "no gates"
        _record(build, outcome="promoted", reason=reason, **history)
        print(f"recorded: {source.pathspec} is the production run of {build.compiled.options.run_namespace}")
    return code


def _rollback(args: argparse.Namespace, apply: Apply) -> int:
    from flowship.cli.options import deploy_settings
    from flowship.deploy import build_deployment
    from flowship.deploy.naming import deployment_of
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.locate import locate_store
    from flowship.runtime.promote import from_package
    from flowship.runtime.promotions import DEPLOYING, promotion_history, rollback_target
    from flowship.runtime.runs import current_user

    if "/" in args.pathspec.strip("/") or args.gate:
        raise FlowshipError(
            f"flow promote --rollback takes the flow's name (e.g. {args.pathspec.split('/')[0]}) and no --gate: "
            "it deploys again what was promoted before"
        )
    flow = args.pathspec.strip("/")
    store = FlowDatastore(open_storage(locate_store(args.datastore).url), flow)
    deployed = [p for p in promotion_history(store) if p.kind in DEPLOYING and p.target == args.target]
    project = deployed[-1].project if deployed else None
    namespace = deployment_of(
        flow, project, branch=args.branch, production=args.production, user=current_user()
    ).namespace
    target = rollback_target(store, namespace, args.target, args.rollback)
    if not target.code_package:
        raise FlowshipError(f"the promotion of {target.run} ({target.when}) recorded no code package")
    source = from_package(store, target.run, target.code_package, target.parameters)
    print(
        f"rolling back {args.rollback}: {target.run} as promoted {target.when} by {target.by}, code package "
        f"{source.package.sha[:12]}, parameters {source.parameters}"
    )
    build = build_deployment(
        source.flow_file, source.ir, deploy_settings(args), package=source.package, promoted_from=target.run
    )
    code = apply(args, build)
    if code == 0 and not args.dry_run:
        _record(
            build,
            kind="rollback",
            outcome="promoted",
            reason=f"rolled back {args.rollback}: deployed again what was promoted {target.when}",
            run=target.run,
            run_datastore=target.run_datastore,
            parameters=dict(target.parameters),
            environment={**target.environment, "flowship": _version()},
            target=args.target,
            rolled_back_to=target.id,
        )
        print(f"recorded: {target.run} is the production run of {namespace} again")
    return code


# flow promotions ---------------------------------------------------------------------------


def _promotions(args: argparse.Namespace) -> int:
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.locate import locate_store
    from flowship.runtime.promotions import promotion_history

    location = locate_store(args.datastore)
    store = FlowDatastore(open_storage(location.url), args.flow)
    history = promotion_history(store, project=args.project, namespace=args.namespace)
    if not history:
        print(f"no promotions of {args.flow} in {location.url}" + (f" in project {args.project}" * bool(args.project)))
        return 0
    current = {}
    for promotion in history:
        if promotion.promoted:
            current[promotion.namespace] = promotion.id
    for promotion in reversed(history) if args.newest_first else history:
        package = (promotion.code_package or {}).get("sha", "")[:12] or "-"
        where = f" -> {promotion.target} {promotion.deployment}" if promotion.target else ""
        mark = "  (current production run)" if current.get(promotion.namespace) == promotion.id else ""
        print(f"{promotion.when}  {promotion.kind:<8}  {promotion.outcome:<9}  {promotion.run}{mark}")
        print(f"    by {promotion.by} in {promotion.namespace}{where}; code package {package}")
        if promotion.parameters:
            print("    parameters " + ", ".join(f"{k}={v}" for k, v in sorted(promotion.parameters.items())))
        print(f"    {promotion.reason}")
        for gate in promotion.gates:
            verdict = "passed" if gate["passed"] else "FAILED"
            print(f"    gate {gate['expression']}: {verdict}" + (f" ({gate['error']})" if gate.get("error") else ""))
            for name, value in gate["values"].items():
                print(f"        {name} = {value}")
    return 0


def add_commands(commands: Any) -> None:
    listing = add_parser(commands, "promotions", "list a flow's promotions, held-back attempts and rollbacks")
    listing.add_argument("flow", metavar="FLOW", help="the flow's name, e.g. DailyRetrainFlow")
    listing.add_argument("--project", help="only this @project's promotions")
    listing.add_argument("--namespace", help="only this namespace's, e.g. production:wine.prod")
    listing.add_argument("--newest-first", action="store_true", help="list the newest first")
    datastore_option(listing)
    listing.set_defaults(handler=_promotions)
