"""The step command: how every scheduler runs one task, spelled in one place.

``flow step FLOW_FILE STEP --run-id=R --task-id=T --retry-count=N --datastore=D ...``
is what the local scheduler forks, what an Argo container and an Airflow
task run. :class:`StepCommand` is its only spelling: schedulers build one and
call :meth:`StepCommand.to_argv`; ``flow step`` reads one back with
:meth:`StepCommand.from_argv`. Values may be a scheduler's own expressions
(``{{workflow.name}}``, Jinja), so every field is text until the task reads it.

Every option is one argv token (``--name=value``): a value that starts with
``-`` stays a value, and no shell or re-parsing is ever involved. Parameter
values may also travel as base64 (``--param-base64``), for schedulers that
rewrite text on its way to the task (Argo substitutes ``{{...}}`` in it more
than once, the kubelet expands ``$(...)``); and an argument Argo moved into a
file because it was too long (``@/tmp/argo_arg_N.txt``) is read from that file.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import typing
from dataclasses import dataclass, field

from flowship.errors import FlowshipError

__all__ = [
    "StepCommand",
    "RunContext",
    "TIMEOUT_GRACE_SECONDS",
    "TASK_ID_VARIABLE",
    "RUN_ID",
    "TASK_ID",
    "NAME",
    "ENCODED_PREFIX",
    "ENCODED_JSON_PREFIX",
    "encode_stored_value",
    "OutcomeCommand",
    "WEBHOOK_VARIABLE",
]

# @timeout is enforced inside the task (so @catch can catch it and the failure is
# recorded); a scheduler's own hard limit comes this much later, for a task that
# does not stop by itself.
TIMEOUT_GRACE_SECONDS = 60
# Schedulers that cannot template the task id into argv (Airflow's mapped tasks) set this.
TASK_ID_VARIABLE = "FLOWSHIP_TASK_ID"
# The grammar of ids, which become folder names in the store: nothing can climb out of it.
RUN_ID = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,199}$")
TASK_ID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # flow and step names: Python identifiers
# A URL that gets a POST when a deployed run fails; deployments set it from a Kubernetes Secret.
WEBHOOK_VARIABLE = "FLOWSHIP_WEBHOOK_URL"
# A parameter value a scheduler keeps in its own spec, where it would read it as template syntax (Argo: a value
# holding "{{=" can keep a workflow from ever starting), is kept as this prefix and its base64; the task decodes it.
ENCODED_PREFIX = "flowship-base64:"
# The same for a JSON value (what an Argo Events sensor takes from an event's payload): a string is its text, any
# other value its JSON text.
ENCODED_JSON_PREFIX = "flowship-json-base64:"
# Argo's emissary replaces an argument over 128 KiB with a file holding it ("@filename", which programs must read).
_ARGO_ARGUMENT_FILE = re.compile(r"^@(/.*/)?argo_arg_[0-9]+\.txt$")


@dataclass(frozen=True)
class RunContext:
    """Where a run belongs; given to the start task of a deployed run, which creates the run's record."""

    namespace: str | None = None
    project: str | None = None
    branch: str | None = None
    promoted_from: str | None = None
    tags: tuple[str, ...] = ()

    def as_record(self) -> dict[str, object]:
        values = {
            "namespace": self.namespace,
            "project": self.project,
            "branch": self.branch,
            "promoted_from": self.promoted_from,
            "tags": self.tags,
        }
        return {key: value for key, value in values.items() if value}


_CONTEXT_OPTIONS = (
    ("namespace", "--namespace"),
    ("project", "--project"),
    ("branch", "--branch"),
    ("promoted_from", "--promoted-from"),
)


