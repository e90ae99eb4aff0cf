"""Commands that reach a scheduler: compile, deploy, promote, delete, trigger.

Targets and their providers declare their own options (``Target.options``,
``Deployer.options``); this module only turns them into command-line options
and prints what ``flowship.deploy`` returns.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flowship.cli import promoting
from flowship.cli.common import count, output_path, print_problems
from flowship.cli.options import (
    add_parser,
    config_options,
    deploy_settings,
    deployer_from_args,
    evaluation_inputs,
    load_checked_flow,
    provider_arguments,
    target_options,
    trigger_parser,
)
from flowship.compiler.targets import get_target, target_names
from flowship.errors import FlowshipError

__all__ = ["add_commands"]

_DONE = {"create": "created", "replace": "replaced", "apply": "applied", "delete": "deleted", "absent": "absent"}


def _print_compiled(compiled: Any) -> bool:
    """Warnings and errors on stderr, once; True when the output can be used."""
    print_problems(compiled.problems, file=sys.stderr)
    return not compiled.errors


# compile ----------------------------------------------------------------------------------


def _upload_for_compile(args: argparse.Namespace, build: Any) -> None:
    """What the output names must exist for it to run as is: upload the code package and the steps' environments,
    unless told not to."""
    from flowship.deploy import upload_code

    options = build.compiled.options
    what = [f"code package {options.package_sha[:12]}"] if options.package_sha else []
    what += [f"{count(len(build.environments), 'environment')} and their wheels"] if build.environments else []
    if not what:
        return  # the code is in the image
    if args.no_upload:
        print(
            f"not uploaded: the output runs once {' and '.join(what)} are in "
            f"{options.datastore} (flow deploy, or flow compile without --no-upload, puts them there)",
            file=sys.stderr,
        )
        return
    upload_code(build)
    print(f"uploaded {' and '.join(what)} to {options.datastore}", file=sys.stderr)


def _compile(args: argparse.Namespace) -> int:
    from flowship.deploy import build_deployment

    ir = load_checked_flow(args.flow_file, evaluation_inputs(args, deploy_time=True))
    build = build_deployment(args.flow_file, ir, deploy_settings(args))
    if not _print_compiled(build.compiled):
        return 1
    to_stdout = args.output in (None, "-")
    suffix = get_target(args.target).suffix
    wrong = f"{args.target} output is a {suffix} file; name it *{suffix} or give a folder"
    path = "" if to_stdout else str(output_path(args.output, build.compiled.name + suffix, (suffix,), wrong))
    _upload_for_compile(args, build)
    if to_stdout:
        sys.stdout.write(build.compiled.text)
        return 0
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(build.compiled.text)
    except OSError as exc:
        raise FlowshipError(f"-o {args.output}: cannot write {path} ({exc.strerror})") from None
    code = f"code package {build.package.sha[:12]}" if build.compiled.options.package_sha else "code in the image"
    print(f"wrote {path} ({args.target}, {code})", file=sys.stderr)
    return 0


# deploy, promote, delete ------------------------------------------------------------------


def _deploy(args: argparse.Namespace) -> int:
    from flowship.deploy import build_deployment

    ir = load_checked_flow(args.flow_file, evaluation_inputs(args, deploy_time=True))
    return _apply(args, build_deployment(args.flow_file, ir, deploy_settings(args)))


def _promote(args: argparse.Namespace) -> int:
    return promoting.promote(args, _apply)  # gates and rollback first; then the same plan and apply as deploy


def _apply(args: argparse.Namespace, build: Any) -> int:
    """Say what will be created or replaced, then (unless --dry-run) upload the code and apply."""
    from flowship.deploy import apply_deployment, plan_deployment

    if not _print_compiled(build.compiled):
        return 1
    deployer = deployer_from_args(args, "deploy")
    compiled = build.compiled
    if compiled.options.package_sha:
        print(
            f"code package {build.package.sha[:12]} ({len(build.package.files)} files) -> {compiled.options.datastore}"
        )
    else:
        print(f"code in the image {compiled.options.image}: {compiled.options.flow_path}")
    if deployer.check_description:
        print(f"{deployer.check_description} …", flush=True)
    plan = plan_deployment(build, deployer, dry_run=args.dry_run)
    if plan.check:
        print(plan.check)
    if plan.unread:
        print(f"cannot tell what exists ({plan.unread}); create or replace:")
    for change in plan.changes:
        print(f"will {change}")
    if args.dry_run:
        print("dry run: nothing uploaded or applied")
        return 0
    for change in apply_deployment(plan, deployer):
        print(f"{_DONE[change.action]} {change.what}")
    for note in deployer.status(compiled.name):
        print(note)
    return 0


def _delete(args: argparse.Namespace) -> int:
    from flowship.deploy import build_deployment
    from flowship.flowfile import load_flow

    ir = load_flow(args.flow_file, evaluation_inputs(args, deploy_time=True))
    name = build_deployment(args.flow_file, ir, deploy_settings(args), resolve_environments=False).compiled.name
    deployer = deployer_from_args(args, "delete")
    try:
        changes = deployer.plan_delete(name)
    except FlowshipError as exc:
        if not args.dry_run:
            raise
        print(f"cannot tell what exists ({exc})\ndry run: nothing deleted")
        return 0
    for change in changes:
        print(f"will {change}" if change.action != "absent" else str(change))
    if args.dry_run or all(c.action == "absent" for c in changes):
        print("dry run: nothing deleted" if args.dry_run else "nothing to delete")
        return 0
    for change in deployer.delete(name):
        if change.action != "absent":
            print(f"{_DONE[change.action]} {change.what}")
    return 0


# trigger ----------------------------------------------------------------------------------


def _trigger(args: argparse.Namespace, extra: list[str]) -> int:
    from flowship.deploy import deployment_name
    from flowship.runtime.runs import current_user

    base = trigger_parser(f"flow trigger {args.flow_name or 'FLOW_NAME'}")
    options, _rest = base.parse_known_args(extra)
    if args.flow_name is None or options.target is None:
        if options.help:
            base.print_help()
            return 0
        raise FlowshipError("flow trigger needs FLOW_NAME and --target " + "|".join(target_names()))
    name = deployment_name(
        args.flow_name,
        project=options.project,
        branch=options.branch,
        production=options.production,
        user=current_user(),
        name=options.deployment,
    )
    try:
        deployer = deployer_from_args(options, "trigger")
        kinds = deployer.parameters(name)
    except FlowshipError:
        if not options.help:
            raise
        base.print_help()
        print(f"\n(the parameters of {name} are listed here once its scheduler can be reached)")
        return 0
    parser = trigger_parser(f"flow trigger {args.flow_name} --target {options.target}")
    group = parser.add_argument_group(f"parameters of {name}")
    for parameter, kind in kinds.items():
        group.add_argument(f"--{parameter}", dest=f"param:{parameter}", metavar=kind.upper())
    values = parser.parse_args(extra)
    if values.help:
        parser.print_help()
        return 0
    given = {k.split(":", 1)[1]: v for k, v in vars(values).items() if k.startswith("param:") and v is not None}
    for note in deployer.status(name):
        print(note)
    started = deployer.trigger(name, given)
    print(f"started {started.what}; the run is {args.flow_name}/{started.run_id}")
    return 0


# event publish ----------------------------------------------------------------------------


def _publish(args: argparse.Namespace) -> int:
    import json

    from flowship.runtime.triggering import published_event

    try:
        payload = json.loads(args.payload) if args.payload else {}
    except ValueError as exc:
        raise FlowshipError(f"--payload is not JSON ({exc}); give an object, e.g. --payload '{{\"day\": 1}}'") from None
    if not isinstance(payload, dict):
        raise FlowshipError(f"--payload must be a JSON object (field: value), not {type(payload).__name__}")
    deployer = deployer_from_args(args, "publish")
    print(f"published {deployer.publish(published_event(args.event_name, payload))}")
    return 0


def add_commands(commands: Any) -> None:
    compile_ = add_parser(commands, "compile", "compile a flow for a scheduler (an Argo manifest, an Airflow DAG file)")
    compile_.add_argument("flow_file", help="path of the flow's .py file")
    compile_.add_argument("-o", "--output", help="file or folder to write (default: standard output)")
    compile_.add_argument(
        "--no-upload",
        action="store_true",
        help="do not put the code package in the store (the output then runs only once it is)",
    )
    target_options(compile_)
    config_options(compile_)
    compile_.set_defaults(handler=_compile)

    for name, text in (
        ("deploy", "upload the code package and create or replace the deployment"),
        ("promote", "deploy the exact code and parameters of a finished run: FLOW/RUN"),
        ("delete", "delete a flow's deployment (what flow deploy created)"),
    ):
        sub = add_parser(commands, name, text)
        if name == "promote":
            sub.add_argument("pathspec", help="the run to promote, FLOW/RUN_ID (with --rollback: FLOW)")
            sub.add_argument(
                "--from-datastore",
                help="the store the run is in (default: where flow run stores runs from here, "
                "then --datastore); the deployment itself uses --datastore",
            )
            promoting.promote_arguments(sub)
        else:
            sub.add_argument("flow_file", help="path of the flow's .py file")
        sub.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
        target_options(sub)
        if name != "promote":  # a promoted run keeps the configs it ran with
            config_options(sub)
        provider_arguments(sub, "delete" if name == "delete" else "deploy")
        sub.set_defaults(handler={"deploy": _deploy, "promote": _promote, "delete": _delete}[name])

    trigger = add_parser(
        commands, "trigger", "start a run of a deployed flow: FLOW_NAME --target T --<param> VALUE ...", add_help=False
    )
    trigger.add_argument("flow_name", nargs="?", help="the flow's name, e.g. HelloFlow")
    trigger.set_defaults(handler=_trigger, takes_extra=True)

    event = add_parser(commands, "event", "events for flows deployed with @trigger")
    actions = event.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    publish = add_parser(actions, "publish", "publish an event: deployed flows with @trigger on it start")
    publish.add_argument("event_name", help="the event's name, as in @trigger(event=...)")
    publish.add_argument("--payload", help="the event's payload, a JSON object; mapped fields set parameters")
    publish.add_argument("--target", choices=target_names(), required=True)
    publish.add_argument("--namespace", help=argparse.SUPPRESS)  # no Kubernetes object is read
    provider_arguments(publish, "publish")
    publish.set_defaults(handler=_publish)
