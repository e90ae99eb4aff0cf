"""Every option the commands take, built in one place: the run options, each target's and provider's own.

Options are never abbreviated (``allow_abbrev=False`` on every parser). A
flow's parameters become ``--<name>`` options of ``flow run``, ``flow resume``
and ``flow trigger``, so :func:`load_checked_flow` refuses a parameter named
like one of those commands' own options.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flowship.cli.common import print_problems
from flowship.compiler.targets import get_target, target_names
from flowship.errors import FlowDefinitionError, FlowshipError, Problem
from flowship.providers.deployer import Command

__all__ = [
    "parser_for",
    "add_parser",
    "datastore_option",
    "card_options",
    "run_options_parser",
    "metaflow_run_options",
    "environment_option",
    "with_decorators",
    "trigger_parser",
    "target_options",
    "provider_arguments",
    "deploy_settings",
    "compile_options_given",
    "deployer_from_args",
    "parameter_commands",
    "option_clashes",
    "load_checked_flow",
    "config_options",
    "evaluation_inputs",
]


def parser_for(prog: str, description: str, **kwargs: Any) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False, **kwargs)


def add_parser(commands: Any, name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand; ``--help`` of every subcommand works, and no option is ever abbreviated."""
    return commands.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".", allow_abbrev=False, **kwargs
    )


def datastore_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--datastore",
        default=None,
        help="where runs are stored: a folder or s3://bucket/prefix (default: $FLOWSHIP_DATASTORE, "
        "else the nearest .flowship folder here or above, else a new one beside the flow file)",
    )


def card_options(parser: argparse.ArgumentParser, *, output: bool = False) -> None:
    """``flow card get|view``: which of a task's cards, and (get) where to write it."""
    parser.add_argument("--id", default=None, help="the card's id (@card(id=...))")
    parser.add_argument("--type", default=None, help="the card's type: default, blank or html")
    if output:
        parser.add_argument("-o", "--output", default=None, metavar="FILE", help="write the HTML here, not to stdout")


def config_options(parser: argparse.ArgumentParser) -> None:
    """--config NAME FILE and --config-value NAME JSON: the values of the flow's Configs (Metaflow's options)."""
    parser.add_argument(
        "--config",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "FILE"),
        help="read the flow's config NAME from FILE (repeatable)",
    )
    parser.add_argument(
        "--config-value",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "JSON"),
        help="the flow's config NAME as text, JSON unless the Config has a parser (repeatable)",
    )


def evaluation_inputs(args: argparse.Namespace, *, deploy_time: bool = False) -> Any:
    """How a command's options shape the evaluation of the flow's arguments (see compiler/evaluate.py)."""
    from flowship.compiler.evaluate import EvaluationInputs

    for option, pairs in (("--config", args.config), ("--config-value", args.config_value)):
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise FlowshipError(f"{option} {repeated[0]} is given more than once; give each config once")
    return EvaluationInputs(
        config_files=dict(args.config),
        config_values=dict(args.config_value),
        deploy_time=deploy_time,
        datastore=getattr(args, "datastore", None),
    )


def run_options_parser(command: str, ir: Any) -> argparse.ArgumentParser:
    """The options of ``flow run``/``flow resume``; with an IR, the flow's parameters too."""
    resume = command == "resume"
    flow = f" {ir.file}" if ir is not None else " FLOW_FILE"
    what = "resume a failed run, reusing every task that succeeded" if resume else "run the flow locally"
    parser = parser_for(f"flow {command}{flow}", f"{what[0].upper()}{what[1:]}, every task in its own process.")
    if resume:
        parser.add_argument("origin_run_id", nargs="?", help="the run to resume (default: your latest run of the flow)")
    parser.add_argument("--max-workers", type=int, default=None, help="tasks run at once (default: number of cores)")
    parser.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="do not show what the steps print while they run")
    parser.add_argument(
        "--report", action="store_true", help="write the run's report as it ends, failed or not (see flow report)"
    )
    datastore_option(parser)
    metaflow_run_options(parser)
    if resume:
        return parser
    parser.add_argument(
        "--trigger-event",
        action="append",
        default=[],
        metavar="NAME[:PAYLOAD.json]",
        help="run as if the @trigger event NAME had started the run, with the payload in the JSON file "
        "(current.trigger; mapped payload fields set parameters not given) (repeatable)",
    )
    parser.add_argument(
        "--trigger-run",
        "--trigger",
        action="append",
        default=[],
        metavar="FLOW/RUN_ID",
        help="run as if this finished upstream run had started the run (@trigger_on_finish; current.trigger.run) "
        "(repeatable)",
    )
    if ir is not None and ir.configs:
        config_options(parser)
    group = parser.add_argument_group(
        "flow parameters"
        if ir is not None
        else "flow parameters (give the flow file to list them: flow run FLOW_FILE --help)"
    )
    for p in ir.parameters if ir is not None else ():
        default = "required" if p.required else f"default: {p.default!r}"
        split = f"; split on {p.separator!r} into a list" if p.separator else ""
        split += "; give it once per value" if p.multiple else ""
        group.add_argument(
            f"--{p.name}",
            dest=f"param:{p.name}",
            metavar=p.type.upper(),
            action="append" if p.multiple else "store",
            help=f"{p.help + '; ' if p.help else ''}{default}{split}",
        )
    return parser