@dataclass(frozen=True)
class StepCommand:
    flow_file: str  # relative to the code package root when ``package`` is set
    step: str
    run_id: str
    task_id: str | None  # None: the scheduler sets FLOWSHIP_TASK_ID
    retry_count: str
    datastore: str
    package: str | None = None  # SHA-256 of the code package to run FLOW_FILE from
    flow_name: str | None = None  # finds the package in the store
    splits_file: str | None = None  # a foreach task writes its children's task ids here
    context: RunContext = field(default_factory=RunContext)
    params: tuple[tuple[str, str], ...] = ()  # a start task that creates its run: NAME, VALUE text
    max_splits: str | None = None  # a foreach task fails before fanning out to more (the scheduler's own limit)
    params_base64: bool = False  # to_argv: the values are base64 of the text (or a scheduler expression giving it)
    switch_file: str | None = None  # a switch task writes the step it picked here
    max_repetitions: str | None = None  # a loop's task fails before repeating more often (the scheduler's limit)
    evaluated: str | None = None  # a start task that creates its run: the deployment's evaluation of the flow, JSON
    # a start task that creates its run: the events that triggered it, each a JSON list of events or one event, as
    # base64 or the scheduler's expression giving it (Airflow's triggering asset events; an Argo Events sensor's)
    trigger_base64: tuple[str, ...] = ()
    environment: str | None = None  # the id of the step's @pypi/@conda environment in the store (needs flow_name)

    def to_argv(self) -> list[str]:
        argv = ["flow", "step", self.flow_file, self.step, f"--run-id={self.run_id}"]
        if self.task_id is not None:
            argv.append(f"--task-id={self.task_id}")
        argv += [f"--retry-count={self.retry_count}", f"--datastore={self.datastore}"]
        if self.package:
            argv.append(f"--package={self.package}")
        if self.package or self.environment:
            argv.append(f"--flow-name={self.flow_name}")
        if self.environment:
            argv.append(f"--environment={self.environment}")
        if self.splits_file:
            argv.append(f"--splits-file={self.splits_file}")
        if self.max_splits:
            argv.append(f"--max-splits={self.max_splits}")
        if self.switch_file:
            argv.append(f"--switch-file={self.switch_file}")
        if self.max_repetitions:
            argv.append(f"--max-repetitions={self.max_repetitions}")
        for attribute, option in _CONTEXT_OPTIONS:
            value = getattr(self.context, attribute)
            if value:
                argv.append(f"{option}={value}")
        argv += [f"--tag={tag}" for tag in self.context.tags]
        if self.evaluated:  # always base64: the JSON may hold text a scheduler would substitute ({{...}}, $(...))
            argv.append(f"--evaluated-base64={base64.b64encode(self.evaluated.encode()).decode()}")
        argv += [f"--trigger-base64={value}" for value in self.trigger_base64]
        option = "--param-base64" if self.params_base64 else "--param"
        argv += [f"{option}={name}={value}" for name, value in self.params]
        return argv

    @classmethod
    def from_argv(cls, argv: list[str]) -> StepCommand:
        """Read ``STEP_FILE STEP --option=... ``: the arguments after ``flow step``."""
        args = step_parser().parse_args([_read_argument_file(token) for token in argv])
        task_id = args.task_id or os.environ.get(TASK_ID_VARIABLE)
        if not task_id:
            raise FlowshipError(f"flow step needs --task-id (or {TASK_ID_VARIABLE} in the environment)")
        for option, value in (("--package", args.package), ("--environment", args.environment)):
            if value and not args.flow_name:
                raise FlowshipError(f"flow step {option} needs --flow-name, to find it in the store")
        params = [token.partition("=")[::2] for token in args.param]
        params += [_decoded(*token.partition("=")[::2]) for token in args.param_base64]
        evaluated = _decoded("", args.evaluated_base64, "--evaluated-base64")[1] if args.evaluated_base64 else None
        trigger = tuple(value for value in args.trigger_base64 if value)  # empty: the scheduler found no event
        context = RunContext(args.namespace, args.project, args.branch, args.promoted_from, tuple(args.tag))
        return cls(
            args.flow_file,
            args.step,
            args.run_id,
            task_id,
            args.retry_count,
            args.datastore,
            args.package,
            args.flow_name,
            args.splits_file,
            context,
            tuple(params),
            args.max_splits,
            switch_file=args.switch_file,
            max_repetitions=args.max_repetitions,
            evaluated=evaluated,
            trigger_base64=trigger,
            environment=args.environment,
        )

    @property
    def trigger(self) -> list[dict[str, object]] | None:
        """The triggering events the ``--trigger-base64`` options carry; None when they carry none."""
        events: list[dict[str, object]] = []
        for value in self.trigger_base64:
            text = _decoded("", value, "--trigger-base64")[1]
            try:
                found = json.loads(text) if text else []
            except ValueError:
                raise FlowshipError(f"flow step --trigger-base64: not JSON events ({text[:80]!r})") from None
            found = found if isinstance(found, list) else [found]
            if not all(isinstance(e, dict) for e in found):
                raise FlowshipError(f"flow step --trigger-base64: not JSON events ({text[:80]!r})")
            events += [e for e in found if e]
        return events or None

    def check_ids(self) -> None:
        """Ids become folder names in the store: refuse anything that could climb out of it."""
        if not RUN_ID.match(self.run_id):
            raise FlowshipError(f"flow step --run-id={self.run_id}: use letters, digits and . _ ~ - (not first: .)")
        if not TASK_ID.match(self.task_id or ""):
            raise FlowshipError(f"flow step --task-id={self.task_id}: a task id is a foreach index path: 0, 0.3, 0.3.1")

    @property
    def split_limit(self) -> int | None:
        return _whole_number("--max-splits", self.max_splits)

    @property
    def repetition_limit(self) -> int | None:
        return _whole_number("--max-repetitions", self.max_repetitions)

    @property
    def attempt(self) -> int:
        try:
            return int(self.retry_count)
        except ValueError:
            raise FlowshipError(f"flow step --retry-count={self.retry_count}: not a whole number") from None


