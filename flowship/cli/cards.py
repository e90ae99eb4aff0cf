"""``flow card get|view|list``: read the cards tasks wrote, as Metaflow's ``card`` commands.

A card is addressed by its task, FLOW/RUN/STEP/TASK (or FLOW/RUN/STEP when
the step has one task), and, when the task has several, by ``--id`` or
``--type``. ``get`` prints the HTML or writes it (``-o``); ``view`` opens it
in a browser when one is available and prints the path of its local copy
either way; ``list`` shows every card of a run's tasks.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flowship.cli.common import output_file, relative
from flowship.cli.options import add_parser, card_options, datastore_option
from flowship.errors import FlowshipError

__all__ = ["add_commands"]


def _run(pathspec: str, datastore: str | None, least: int) -> tuple[Any, list[str]]:
    """The run a pathspec names, and its parts; ``least`` is how many parts it must have (2 or 3)."""
    from flowship.cli.local import existing_store
    from flowship.runtime.client import Flow, namespace

    parts = pathspec.strip("/").split("/")
    if not least <= len(parts) <= 4 or not all(parts):
        wanted = "FLOW/RUN/STEP/TASK (or FLOW/RUN/STEP for a step with one task)"
        raise FlowshipError(f"'{pathspec}' is not {'FLOW/RUN or ' if least == 2 else ''}{wanted}")
    namespace(None)  # a pathspec names one run exactly
    return Flow(parts[0], datastore=existing_store(datastore, "card").url)[parts[1]], parts


def _task(args: argparse.Namespace) -> Any:
    run, parts = _run(args.pathspec, args.datastore, 3)
    step = run[parts[2]]
    if len(parts) == 4:
        return step[parts[3]]
    tasks = list(step)
    if len(tasks) != 1:
        ids = ", ".join(t.id for t in tasks[:10]) or "none"
        raise FlowshipError(f"step {step.pathspec} has {len(tasks)} tasks ({ids}); name one: {step.pathspec}/TASK")
    return tasks[0]


def _card(args: argparse.Namespace) -> Any:
    from flowship.cards.client import describe_cards, get_cards

    task = _task(args)
    cards = list(get_cards(task, id=args.id, type=args.type))
    if not cards:
        raise FlowshipError(f"task {task.pathspec} has no cards (its step has no @card, or the task failed)")
    if len(cards) > 1:
        listed = describe_cards([{"type": c.type, "id": c.id} for c in cards])
        raise FlowshipError(f"task {task.pathspec} has {len(cards)} cards ({listed}); choose one with --id or --type")
    return cards[0]


def _get(args: argparse.Namespace) -> int:
    card = _card(args)
    html = card.get()
    if args.output:
        path = output_file(args.output, f"{card.type}{'-' + card.id if card.id else ''}.html")
        path.write_text(html, encoding="utf-8")
        print(f"wrote {relative(str(path))}", file=sys.stderr)
    else:
        sys.stdout.write(html)
    return 0


def _view(args: argparse.Namespace) -> int:
    print(_card(args).view())
    return 0


def _list(args: argparse.Namespace) -> int:
    run, parts = _run(args.pathspec, args.datastore, 2)
    steps = [run[parts[2]]] if len(parts) > 2 else list(run)
    tasks = [steps[0][parts[3]]] if len(parts) == 4 else [t for s in steps for t in s]
    found = 0
    for task in tasks:
        if not task.finished:
            continue
        for entry in task.metadata.get("cards", []):
            found += 1
            name = entry["type"] + (f" id={entry['id']}" if entry.get("id") else "")
            state = f"error: {entry['error']}" if entry.get("error") else "ok"
            print(f"{task.pathspec}  {name}  {state}")
    if not found:
        print(f"{args.pathspec}: no cards (no step of it has @card, or its tasks have not finished)", file=sys.stderr)
    return 0


def add_commands(commands: Any) -> None:
    card = add_parser(commands, "card", "read the cards tasks wrote: get, view or list them")
    actions = card.add_subparsers(dest="action", metavar="ACTION", required=True)
    get = add_parser(actions, "get", "print a task's card as HTML, or write it to a file: FLOW/RUN/STEP[/TASK]")
    get.add_argument("pathspec", metavar="PATHSPEC")
    card_options(get, output=True)
    datastore_option(get)
    get.set_defaults(handler=_get)
    view = add_parser(actions, "view", "open a task's card in a browser, and print its file: FLOW/RUN/STEP[/TASK]")
    view.add_argument("pathspec", metavar="PATHSPEC")
    card_options(view)
    datastore_option(view)
    view.set_defaults(handler=_view)
    listing = add_parser(actions, "list", "list the cards of a run's tasks: FLOW/RUN[/STEP[/TASK]]")
    listing.add_argument("pathspec", metavar="PATHSPEC")
    datastore_option(listing)
    listing.set_defaults(handler=_list)