def environment_option(parser: argparse.ArgumentParser, default: str | None, applied: str) -> None:
    """Metaflow's --environment: whether @pypi/@conda steps run in their own environments."""
    parser.add_argument(
        "--environment",
        choices=("local", "pypi", "conda"),
        default=default,
        help=f"pypi or conda (the same here): {applied}; local: they run in this interpreter (see "
        "docs/environments.md)",
    )


def metaflow_run_options(parser: argparse.ArgumentParser) -> None:
    """Options Metaflow users type, with Metaflow's meaning."""
    environment_option(parser, None, "steps with @pypi/@conda run in their own locked environments, as in Metaflow")
    parser.add_argument(
        "--with",
        dest="with_decorators",
        action="append",
        default=[],
        metavar="DECORATOR[:ARG=VALUE,...]",
        help="add a step decorator to every step that lacks it, e.g. --with retry:times=2 (repeatable)",
    )
    parser.add_argument(
        "--max-num-splits",
        type=int,
        default=None,
        help="fail a foreach wider than this before it fans out (default: no limit)",
    )
    parser.add_argument(
        "--no-pylint",
        "--pylint",
        dest="pylint",
        action="store_true",
        help="accepted for Metaflow users; flowship always checks the flow itself and runs no pylint",
    )


def with_decorators(extra: list[str]) -> tuple[Any, ...]:
    """The ``--with`` decorators among a command's arguments, checked, before the flow is loaded."""
    from flowship.compiler.decospec import parse_decospec

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--with", dest="with_decorators", action="append", default=[])
    known, _ = parser.parse_known_args(extra)
    return tuple(parse_decospec(spec) for spec in known.with_decorators)


def trigger_parser(prog: str) -> argparse.ArgumentParser:
    """The options of ``flow trigger`` before the deployed flow's own parameters are known."""
    parser = parser_for(prog, "Start a run of a deployed flow: --<param> VALUE for its parameters.", add_help=False)
    parser.add_argument("-h", "--help", action="store_true", help="show this help (with the deployed parameters)")
    parser.add_argument("--target", choices=target_names())
    parser.add_argument("--namespace", help="Kubernetes namespace of the deployment")
    parser.add_argument("--deployment", help="the deployment's name, if not derived from the flow's name and project")
    parser.add_argument(
        "--project", help="the flow's @project name: find its --production, --branch or user deployment"
    )
    _placement(parser, "with --project: the test branch's deployment", "with --project: the production deployment")
    provider_arguments(parser, "trigger")
    return parser


def _placement(parser: argparse.ArgumentParser, branch: str, production: str) -> None:
    """--branch B or --production, for @project flows: never both."""
    placement = parser.add_mutually_exclusive_group()
    placement.add_argument("--branch", help=branch)
    placement.add_argument("--production", action="store_true", help=production)


def _option_dest(name: str) -> str:
    return "option:" + name


def target_options(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str = "the scheduler to compile for"
) -> None:
    """--target, the options every target reads, and each target's own (``--operator`` for airflow)."""
    parser.add_argument("--target", required=required, choices=target_names(), help=help)
    parser.add_argument(
        "--image",
        help="container image with flowship and the flow's dependencies "
        "(default: @kubernetes(image=), else $FLOWSHIP_IMAGE; container targets need one)",
    )
    parser.add_argument(
        "--code",
        metavar="image:/PATH",
        help="run the flow from the image, where its project is at PATH (default: a code package in the store)",
    )
    parser.add_argument("--namespace", help="Kubernetes namespace of the deployed objects and pods")
    parser.add_argument("--service-account", help="Kubernetes service account of the pods")
    parser.add_argument(
        "--name", help="deployment name (default: the flow's name, with @project its project and branch)"
    )
    _placement(parser, "@project flows: deploy as the test branch BRANCH", "@project flows: deploy to production")
    datastore_option(parser)
    parser.add_argument(
        "--python-version",
        metavar="X.Y",
        help="the image's Python, which steps' @pypi/@conda environments are resolved for unless they give "
        "python= (default: the version running this command)",
    )
    environment_option(parser, None, "steps with @pypi/@conda run in their own locked environments (the default)")
    for option, targets in _target_option_table().values():
        choices = f" ({', '.join(option.choices)}; default {option.default})" if option.choices else ""
        readers = ", ".join(targets) if len(targets) > 1 else f"{targets[0]} only"
        help_text = f"{readers}: {option.help}{choices}"
        if option.flag:
            parser.add_argument(
                f"--{option.name}", dest=_option_dest(option.name), action="store_true", default=None, help=help_text
            )
            continue
        parser.add_argument(
            f"--{option.name}",
            dest=_option_dest(option.name),
            choices=option.choices or None,
            action="append" if option.repeated else "store",
            metavar=None if option.choices else option.name.upper().replace("-", "_"),
            help=help_text,
        )


