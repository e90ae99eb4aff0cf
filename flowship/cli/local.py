"""Commands on this machine: check, show, run, resume, step, logs, runs."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from flowship.cli.common import count, print_problems, quote_command, relative
from flowship.cli.options import (
    add_parser,
    compile_options_given,
    config_options,
    datastore_option,
    deploy_settings,
    evaluation_inputs,
    load_checked_flow,
    option_clashes,
    run_options_parser,
    target_options,
    with_decorators,
)
from flowship.errors import FlowshipError

__all__ = ["add_commands", "existing_store"]


# check, show ------------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    from flowship.flowfile import check_flow_file

    given = compile_options_given(args)
    if given and not args.target:
        raise FlowshipError(f"{', '.join(given)}: these shape a target's output; give --target too")
    result = check_flow_file(args.flow_file, evaluation_inputs(args))
    if result.evaluated:
        print(f"{args.flow_file}: imported the flow module to evaluate: {'; '.join(result.evaluated)}")
    problems = list(result.problems)
    if result.ir is not None:
        problems += option_clashes(result.ir)
    print_problems(problems)
    errors = [p for p in problems if p.is_error]
    if errors:
        print(f"{args.flow_file}: {count(len(errors), 'error')}", file=sys.stderr)
        return 1
    ir = result.ir
    if args.target and _check_target(args, ir) != 0:
        return 1
    print(
        f"{args.flow_file}: {ir.name} is valid ({count(len(ir.steps), 'step')}, "
        f"{count(len(ir.parameters), 'parameter')})"
    )
    return 0


def _check_target(args: argparse.Namespace, ir: Any) -> int:
    """Compile for the target, report what it cannot honour, and load the output with the scheduler's own code."""
    from flowship.compiler.targets import get_target
    from flowship.deploy import build_deployment, deployer_for

    compiled = build_deployment(args.flow_file, ir, deploy_settings(args), resolve_environments=False).compiled
    print_problems(compiled.problems)
    if compiled.errors:
        print(f"{args.flow_file}: {count(len(compiled.errors), 'error')} in the {args.target} output", file=sys.stderr)
        return 1
    description = get_target(args.target).describe(compiled.options)
    if description:
        print(f"{args.flow_file}: {args.target}: {description}")
    deployer = deployer_for(args.target, "check", {})
    if deployer.check_description:
        print(f"{args.flow_file}: {args.target}: {deployer.check_description} …", flush=True)
    summary = deployer.check(compiled)
    if summary is None and deployer.check_description:
        print(f"{args.flow_file}: warning: {args.target} is not installed here, so its output was not loaded")
    elif summary:
        print(f"{args.flow_file}: {args.target}: {summary}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from flowship.compiler.render import RENDERERS
    from flowship.flowfile import load_flow

    sys.stdout.write(RENDERERS[args.format](load_flow(args.flow_file, evaluation_inputs(args))))
    return 0


# run, resume ------------------------------------------------------------------------------


def _run_or_resume(args: argparse.Namespace, extra: list[str]) -> int:
    from flowship.runtime.launch import local_warnings, resume_flow, run_flow
    from flowship.runtime.locate import locate_store
    from flowship.runtime.progress import ConsoleProgress

    if args.flow_file in (None, "-h", "--help"):
        if args.flow_file is None and not {"-h", "--help"} & set(extra):
            raise FlowshipError(f"flow {args.command} needs FLOW_FILE, the path of the flow's .py file")
        run_options_parser(args.command, None).print_help()
        return 0
    ir = load_checked_flow(
        args.flow_file, _run_evaluation_inputs(args.flow_file, args.command, extra), with_decorators(extra)
    )
    options = run_options_parser(args.command, ir).parse_args(extra)
    print_problems(local_warnings(ir, options.environment), file=sys.stderr)
    for name in ("max_workers", "max_num_splits"):
        if getattr(options, name) is not None and getattr(options, name) < 1:
            raise FlowshipError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(options, name)}")
    store = locate_store(options.datastore, args.flow_file)
    common = dict(
        datastore=store.url,
        tags=tuple(options.tag),
        max_workers=options.max_workers,
        max_splits=options.max_num_splits,
        environment=options.environment,
    )
    progress = ConsoleProgress(show_output=not options.quiet)
    signal.signal(signal.SIGTERM, _terminated)  # stop the run as Ctrl-C does: tasks stopped, the run marked killed
    if args.command == "resume":
        result = resume_flow(args.flow_file, ir, options.origin_run_id, **common, progress=progress)
    else:
        given = {
            k.split(":", 1)[1]: json.dumps(v) if isinstance(v, list) else v  # a multiple parameter's values
            for k, v in vars(options).items()
            if k.startswith("param:") and v is not None
        }
        from flowship.runtime.triggering import local_trigger

        trigger = local_trigger(ir, options.trigger_event, options.trigger_run, store.url)
        result = run_flow(args.flow_file, ir, given, **common, progress=progress, trigger=trigger)
    status = _report(args.flow_file, result, store)
    if options.report:
        from flowship.cli.reporting import report_after_run

        report_after_run(store.url, result.flow, result.run_id)
    return status


