"""The ``flow`` command: parses arguments, calls the library, prints. Never a traceback for a user error.

Commands are declared in ``local.py`` (check, show, run, resume, step, logs,
runs), ``deploying.py`` (compile, deploy, promote, delete, trigger), ``promoting.py`` (promote's gates and
rollback, promotions), ``metrics.py`` (metrics), ``reporting.py`` (report), ``tagging.py`` (tag),
``cards.py`` (card get|view|list) and ``environments.py`` (environment show). A
:class:`~flowship.errors.FlowshipError` becomes one line on stderr and exit
code 1; a closed pipe (``flow logs ... | head``) ends the command quietly.
Options are never abbreviated. Heavy modules are imported inside the command
that needs them, so ``flow --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from flowship.cli import cards, deploying, environments, local, metrics, promoting, reporting, tagging
from flowship.cli.options import parser_for
from flowship.errors import FlowshipError

__all__ = ["main", "main_for_flow_file"]

_FLOW_FILE_COMMANDS = ("check", "show", "run", "resume", "compile", "deploy", "delete", "package")


def _parser() -> argparse.ArgumentParser:
    parser = parser_for("flow", "Write a flow once; run it locally; compile it for Argo or Airflow.")
    parser.add_argument("--version", action="version", version=f"flowship {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    local.add_commands(commands)
    deploying.add_commands(commands)
    tagging.add_commands(commands)
    promoting.add_commands(commands)
    metrics.add_commands(commands)
    cards.add_commands(commands)
    reporting.add_commands(commands)
    environments.add_commands(commands)
    return parser


def _version() -> str:
    from flowship import __version__

    return __version__


def _closed_pipe() -> int:
    """The reader went away (``| head``): stop writing, without a word, as other command-line tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flow`` command with ``argv`` (default: the process arguments); returns the exit code."""
    parser = _parser()
    args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if extra and not getattr(args, "takes_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code = args.handler(args, extra) if getattr(args, "takes_extra", False) else args.handler(args)
        sys.stdout.flush()
        return code
    except FlowshipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _closed_pipe()
    except local.Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# Metaflow's options that come before the command (`python flow.py --with retry run`); flowship's commands take
# them after it. Each maps to how many values it takes.
_LEADING_OPTIONS = {"--with": 1, "--no-pylint": 0, "--pylint": 0, "--quiet": 0, "--environment": 1}


def _metaflow_order(argv: list[str]) -> list[str]:
    """``--with retry run ...`` as ``run ... --with retry``."""
    leading: list[str] = []
    while argv and argv[0].split("=", 1)[0] in _LEADING_OPTIONS:
        takes = 0 if "=" in argv[0] else _LEADING_OPTIONS[argv[0]]
        leading += argv[: 1 + takes]
        argv = argv[1 + takes :]
    return argv + leading


def main_for_flow_file(path: str, argv: Sequence[str]) -> int:
    """``python my_flow.py show --format dot`` == ``flow show my_flow.py --format dot``."""
    argv = _metaflow_order(list(argv))
    relative = os.path.relpath(path)
    path = path if relative.startswith("..") else relative
    if not argv or argv[0] not in _FLOW_FILE_COMMANDS:
        commands = ", ".join(_FLOW_FILE_COMMANDS)
        print(
            f"usage: python {path} COMMAND [options]   (COMMAND: {commands}; see flow COMMAND --help)", file=sys.stderr
        )
        if argv and not argv[0].startswith("-"):
            print(f"error: {argv[0]} does not take a flow file; run it as: flow {argv[0]} ...", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return main([argv[0], path, *argv[1:]])