def _target_option_table() -> dict[str, tuple[Any, list[str]]]:
    """Each target option once, with the targets that read it (``--run-timeout``: argo and airflow)."""
    table: dict[str, tuple[Any, list[str]]] = {}
    for target in target_names():
        for option in get_target(target).options:
            table.setdefault(option.name, (option, []))[1].append(target)
    return table


def _provider_options(command: str) -> dict[str, list[Any]]:
    """Each provider option a command takes, with the targets that read it."""
    from flowship.deploy import deployer_options

    found: dict[str, list[Any]] = {}
    for target in target_names():
        for option in deployer_options(target):
            if command in option.used_by:
                found.setdefault(option.name, []).append((target, option))
    return found


def provider_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    for name, users in _provider_options(command).items():
        option = users[0][1]
        if option.flag:
            parser.add_argument(
                f"--{name}", dest=_option_dest(name), action="store_true", default=None, help=option.help
            )
        else:
            parser.add_argument(f"--{name}", dest=_option_dest(name), metavar=name.upper(), help=option.help)


def _only_for(args: argparse.Namespace, target: str, options: dict[str, list[str]]) -> dict[str, str | None]:
    """The values of ``target``'s own options; another target's option is an error, not ignored."""
    values = {}
    for name, targets in options.items():
        value = getattr(args, _option_dest(name), None)
        if target in targets:
            values[name] = value
        elif value is not None:
            raise FlowshipError(f"--{name} is an option of --target {' or '.join(targets)}, not of --target {target}")
    return values


def compile_options_given(args: argparse.Namespace) -> list[str]:
    """The compile options given on the command line (for `flow check`, where they need --target)."""
    flags = {
        "image": "--image",
        "namespace": "--namespace",
        "service_account": "--service-account",
        "name": "--name",
        "branch": "--branch",
        "datastore": "--datastore",
        "code": "--code",
        "python_version": "--python-version",
    }
    given = [flag for dest, flag in flags.items() if getattr(args, dest, None) is not None]
    given += ["--production"] if getattr(args, "production", False) else []
    given += [f"--{name}" for name in _target_option_table() if getattr(args, _option_dest(name), None) is not None]
    return given


def deploy_settings(args: argparse.Namespace) -> Any:
    from flowship.deploy import DeploySettings

    options = {name: targets for name, (_, targets) in _target_option_table().items()}
    chosen = {k: v for k, v in _only_for(args, args.target, options).items() if v is not None}
    return DeploySettings(
        args.target,
        args.datastore,
        args.image,
        args.namespace,
        args.service_account,
        args.name,
        args.branch,
        args.production,
        chosen,
        args.code,
        args.python_version,
        args.environment,
    )


def deployer_from_args(args: argparse.Namespace, command: Command) -> Any:
    from flowship.deploy import deployer_for

    options = {name: [t for t, _ in users] for name, users in _provider_options(command).items()}
    return deployer_for(args.target, command, _only_for(args, args.target, options), args.namespace)


def parameter_commands() -> dict[str, set[str]]:
    """The options of every command that also takes a flow's parameters as ``--<name>``."""
    parsers = {"run": run_options_parser("run", None), "trigger": trigger_parser("flow trigger")}
    return {name: {o for action in parser._actions for o in action.option_strings} for name, parser in parsers.items()}


def option_clashes(ir: Any) -> list[Problem]:
    """A parameter named like an option of a command that also takes the flow's parameters is an error."""
    commands = parameter_commands()
    problems = []
    for option, parameter in {f"--{p.name}": p for p in ir.parameters}.items():
        users = sorted(command for command, options in commands.items() if option in options)
        if users:
            problems.append(
                Problem(
                    ir.file,
                    parameter.line,
                    f"parameter '{parameter.name}' has the name of an option of "
                    f"{' and '.join('flow ' + u for u in users)} ({option})",
                    f"rename the parameter, e.g. Parameter('{parameter.name}_value', ...)",
                )
            )
    return problems


def load_checked_flow(flow_file: str, inputs: Any = None, decorators: tuple[Any, ...] = ()) -> Any:
    """The IR of ``flow_file`` (configs and deploy time as ``inputs`` say, with ``--with`` ``decorators``); every
    error (the flow's own, and options its parameters shadow) is raised at once."""
    from flowship.flowfile import check_flow_file

    result = check_flow_file(flow_file, inputs, decorators)
    if result.ir is None:
        raise FlowDefinitionError(result.problems)
    print_problems([p for p in result.problems if not p.is_error], file=sys.stderr)
    problems = option_clashes(result.ir)
    if problems:
        raise FlowDefinitionError(problems)
    return result.ir