def _run_evaluation_inputs(flow_file: str, command: str, extra: list[str]) -> Any:
    """The options that shape the flow itself (its configs, the store) are read before its parameters are known.

    --config exists only for a flow with configs, so a flow without any keeps a parameter named ``config``.
    """
    from flowship.evaluation import declares_configs

    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    datastore_option(early)
    configs = declares_configs(flow_file)
    if configs:
        config_options(early)
    known, _ = early.parse_known_args(extra)
    if not configs:
        known.config, known.config_value = [], []
    elif command == "resume" and (known.config or known.config_value):
        raise FlowshipError("flow resume takes no --config or --config-value: a resumed run keeps its origin's configs")
    return evaluation_inputs(known)


class Terminated(KeyboardInterrupt):
    """SIGTERM reached `flow run`: it stops like an interrupt, and exits 143."""


def _terminated(signum: int, frame: Any) -> None:
    raise Terminated()


def _report(flow_file: str, result: Any, store: Any) -> int:
    from flowship.runtime.locate import locate_store

    pathspec = f"{result.flow}/{result.run_id}"
    found_from_here = locate_store().url == store.url
    where = "" if found_from_here else f", datastore={relative(store.url)!r}"
    datastore = [] if found_from_here else ["--datastore", relative(store.url)]
    if result.succeeded:
        print(f"{pathspec} succeeded")
        print(
            f"results in {relative(store.url)}; read them with: Flow({result.flow!r}{where})[{result.run_id!r}].data",
            file=sys.stderr,
        )
        return 0
    for failure in result.failures:
        task = f"{pathspec}/{failure.step}/{failure.task_id}"
        print(f"{task} failed after {count(failure.attempts, 'attempt')}", file=sys.stderr)
        if failure.unrecorded:
            print(f"{failure.unrecorded}; its output: {failure.console}", file=sys.stderr)
        else:
            print(failure.record.meta.get("exception", "").rstrip(), file=sys.stderr)
            print(f"full log: {quote_command('flow', 'logs', task, *datastore)}", file=sys.stderr)
    print(f"resume with: {quote_command('flow', 'resume', flow_file, result.run_id, *datastore)}", file=sys.stderr)
    return 1


# step ---------------------------------------------------------------------------------------


def _step(args: argparse.Namespace, extra: list[str]) -> int:
    from flowship.runtime.task import run_step_argv
    from flowship.step_command import step_parser

    if not extra or extra[0] in ("-h", "--help"):
        step_parser().print_help()
        return 0 if extra else 2
    return run_step_argv(extra)


def _record_outcome(args: argparse.Namespace, extra: list[str]) -> int:
    from flowship.runtime.outcome import record_outcome_argv
    from flowship.step_command import outcome_parser

    if not extra or extra[0] in ("-h", "--help"):
        outcome_parser().print_help()
        return 0 if extra else 2
    return record_outcome_argv(extra)


