"""The ``flow`` command: thin argument parsing over the compiler and runtime.

Every command is declared in ``_parser()``; its handler calls into the
library and prints. A :class:`~flowship.errors.FlowshipError` becomes a message
on stderr and exit code 1, never a traceback. Heavy modules are imported
inside the command that needs them, so ``flow --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from typing import Sequence

from flowship.errors import FlowshipError, format_problem

__all__ = ["main", "main_for_flow_file"]


def _check(args: argparse.Namespace) -> int:
    from flowship.flowfile import check_flow_file

    result = check_flow_file(args.flow_file)
    for problem in result.problems:
        print(format_problem(problem))
    if result.ir is None:
        print(f"{args.flow_file}: {_count(len(result.errors), 'error')}", file=sys.stderr)
        return 1
    ir = result.ir
    if args.target:
        from flowship.deploy import compile_flow

        compiled = compile_flow(args.flow_file, ir, args.target, datastore=args.datastore, image=None)
        if args.target == "airflow":
            from flowship.providers.airflow import check_dag_file

            try:
                if check_dag_file(compiled.text, compiled.name) is None:
                    print(f"{args.flow_file}: warning: airflow: Airflow is not installed here; the DAG file was not loaded")
            except FlowshipError as exc:
                compiled = replace(compiled, errors=(str(exc),))
        for warning in compiled.warnings:
            print(f"{args.flow_file}: warning: {args.target}: {warning}")
        for error in compiled.errors:
            print(f"{args.flow_file}: {args.target}: {error}")
        if compiled.errors:
            print(f"{args.flow_file}: {_count(len(compiled.errors), 'error')} in the {args.target} output", file=sys.stderr)
            return 1
    print(f"{args.flow_file}: {ir.name} is valid ({_count(len(ir.steps), 'step')}, {_count(len(ir.parameters), 'parameter')})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _compile(args: argparse.Namespace) -> int:
    from flowship.flowfile import load_flow

    ir = load_flow(args.flow_file)
    compiled = _compile_from_args(args, args.flow_file, ir)
    for warning in compiled.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if compiled.errors:
        for error in compiled.errors:
            print(f"error: {error}", file=sys.stderr)
        return 1
    if args.output in (None, "-"):
        sys.stdout.write(compiled.text)
        return 0
    path = args.output
    if os.path.isdir(path) or path.endswith(os.sep):
        os.makedirs(path, exist_ok=True)
        path = os.path.join(path, compiled.name + (".yaml" if args.target == "argo" else ".py"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(compiled.text)
    print(f"wrote {path} ({args.target}, code package {compiled.package.sha[:12]})", file=sys.stderr)
    return 0


def _compile_from_args(args: argparse.Namespace, flow_file: str, ir, **extra):
    from flowship.deploy import compile_flow

    return compile_flow(flow_file, ir, args.target, args.operator, datastore=args.datastore, image=args.image,
                        namespace=args.namespace, service_account=args.service_account, name=args.name,
                        branch=args.branch, production=args.production, **extra)


def _deploy(args: argparse.Namespace) -> int:
    from flowship.flowfile import load_flow

    ir = load_flow(args.flow_file)
    return _apply(args, ir, _compile_from_args(args, args.flow_file, ir))


def _promote(args: argparse.Namespace) -> int:
    from flowship.runtime.promote import promotable

    source = promotable(args.pathspec, args.datastore)
    print(f"promoting {source.pathspec}: code package {source.package.sha[:12]}, parameters {source.parameters}")
    compiled = _compile_from_args(args, source.flow_file, source.ir, package=source.package,
                                  promoted_from=source.pathspec)
    return _apply(args, source.ir, compiled)


def _apply(args: argparse.Namespace, ir, compiled) -> int:
    """Show what will be created or replaced, then (unless --dry-run) upload the code and apply."""
    import yaml

    if compiled.errors:
        for error in compiled.errors:
            print(f"error: {error}", file=sys.stderr)
        return 1
    if args.target == "airflow" and not args.dags_folder:
        raise FlowshipError("flow deploy --target airflow needs --dags-folder (your Airflow's dags folder)")
    print(f"code package {compiled.package.sha[:12]} ({len(compiled.package.files)} files) -> {compiled.options.datastore}")
    if args.target == "airflow":
        return _deploy_airflow(args, ir, compiled)
    documents = list(yaml.safe_load_all(compiled.text))
    for document in documents:
        print(f"{document['kind']} {args.namespace or '(kubeconfig namespace)'}/{document['metadata']['name']}")
    if args.dry_run:
        print("dry run: nothing uploaded or applied")
        return 0
    from flowship.providers.kubernetes import ArgoCluster

    cluster = ArgoCluster(args.namespace, args.kube_context)
    for document in documents:  # say what changes before changing it
        exists = cluster.get(document["kind"], document["metadata"]["name"]) is not None
        print(f"will {'replace' if exists else 'create'} {document['kind']} {cluster.namespace}/{document['metadata']['name']}")
    _upload_code(ir, compiled)
    for document in documents:
        outcome = cluster.apply(document)
        print(f"{outcome} {document['kind']} {cluster.namespace}/{document['metadata']['name']}")
    return 0


def _upload_code(ir, compiled) -> None:
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.package import upload_package

    upload_package(FlowDatastore(open_storage(compiled.options.datastore), ir.name), compiled.package)


def _deploy_airflow(args: argparse.Namespace, ir, compiled) -> int:
    from flowship.providers.airflow import check_dag_file, write_dag_file

    print(f"DAG {compiled.name} ({args.operator} tasks) -> {os.path.join(args.dags_folder, compiled.name + '.py')}")
    if args.dry_run:
        print("dry run: nothing uploaded or written")
        return 0
    if check_dag_file(compiled.text, compiled.name) is None:
        print("warning: Airflow is not installed here, so the DAG file was not loaded before writing it", file=sys.stderr)
    _upload_code(ir, compiled)
    print(f"wrote {write_dag_file(args.dags_folder, compiled.name, compiled.text)}")
    return 0


def _trigger_airflow(args: argparse.Namespace, extra: list[str]) -> int:
    from flowship.providers.airflow import AirflowApi

    if not args.api_url:
        raise FlowshipError("flow trigger --target airflow needs --api-url (e.g. http://airflow.example:8080)")
    api = AirflowApi(args.api_url, args.token)
    dag_id = args.name
    declared = api.dag_params(dag_id)
    parser = argparse.ArgumentParser(prog=f"flow trigger {args.flow_name} --target airflow")
    for name in declared:
        parser.add_argument(f"--{name}", dest=f"param:{name}")
    options = parser.parse_args(extra)
    conf = {}
    for key, text in vars(options).items():
        if text is None:
            continue
        name = key.split(":", 1)[1]
        kinds = (declared[name].get("schema") or {}).get("type")
        conf[name] = _typed_conf(name, text, [kinds] if isinstance(kinds, str) else kinds)
    print(f"triggered {dag_id}: run {api.trigger(dag_id, conf)}")
    return 0


def _typed_conf(name: str, text: str, kinds: list[str] | None):
    """A value typed on the command line, as the JSON type the DAG's Param expects (no type: JSON)."""
    import json

    if kinds and "string" in kinds:
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise FlowshipError(f"--{name}: {text!r} is not valid {'/'.join(kinds) if kinds else 'JSON'}") from None