def _read_argument_file(token: str) -> str:
    if not _ARGO_ARGUMENT_FILE.match(token):
        return token
    try:
        with open(token[1:], encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise FlowshipError(f"flow step: cannot read the argument file {token[1:]} ({exc.strerror})") from None


def encode_stored_value(text: str) -> str:
    """``text`` as a scheduler may keep it in its spec: unchanged unless it holds ``{{`` (or looks encoded)."""
    if "{{" not in text and not text.startswith((ENCODED_PREFIX, ENCODED_JSON_PREFIX)):
        return text
    return ENCODED_PREFIX + base64.b64encode(text.encode()).decode()


def _decoded(name: str, value: str, option: str = "--param-base64") -> tuple[str, str]:
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
        if text.startswith(ENCODED_PREFIX):
            text = base64.b64decode(text[len(ENCODED_PREFIX) :], validate=True).decode("utf-8")
        elif text.startswith(ENCODED_JSON_PREFIX):
            value = json.loads(base64.b64decode(text[len(ENCODED_JSON_PREFIX) :], validate=True).decode("utf-8"))
            text = value if isinstance(value, str) else json.dumps(value)
        return name, text
    except (binascii.Error, UnicodeDecodeError, ValueError):
        named = f"{name}=" if name else ""
        raise FlowshipError(f"flow step {option}={named}...: not the base64 of UTF-8 text ({value[:40]!r})") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise FlowshipError(f"flow step: {message} (see `flow step --help`)")


def _whole_number(option: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise FlowshipError(f"flow step {option}={value}: not a whole number") from None


def step_parser() -> argparse.ArgumentParser:
    """The options of ``flow step``; ``flow step --help`` prints this parser's help."""
    parser = _Parser(
        prog="flow step",
        allow_abbrev=False,
        description="Run one task of a flow: the command every scheduler runs (see docs/running.md).",
    )
    parser.add_argument("flow_file", help="the flow file (relative to the code package root with --package)")
    parser.add_argument("step", help="the step to run")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--task-id", help=f"the task's id (default: ${TASK_ID_VARIABLE})")
    parser.add_argument("--retry-count", default="0", help="the attempt, 0 for the first")
    parser.add_argument("--datastore", required=True, help="the store: a folder or s3://bucket/prefix")
    parser.add_argument("--package", help="run FLOW_FILE from this code package (its SHA-256) in the store")
    parser.add_argument("--flow-name", help="the flow's name, to find --package and --environment in the store")
    parser.add_argument(
        "--environment",
        metavar="ID",
        help="run the task in the step's @pypi/@conda environment ID from the store, made on this machine first "
        "if it is not yet (from the wheels in the store when the environment was deployed)",
    )
    parser.add_argument("--splits-file", help="where a foreach task writes the task ids it fans out to (a JSON list)")
    parser.add_argument("--max-repetitions", help="the most tasks a loop may run (the scheduler's own limit)")
    parser.add_argument(
        "--switch-file", help="where a switch task writes the step it picked (a JSON string if it ends in .json)"
    )
    parser.add_argument("--max-splits", help="the most items a foreach may fan out to (the scheduler's own limit)")
    for attribute, option in _CONTEXT_OPTIONS:
        parser.add_argument(
            option, help=f"for a start task that creates its run: the run's {attribute.replace('_', ' ')}"
        )
    parser.add_argument("--tag", action="append", default=[], help="for a start task that creates its run: a tag")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="for a start task that creates its run: a parameter's value as text",
    )
    parser.add_argument(
        "--evaluated-base64",
        metavar="BASE64",
        help="for a start task that creates its run: what the deployment evaluated in the flow (configs, arguments "
        "that are not literals) as base64 of JSON; the task uses it instead of evaluating the module again",
    )
    parser.add_argument(
        "--trigger-base64",
        action="append",
        default=[],
        metavar="BASE64",
        help="for a start task that creates its run: events that triggered it, a JSON list or one event, as base64 "
        "(their payloads set the parameters the flow maps; current.trigger shows them) (repeatable)",
    )
    parser.add_argument(
        "--param-base64",
        action="append",
        default=[],
        metavar="NAME=BASE64",
        help="the same, the value's UTF-8 text in base64 (for schedulers that would rewrite the text)",
    )
    return parser


@dataclass(frozen=True)
class OutcomeCommand:
    """``flow record-outcome FLOW --run-id=R --datastore=D [--status=S] [--failures-base64=B]``: what a
    scheduler runs once a deployed run has ended (Argo's exit handler, Airflow's teardown task)."""

    flow_name: str
    run_id: str
    datastore: str
    status: str | None = None  # the scheduler's word for how the run ended; None: judge from the store
    failures_base64: str | None = None  # the scheduler's list of failed nodes, JSON, as base64 (or an expression)
    finish_event: str | None = None  # a succeeded run announces this event (for @trigger_on_finish downstreams)
    event_url: str | None = None  # ... to this Argo Events webhook

    def to_argv(self) -> list[str]:
        argv = ["flow", "record-outcome", self.flow_name, f"--run-id={self.run_id}", f"--datastore={self.datastore}"]
        if self.status:
            argv.append(f"--status={self.status}")
        if self.failures_base64:
            argv.append(f"--failures-base64={self.failures_base64}")
        if self.finish_event and self.event_url:
            argv += [f"--finish-event={self.finish_event}", f"--event-url={self.event_url}"]
        return argv

    @classmethod
    def from_argv(cls, argv: list[str]) -> OutcomeCommand:
        args = outcome_parser().parse_args([_read_argument_file(token) for token in argv])
        values = (args.status, args.failures_base64, args.finish_event, args.event_url)
        return cls(args.flow_name, args.run_id, args.datastore, *values)

    @property
    def failures(self) -> list[dict[str, object]]:
        """The scheduler's failed nodes. Argo's list is JSON quoted once more by Go (``\\x7f`` and all, "null" when
        none) and may be cut short; what cannot be read is one entry saying so, never an error."""
        if not self.failures_base64:
            return []
        try:
            text = base64.b64decode(self.failures_base64, validate=True).decode("utf-8", "replace")
        except binascii.Error:
            raise FlowshipError("flow record-outcome --failures-base64: not base64") from None
        if text.startswith('"') and text.endswith('"'):
            text = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")  # Go's quoting undone
        try:
            listed = json.loads(text or "null")
        except ValueError:
            return [
                {"displayName": "?", "message": f"the scheduler's list of failed nodes could not be read: {text[:200]}"}
            ]
        return [item for item in listed if isinstance(item, dict)] if isinstance(listed, list) else []


def outcome_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="flow record-outcome",
        allow_abbrev=False,
        description="Record how a deployed run ended, and notify $" + WEBHOOK_VARIABLE + " when it failed "
        "(what a scheduler runs after a run; see docs/running.md).",
    )
    parser.add_argument("flow_name", help="the flow's name")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--datastore", required=True, help="the store: a folder or s3://bucket/prefix")
    parser.add_argument("--status", help="how the scheduler says the run ended (Argo: Succeeded, Failed, Error)")
    parser.add_argument("--failures-base64", help="the scheduler's failed nodes, a JSON list, as base64")
    parser.add_argument("--finish-event", help="when the run succeeded: the event to announce (@trigger_on_finish)")
    parser.add_argument("--event-url", help="the Argo Events webhook event source --finish-event is POSTed to")
    return parser