# verify -------------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    from flowship.runtime.verify import verify_store

    store = existing_store(args.datastore, "verify")
    flow, _, run = (args.pathspec or "").strip("/").partition("/")
    if "/" in run:
        raise FlowshipError(f"'{args.pathspec}' is not FLOW or FLOW/RUN")
    if flow:
        from flowship.runtime.client import Flow

        Flow(flow, datastore=store.url)  # an unknown flow is one line that names the flows there
    report = verify_store(store.url, flow or None, run or None)
    for problem in report.problems:
        print(f"damaged: {problem}")
    summary = (
        f"checked {count(report.runs, 'run')}, {count(report.tasks, 'task')} and "
        f"{count(report.blobs, 'artifact blob')} in {relative(store.url)}"
    )
    print(
        f"{summary}: {count(len(report.problems), 'problem')}" if report.problems else f"{summary}: all verify",
        file=sys.stderr,
    )
    return 1 if report.problems else 0


# package ------------------------------------------------------------------------------------


def _package(args: argparse.Namespace) -> int:
    from flowship.runtime.package import build_package
    from flowship.runtime.package_files import package_files

    selected = package_files(args.flow_file)
    if args.list:
        for name in selected.files:
            print(name)
    package = build_package(args.flow_file)
    print(
        f"{count(len(selected.files), 'file')} from {relative(selected.root)}, {selected.size / 1024:.1f} KiB "
        f"({len(package.data) / 1024:.1f} KiB packed): code package {package.sha}",
        file=sys.stderr,
    )
    return 0


# logs, runs ---------------------------------------------------------------------------------


def _logs(args: argparse.Namespace) -> int:
    from flowship.runtime.client import Flow, namespace

    parts = args.pathspec.strip("/").split("/")
    if not 2 <= len(parts) <= 4:
        raise FlowshipError(f"'{args.pathspec}' is not FLOW/RUN, FLOW/RUN/STEP or FLOW/RUN/STEP/TASK")
    namespace(None)  # a pathspec names one run exactly
    run = Flow(parts[0], datastore=existing_store(args.datastore, "logs").url)[parts[1]]
    steps = [run[parts[2]]] if len(parts) > 2 else list(run)
    tasks = [steps[0][parts[3]]] if len(parts) == 4 else [t for s in steps for t in s]
    for task in tasks:
        if not task.finished:
            print(
                f"{task.pathspec}: no attempt has finished (it is running, or was killed before it could record one)",
                file=sys.stderr,
            )
            continue
        if len(tasks) > 1:
            print(f"--- {task.pathspec} (attempt {task.attempt})")
        sys.stdout.write(task.stderr if args.stderr else task.stdout)
    return 0


def existing_store(datastore: str | None, command: str) -> Any:
    """The store to read: one that exists, or an error that says where stores are."""
    from flowship.runtime.locate import locate_store, stores_below

    store = locate_store(datastore)
    if store.exists:
        return store
    below = [relative(found) for found in stores_below(".")]
    if below:
        raise FlowshipError(
            f"no .flowship folder here or above; stores below: {', '.join(below[:5])} — "
            f"give one as --datastore, e.g. flow {command} ... --datastore {below[0]}"
        )
    raise FlowshipError(
        "no store here: no .flowship folder in this folder or above it, and no $FLOWSHIP_DATASTORE "
        f"— run flow {command} where you ran the flow, or give --datastore"
    )


def _runs(args: argparse.Namespace) -> int:
    from flowship.runtime.client import Flow, list_flows, namespace

    store = existing_store(args.datastore, "runs")
    if args.all_namespaces:
        namespace(None)
    if args.flow_name is None:
        return _list_flows(list_flows(store.url), store)
    flow = Flow(args.flow_name, datastore=store.url)
    runs = flow.runs()[: args.limit]
    for damage in flow.damaged:
        print(f"warning: {damage}; the run is skipped", file=sys.stderr)
    for run in runs:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created_at))
        origin = f"  resumed from {run.origin_run_id}" if run.origin_run_id else ""
        if run.promoted_from:
            origin += f"  code from {run.promoted_from}"
        tags = f"  tags: {', '.join(sorted(run.user_tags))}" if run.user_tags else ""
        print(f"{run.id}  {when}  {run.status:<9}  {run.namespace}{origin}{tags}")
        if run.status == "failed" and run.failure:
            print(f"    {run.failure}")
    if not runs:
        print(f"no runs of {args.flow_name} in this namespace (--all-namespaces shows every run)")
    return 0