def _deployment_name(args: argparse.Namespace) -> str:
    """The name `flow deploy` gave the deployment of FLOW_NAME (and --project, --branch/--production)."""
    from flowship.compiler.projects import deployment_of
    from flowship.runtime.runs import current_user

    if args.name:
        return args.name
    if (args.branch or args.production) and not args.project:
        raise FlowshipError("--branch and --production need --project (the flow's @project name)")
    return deployment_of(args.flow_name, args.project, branch=args.branch, production=args.production,
                         user=current_user()).name


def _trigger(args: argparse.Namespace, extra: list[str]) -> int:
    from flowship.compiler.naming import k8s_name
    from flowship.providers.kubernetes import ArgoCluster

    args.name = _deployment_name(args)
    if args.target == "airflow":
        return _trigger_airflow(args, extra)
    cluster = ArgoCluster(args.namespace, args.kube_context)
    name = k8s_name(args.name)  # as compile names it: wine.prod.TrainFlow -> wine-prod-train-flow
    template = cluster.get("WorkflowTemplate", name)
    if template is None:
        raise FlowshipError(f"no WorkflowTemplate {cluster.namespace}/{name}; deploy the flow first")
    declared = [p["name"] for p in template["spec"].get("arguments", {}).get("parameters", [])]
    parser = argparse.ArgumentParser(prog=f"flow trigger {args.flow_name} --target argo")
    for parameter in declared:
        parser.add_argument(f"--{parameter}", dest=f"param:{parameter}")
    options = parser.parse_args(extra)
    given = {k.split(":", 1)[1]: v for k, v in vars(options).items() if v is not None}
    workflow = cluster.submit(name, given)
    print(f"submitted Workflow {cluster.namespace}/{workflow} (run id argo-{workflow})")
    return 0


