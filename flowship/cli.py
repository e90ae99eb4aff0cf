"""The ``flow`` command: thin argument parsing over the compiler and runtime.

Commands are registered in one table; each parses its arguments and calls
into the library. A :class:`~flowship.errors.FlowshipError` becomes a message
on stderr and exit code 1, never a traceback. Heavy modules are imported
inside the command that needs them, so ``flow --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from flowship.errors import FlowshipError, format_problem

__all__ = ["main", "main_for_flow_file"]

Handler = Callable[[argparse.Namespace], int]


def _check(args: argparse.Namespace) -> int:
    from flowship.flowfile import check_flow_file

    result = check_flow_file(args.flow_file)
    for problem in result.problems:
        print(format_problem(problem))
    if result.ir is None:
        print(f"{args.flow_file}: {_count(len(result.errors), 'error')}", file=sys.stderr)
        return 1
    ir = result.ir
    print(f"{args.flow_file}: {ir.name} is valid ({_count(len(ir.steps), 'step')}, {_count(len(ir.parameters), 'parameter')})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _show(args: argparse.Namespace) -> int:
    from flowship.compiler.render import RENDERERS
    from flowship.flowfile import load_flow

    sys.stdout.write(RENDERERS[args.format](load_flow(args.flow_file)))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flow", description="Write a flow once; run it locally; compile it for Argo or Airflow."
    )
    parser.add_argument("--version", action="version", version=f"flowship {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser("check", help="check a flow file and list every problem")
    check.add_argument("flow_file", help="path of the flow's .py file")
    check.set_defaults(handler=_check)

    show = commands.add_parser("show", help="show a flow's graph")
    show.add_argument("flow_file", help="path of the flow's .py file")
    show.add_argument("--format", choices=["text", "mermaid", "dot", "json"], default="text",
                      help="text for a terminal, mermaid or dot for docs, json for the IR (default: text)")
    show.set_defaults(handler=_show)
    return parser


def _version() -> str:
    from flowship import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flow`` command with ``argv`` (default: the process arguments)."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    handler: Handler = args.handler
    try:
        return handler(args)
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
        print(f"usage from a flow file: python {path} COMMAND [options]  (COMMAND: check, show)", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return main([argv[0], path, *argv[1:]])