def _list_flows(flows: list[str], store: Any) -> int:
    from flowship.runtime.client import Flow, namespace

    namespace(None)
    print(f"flows in {relative(store.url)}:")
    for name in flows:
        runs = Flow(name, datastore=store.url).runs()
        latest = runs[0] if runs else None
        last = f"latest {latest.id} {latest.status}" if latest else ""
        print(f"  {name:<24} {count(len(runs), 'run'):<9} {last}")
    if not flows:
        print("  (none yet: flow run FLOW_FILE makes the first)")
    return 0


def add_commands(commands: Any) -> None:
    check = add_parser(commands, "check", "check a flow file and list every problem")
    check.add_argument("flow_file", help="path of the flow's .py file")
    target_options(check, required=False, help="also compile for this target and check the output with its own code")
    config_options(check)
    check.set_defaults(handler=_check)

    show = add_parser(commands, "show", "show a flow's graph")
    show.add_argument("flow_file", help="path of the flow's .py file")
    show.add_argument(
        "--format",
        choices=["text", "mermaid", "dot", "json"],
        default="text",
        help="text for a terminal, mermaid or dot for docs, json for the IR (default: text)",
    )
    config_options(show)
    show.set_defaults(handler=_show)

    for name, text in (
        ("run", "run a flow locally: FLOW_FILE --<param> VALUE ..."),
        ("resume", "resume a failed run, reusing what succeeded: FLOW_FILE [RUN_ID]"),
    ):
        sub = add_parser(commands, name, text, add_help=False)
        sub.add_argument("flow_file", nargs="?", help="path of the flow's .py file")
        sub.set_defaults(handler=_run_or_resume, takes_extra=True)

    verify = add_parser(commands, "verify", "read back every record and artifact, and list what is damaged")
    verify.add_argument("pathspec", nargs="?", help="FLOW or FLOW/RUN (default: every flow in the store)")
    datastore_option(verify)
    verify.set_defaults(handler=_verify)

    package = add_parser(commands, "package", "show what the code package of a flow holds (what deployed tasks run)")
    package.add_argument("flow_file", help="path of the flow's .py file")
    package.add_argument("--list", action="store_true", help="list every file in it")
    package.set_defaults(handler=_package)

    step = add_parser(
        commands, "step", "run one task (what every scheduler runs; see flow step --help)", add_help=False
    )
    step.set_defaults(handler=_step, takes_extra=True)
    outcome = add_parser(
        commands,
        "record-outcome",
        "record how a deployed run ended (what a scheduler runs after it; see flow record-outcome --help)",
        add_help=False,
    )
    outcome.set_defaults(handler=_record_outcome, takes_extra=True)

    logs = add_parser(commands, "logs", "print what a run's, step's or task's tasks printed: FLOW/RUN[/STEP[/TASK]]")
    logs.add_argument("pathspec")
    logs.add_argument("--stderr", action="store_true", help="print stderr instead of stdout")
    datastore_option(logs)
    logs.set_defaults(handler=_logs)

    runs = add_parser(commands, "runs", "list the flows in the store, or a flow's recent runs with their status")
    runs.add_argument("flow_name", nargs="?", help="the flow's name, e.g. HelloFlow (default: list the flows)")
    runs.add_argument("--limit", type=int, default=20, help="runs to show (default: 20)")
    runs.add_argument("--all-namespaces", action="store_true", help="runs of every user and deployment")
    datastore_option(runs)
    runs.set_defaults(handler=_runs)