def _deploy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print what would be created or replaced, do nothing")
    parser.add_argument("--kube-context", help="argo: kubeconfig context (default: the current one)")
    parser.add_argument("--dags-folder", help="airflow: the dags folder to write the DAG file into (a path or s3://bucket/prefix)")
    _target_options(parser)


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, choices=["argo", "airflow"], help="the scheduler to compile for")
    parser.add_argument("--image", help="container image with flowship and the flow's dependencies "
                                        "(default: @kubernetes(image=), else $FLOWSHIP_IMAGE, else flowship:0.1.0)")
    parser.add_argument("--namespace", help="Kubernetes namespace of the deployed objects and pods")
    parser.add_argument("--service-account", help="Kubernetes service account of the pods")
    parser.add_argument("--name", help="deployment name (default: the flow's name)")
    parser.add_argument("--operator", choices=["kubernetes", "local"], default="kubernetes",
                        help="airflow only: a pod per task (default), or a process on the worker")
    placement = parser.add_mutually_exclusive_group()
    placement.add_argument("--branch", help="@project flows: deploy as the test branch BRANCH")
    placement.add_argument("--production", action="store_true", help="@project flows: deploy to production")
    _datastore_option(parser)


def _show(args: argparse.Namespace) -> int:
    from flowship.compiler.render import RENDERERS
    from flowship.flowfile import load_flow

    sys.stdout.write(RENDERERS[args.format](load_flow(args.flow_file)))
    return 0


def _datastore_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datastore", default=None,
                        help="where runs are stored (default: $FLOWSHIP_DATASTORE, else .flowship/)")


def _run_parser(ir, prog: str, resume: bool) -> argparse.ArgumentParser:
    """The options of `flow run`/`flow resume` for one flow, its parameters included."""
    parser = argparse.ArgumentParser(prog=prog, description=f"Run {ir.name} locally, every task in its own process.")
    if resume:
        parser.add_argument("origin_run_id", nargs="?", help="run to resume (default: your latest run of this flow)")
    parser.add_argument("--max-workers", type=int, default=None, help="tasks run at once (default: number of cores)")
    parser.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")
    _datastore_option(parser)
    if not resume:
        group = parser.add_argument_group("flow parameters")
        for p in ir.parameters:
            default = "required" if p.required else f"default: {p.default!r}"
            group.add_argument(f"--{p.name}", dest=f"param:{p.name}", metavar=p.type.upper(),
                               help=f"{p.help + '; ' if p.help else ''}{default}")
    return parser


def _run_or_resume(args: argparse.Namespace, extra: list[str], resume: bool) -> int:
    from flowship.flowfile import load_flow
    from flowship.runtime.client import default_datastore
    from flowship.runtime.launch import resume_flow, run_flow
    from flowship.runtime.progress import ConsoleProgress
    from flowship.runtime.runs import new_run_id

    ir = load_flow(args.flow_file)
    options = _run_parser(ir, f"flow {args.command} {args.flow_file}", resume).parse_args(extra)
    if options.max_workers is not None and options.max_workers < 1:
        raise FlowshipError(f"--max-workers must be at least 1, got {options.max_workers}")
    datastore = options.datastore or default_datastore()
    common = dict(datastore=datastore, tags=tuple(options.tag), max_workers=options.max_workers)
    run_id = new_run_id()
    if resume:
        result = resume_flow(args.flow_file, ir, options.origin_run_id, **common, run_id=run_id,
                             progress=ConsoleProgress(ir.name, run_id))
    else:
        given = {k.split(":", 1)[1]: v for k, v in vars(options).items() if k.startswith("param:") and v is not None}
        result = run_flow(args.flow_file, ir, given, **common, run_id=run_id, progress=ConsoleProgress(ir.name, run_id))
    return _report(result)


def _report(result) -> int:
    pathspec = f"{result.flow}/{result.run_id}"
    if result.succeeded:
        print(f"{pathspec} succeeded")
        return 0
    for failure in result.failures:
        task = f"{pathspec}/{failure.step}/{failure.task_id}"
        print(f"{task} failed after {_count(failure.attempts, 'attempt')}", file=sys.stderr)
        record = failure.record
        if record is not None and record.attempt == failure.attempts - 1:
            print(record.meta.get("exception", "").rstrip(), file=sys.stderr)
            print(f"full log: flow logs {task} --datastore {result.datastore}", file=sys.stderr)
        else:
            print(f"the task was killed before it could record its failure; its output: {failure.console}", file=sys.stderr)
    print(f"resume with: flow resume FLOW_FILE {result.run_id}", file=sys.stderr)
    return 1


