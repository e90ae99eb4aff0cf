"""``flow tag add|remove|replace|list FLOW/RUN ...``: change a run's user tags, as Metaflow's ``tag`` command.

Removals are applied before additions and each command is one change, so a
reader sees all of it or none (``runtime/tagging.py``). System tags are
listed but never change.
"""

from __future__ import annotations

import argparse
from typing import Any

from flowship.cli.options import add_parser, datastore_option
from flowship.errors import FlowshipError

__all__ = ["add_commands"]


def _run(args: argparse.Namespace) -> Any:
    from flowship.cli.local import existing_store
    from flowship.runtime.client import Flow, namespace

    flow, _, run_id = args.run.strip("/").partition("/")
    if not flow or not run_id or "/" in run_id:
        raise FlowshipError(f"'{args.run}' is not FLOW/RUN (e.g. HelloFlow/20261201T190102-3fa2c1)")
    namespace(None)  # a pathspec names one run exactly
    return Flow(flow, datastore=existing_store(args.datastore, "tag").url)[run_id]


def _print_tags(run: Any) -> None:
    print(f"{run.pathspec}")
    print(f"  user tags:   {', '.join(sorted(run.user_tags)) or '(none)'}")
    print(f"  system tags: {', '.join(sorted(run.system_tags))}")


def _tag(args: argparse.Namespace) -> int:
    run = _run(args)
    if args.action == "add":
        run.add_tags(args.tags)
    elif args.action == "remove":
        run.remove_tags(args.tags)
    elif args.action == "replace":
        if not args.remove or not args.add:
            raise FlowshipError(
                "flow tag replace needs at least one --remove TAG and one --add TAG "
                "(to only add or remove, use flow tag add / flow tag remove)"
            )
        run.replace_tags(args.remove, args.add)
    _print_tags(run)
    return 0


def add_commands(commands: Any) -> None:
    tag = add_parser(commands, "tag", "add, remove, replace or list the tags of a run")
    actions = tag.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (("add", "add tags to a run"), ("remove", "remove user tags from a run")):
        sub = add_parser(actions, action, text)
        sub.add_argument("run", metavar="FLOW/RUN")
        sub.add_argument("tags", nargs="+", metavar="TAG")
        datastore_option(sub)
    replace = add_parser(actions, "replace", "remove, then add, tags of a run as one change")
    replace.add_argument("run", metavar="FLOW/RUN")
    replace.add_argument("--remove", action="append", default=[], metavar="TAG", help="a tag to remove (repeatable)")
    replace.add_argument("--add", action="append", default=[], metavar="TAG", help="a tag to add (repeatable)")
    datastore_option(replace)
    listing = add_parser(actions, "list", "list the user and system tags of a run")
    listing.add_argument("run", metavar="FLOW/RUN")
    datastore_option(listing)
    tag.set_defaults(handler=_tag)