def _step(args: argparse.Namespace) -> int:
    from flowship.compiler.parse import parse_flow_source
    from flowship.providers.storage import open_storage
    from flowship.runtime.datastore import FlowDatastore
    from flowship.runtime.task import TaskSpec, run_task

    storage = open_storage(args.datastore)
    flow_file = args.flow_file
    if not args.task_id:
        raise FlowshipError("flow step needs --task-id (or FLOWSHIP_TASK_ID in the environment)")
    if args.package and not args.flow_name:
        raise FlowshipError("--package needs --flow-name, to find the package in the store")
    if args.package:
        from flowship.runtime.package import fetch_package

        flow_file = os.path.join(fetch_package(FlowDatastore(storage, args.flow_name), args.package), flow_file)
    with open(flow_file, encoding="utf-8") as handle:
        flow_name = parse_flow_source(handle.read(), flow_file).name
    if not flow_name:
        raise FlowshipError(f"{flow_file}: no flow class; run `flow check {flow_file}`")
    context = {"namespace": args.namespace, "project": args.project, "branch": args.branch,
               "promoted_from": args.promoted_from, "tags": tuple(args.tag),
               "code_package": {"sha": args.package, "flow_path": args.flow_file} if args.package else None}
    spec = TaskSpec(flow_file, args.step, args.run_id, args.task_id, args.retry_count,
                    FlowDatastore(storage, flow_name), args.splits_file, {k: v for k, v in context.items() if v})
    params = dict(p.split("=", 1) if "=" in p else (p, "") for p in args.param or [])
    return run_task(spec, flow_name, params)


def _logs(args: argparse.Namespace) -> int:
    from flowship.runtime.client import Run

    parts = args.pathspec.strip("/").split("/")
    if not 2 <= len(parts) <= 4:
        raise FlowshipError(f"'{args.pathspec}' is not FLOW/RUN, FLOW/RUN/STEP or FLOW/RUN/STEP/TASK")
    from flowship.runtime.client import Flow

    run: Run = Flow(parts[0], datastore=args.datastore)[parts[1]]
    steps = [run[parts[2]]] if len(parts) > 2 else list(run)
    tasks = [steps[0][parts[3]]] if len(parts) == 4 else [t for s in steps for t in s]
    for task in tasks:
        if not task.finished:
            print(f"{task.pathspec}: not finished", file=sys.stderr)
            continue
        if len(tasks) > 1:
            print(f"--- {task.pathspec} (attempt {task.attempt})")
        sys.stdout.write(task.stderr if args.stderr else task.stdout)
    return 0


def _runs(args: argparse.Namespace) -> int:
    from flowship.runtime.client import Flow, namespace

    if args.all_namespaces:
        namespace(None)
    runs = Flow(args.flow_name, datastore=args.datastore).runs()[: args.limit]
    import time

    for run in runs:
        status = "succeeded" if run.successful else ("finished" if run.finished else "failed or running")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created_at))
        origin = f"  resumed from {run.origin_run_id}" if run.origin_run_id else ""
        if run.promoted_from:
            origin += f"  code from {run.promoted_from}"
        tags = f"  tags: {', '.join(run.tags)}" if run.tags else ""
        print(f"{run.id}  {when}  {status:<17}  {run.namespace}{origin}{tags}")
    if not runs:
        print(f"no runs of {args.flow_name} in this namespace (--all-namespaces shows every run)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flow", description="Write a flow once; run it locally; compile it for Argo or Airflow."
    )
    parser.add_argument("--version", action="version", version=f"flowship {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="check a flow file and list every problem")
    check.add_argument("flow_file", help="path of the flow's .py file")
    check.add_argument("--target", choices=["argo", "airflow"], help="also compile for this target and check the output")
    _datastore_option(check)
    check.set_defaults(handler=_check)

    compile_ = commands.add_parser("compile", help="compile a flow for Argo Workflows or Airflow")
    compile_.add_argument("flow_file", help="path of the flow's .py file")
    compile_.add_argument("-o", "--output", help="file or folder to write (default: standard output)")
    _target_options(compile_)
    compile_.set_defaults(handler=_compile)

    deploy = commands.add_parser("deploy", help="upload the code package and create or update the deployment")
    deploy.add_argument("flow_file", help="path of the flow's .py file")
    _deploy_options(deploy)
    deploy.set_defaults(handler=_deploy)

    promote = commands.add_parser("promote", help="deploy the exact code and parameters of a finished run: FLOW/RUN")
    promote.add_argument("pathspec", help="the run to promote, FLOW/RUN_ID")
    _deploy_options(promote)
    promote.set_defaults(handler=_promote)

    trigger = commands.add_parser("trigger", add_help=False, help="start a run of a deployed flow: --<param> VALUE ...")
    trigger.add_argument("flow_name")
    trigger.add_argument("--target", required=True, choices=["argo", "airflow"])
    trigger.add_argument("--namespace")
    trigger.add_argument("--name", help="deployment name, if not derived from the flow's name and project")
    trigger.add_argument("--project", help="the flow's @project name: find its --production, --branch or user deployment")
    placement = trigger.add_mutually_exclusive_group()
    placement.add_argument("--branch", help="with --project: the test branch's deployment")
    placement.add_argument("--production", action="store_true", help="with --project: the production deployment")
    trigger.add_argument("--kube-context")
    trigger.add_argument("--api-url", help="airflow: the Airflow API server, e.g. http://localhost:8080")
    trigger.add_argument("--token", help="airflow: API token (default: $AIRFLOW_TOKEN, else a login with "
                                         "$AIRFLOW_USERNAME/$AIRFLOW_PASSWORD)")
    trigger.set_defaults(handler=_trigger, takes_extra=True)

    show = commands.add_parser("show", help="show a flow's graph")
    show.add_argument("flow_file", help="path of the flow's .py file")
    show.add_argument("--format", choices=["text", "mermaid", "dot", "json"], default="text",
                      help="text for a terminal, mermaid or dot for docs, json for the IR (default: text)")
    show.set_defaults(handler=_show)

    for name, resume in (("run", False), ("resume", True)):
        sub = commands.add_parser(name, add_help=False,
                                  help="resume a failed run, reusing what succeeded" if resume else "run a flow locally")
        sub.add_argument("flow_file", help="path of the flow's .py file")
        sub.set_defaults(handler=lambda a, extra, resume=resume: _run_or_resume(a, extra, resume), takes_extra=True)

    step = commands.add_parser("step", help="run one task (what every scheduler calls)")
    step.add_argument("flow_file")
    step.add_argument("step")
    step.add_argument("--run-id", required=True)
    step.add_argument("--task-id", default=os.environ.get("FLOWSHIP_TASK_ID"),
                      help="the task's id (default: $FLOWSHIP_TASK_ID, for schedulers that pass it in the environment)")
    step.add_argument("--retry-count", type=int, default=0)
    step.add_argument("--param", action="append", metavar="NAME=VALUE",
                      help="a flow parameter's value, for a start task that creates its run; "
                           "write --param=NAME=VALUE so a VALUE starting with '-' stays a value")
    step.add_argument("--splits-file", help="where a foreach task writes the task ids it fans out to (a JSON list)")
    step.add_argument("--package", help="run FLOW_FILE from this code package (its SHA-256) in the store")
    step.add_argument("--flow-name", help="the flow's name, to find --package in the store")
    for option, text in (("--namespace", "namespace"), ("--project", "project"), ("--branch", "branch"),
                         ("--promoted-from", "run whose code this deployment promotes")):
        step.add_argument(option, help=f"for a start task that creates its run: the run's {text}")
    step.add_argument("--tag", action="append", default=[], help="for a start task that creates its run: a tag")
    step.add_argument("--datastore", required=True)
    step.set_defaults(handler=_step)

    logs = commands.add_parser("logs", help="print the output of a run's, step's or task's tasks: FLOW/RUN[/STEP[/TASK]]")
    logs.add_argument("pathspec")
    logs.add_argument("--stderr", action="store_true", help="print stderr instead of stdout")
    _datastore_option(logs)
    logs.set_defaults(handler=_logs)

    runs = commands.add_parser("runs", help="list a flow's recent runs")
    runs.add_argument("flow_name")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--all-namespaces", action="store_true")
    _datastore_option(runs)
    runs.set_defaults(handler=_runs)
    return parser


def _version() -> str:
    from flowship import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flow`` command with ``argv`` (default: the process arguments)."""
    parser = _parser()
    args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if extra and not getattr(args, "takes_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if getattr(args, "takes_extra", False):
            return args.handler(args, extra)
        return args.handler(args)
    except FlowshipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main_for_flow_file(path: str, argv: Sequence[str]) -> int:
    """``python my_flow.py show --format dot`` == ``flow show my_flow.py --format dot``."""
    argv = list(argv)
    relative = os.path.relpath(path)
    path = path if relative.startswith("..") else relative
    if not argv or argv[0].startswith("-"):
        _parser().print_usage(sys.stderr)
        print(f"usage from a flow file: python {path} COMMAND [options]  (COMMAND: check, show, run, resume)", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return main([argv[0], path, *argv[1:]])
