"""``flow step``: run one task of a flow, the same way under every scheduler.

A task loads the flow's IR from the run's metadata (the start task writes it
when nobody did), finds its input tasks from its own deterministic task id,
runs the step body in this process, then saves artifacts, logs, metadata and
finally the completion marker. Task ids are the foreach index path: ``0`` for
a task outside any foreach, ``0.3`` for the fourth item of a foreach, ``0.3.1``
one level deeper; a join strips the last index to find its own id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import tokenize
import types
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flowship.cards.render import TaskCards
from flowship.compiler.evaluate import EvaluationInputs
from flowship.compiler.ir import FlowIR, StepIR
from flowship.compiler.parse import PARALLEL_ARTIFACT
from flowship.compiler.triggers import event_parameters
from flowship.configs import ConfigValue
from flowship.current import Parallel, current
from flowship.envs import ACTIVE_VARIABLE
from flowship.errors import CaughtException, FlowshipError, user_traceback
from flowship.evaluation_child import import_flow_class
from flowship.flowspec import FlowSpec
from flowship.param_codec import drop_unset, resolve_values
from flowship.parameters import Parameter
from flowship.runtime.current_fields import current_values
from flowship.runtime.datastore import ArtifactRef, AttemptRecord, FlowDatastore, LazyArtifacts
from flowship.runtime.gates import decide_in_flow
from flowship.runtime.logcapture import capture_output
from flowship.runtime.taskids import SKIPPED, child_task_id, input_tasks
from flowship.runtime.triggering import scheduler_events
from flowship.step_command import StepCommand

__all__ = ["TaskSpec", "run_task", "run_step", "run_step_argv", "TimeoutException"]


class TimeoutException(Exception):
    """Raised inside a step that runs past its @timeout; @catch can catch it."""


class _Terminated(BaseException):
    """SIGTERM reached the task (its run is being stopped): not an error @catch should swallow."""


def _on_terminate(signum: int, frame: Any) -> None:
    raise _Terminated()


@dataclass
class TaskSpec:
    flow_file: str
    step: str
    run_id: str
    task_id: str
    retry_count: int
    datastore: FlowDatastore
    splits_file: str | None = None
    run_context: dict[str, Any] = field(default_factory=dict)  # for a start task that creates its run
    code_root: str | None = None  # the project the flow may import from: a code package's root, or its own
    max_splits: int | None = None  # the scheduler's limit on a foreach's width
    switch_file: str | None = None  # a switch task writes the step it picked here (for a scheduler to read)
    max_repetitions: int | None = None  # the scheduler's limit on how often a loop runs
    evaluated: dict[str, Any] | None = None  # for a deployed start task: what its deployment evaluated


@dataclass
class _Inputs:
    """What a join receives: its input tasks, iterable and addressable by step name."""

    tasks: list[LazyArtifacts] = field(default_factory=list)

    def __iter__(self):
        return iter(self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __getitem__(self, index: int) -> LazyArtifacts:
        return self.tasks[index]

    def __getattr__(self, step: str) -> LazyArtifacts:
        for task in self.tasks:
            if task._step == step:
                return task
        raise AttributeError(f"no input from step '{step}'; inputs come from {', '.join(t._step for t in self.tasks)}")


class TaskContext:
    """The runtime state a FlowSpec instance reads through during one task."""

    def __init__(self, datastore: FlowDatastore, refs: dict[str, ArtifactRef], origin: str):
        self.datastore = datastore
        self.refs = dict(refs)
        self.origin = origin  # the input task the artifacts come from, for messages
        self.foreach: list[tuple[str, int, int, Any]] = []  # (step, index, num_splits, value)
        self.is_join = False

    def load(self, name: str) -> Any:
        return self.datastore.load_artifact(name, self.refs[name], self.origin)


def _trusted(datastore: FlowDatastore, run_id: str, step: str, task_id: str) -> AttemptRecord:
    record = datastore.latest_attempt(run_id, step, task_id)
    if record is None or not record.succeeded:
        raise FlowshipError(f"input task {run_id}/{step}/{task_id} has not succeeded; run it first (or resume the run)")
    return record


def _load_ir(spec: TaskSpec, flow_name: str, params: dict[str, str]) -> tuple[FlowIR, dict[str, Any]]:
    """The run's IR and record. A deployed start task (it is given where the run belongs, and its parameters)
    creates the record; every other task reads the one its run has."""
    creates = spec.step == "start" and bool(spec.run_context or params)
    run = None if creates else spec.datastore.read_run(spec.run_id)
    if run is None:
        if spec.step != "start":
            raise FlowshipError(f"run {flow_name}/{spec.run_id} has no metadata; its start task must run first")
        from flowship.flowfile import load_flow
        from flowship.runtime.runs import new_run_record

        # A deployment fixed its configs and evaluated its arguments: the start task uses those values exactly.
        ir = load_flow(spec.flow_file, EvaluationInputs(answer=spec.evaluated))
        params = drop_unset(ir.parameters, params)
        # a deployed run's events outrank what the scheduler passes: its parameters' defaults (Metaflow's sensors)
        params = {**params, **event_parameters(ir, spec.run_context.get("trigger") or [])}
        resolve_values(ir.parameters, params)  # a bad value fails here, before the run exists
        run = new_run_record(ir, spec.run_id, params, **spec.run_context)
        if not spec.datastore.create_run(run):
            run = _adopt_own_run(spec, flow_name, run)
    return FlowIR.from_dict(run["ir"]), run


def _adopt_own_run(spec: TaskSpec, flow_name: str, ours: dict[str, Any]) -> dict[str, Any]:
    """The record another attempt of this very start task created; anyone else's is never adopted."""
    theirs = spec.datastore.read_run(spec.run_id) or {}
    same = ("parameters", "namespace", "code_package", "project", "branch", "promoted_from")
    differs = [key for key in same if theirs.get(key) != ours.get(key)]
    if differs:
        raise FlowshipError(
            f"run {flow_name}/{spec.run_id} exists already, with another {', '.join(differs)} (namespace "
            f"{theirs.get('namespace')}): a start task never adopts a run it did not create — give this run its own id"
        )
    return theirs


_NOT_CONSTANTS = (types.FunctionType, types.MethodType, types.ModuleType, property, type)


def _class_constants(cls: type[FlowSpec], ir: FlowIR) -> list[str]:
    """Class-level values Metaflow stores as artifacts in the start task: not parameters, methods or private."""
    parameters = {p.attr for p in ir.parameters}
    names = [n for n in dir(cls) if not n.startswith("_") and n not in parameters and not hasattr(FlowSpec, n)]
    unread = [n for n in names if isinstance(getattr(cls, n), Parameter)]
    if unread:  # a step would see the Parameter object instead of its value: never run that
        raise FlowshipError(
            f"{', '.join(unread)} of flow {ir.name} {'is a Parameter' if len(unread) == 1 else 'are Parameters'} "
            "that flow check could not read (made by code, or on a base class whose module it cannot find) — "
            "declare it as `name = Parameter(...)` in the flow file or in a base class in the project"
        )
    return [n for n in names if not isinstance(getattr(cls, n), _NOT_CONSTANTS)]


def _input_records(spec: TaskSpec, ir: FlowIR, step: StepIR) -> list[AttemptRecord]:
    """The records of the tasks this one reads: every scheduler starts it only once they have all finished, so
    a task without a successful record did not run (a switch picked another branch)."""
    if not step.parents and not step.loops:
        return []
    ds = spec.datastore
    records: dict[tuple[str, str], AttemptRecord] = {}

    def state(name: str, task_id: str) -> Mapping[str, Any] | str:
        if not ir.step(name).conditional:  # a step no switch decides on must have run
            record = _trusted(ds, spec.run_id, name, task_id)
        else:
            found = ds.latest_attempt(spec.run_id, name, task_id)
            if found is None or not found.succeeded:
                return SKIPPED
            record = found
        records[(name, task_id)] = record
        return record.meta

    inputs = input_tasks(ir, step.name, spec.task_id, state) or []
    if not inputs:
        raise FlowshipError(
            f"no input of {ir.name}/{spec.run_id}/{step.name}/{spec.task_id} has succeeded and led to it "
            f"(its parents: {', '.join(step.parents)}); run them first (or resume the run)"
        )
    return [records[i] for i in inputs]


def _foreach_frames(spec: TaskSpec, ir: FlowIR, step: StepIR) -> list[tuple[str, int, int, Any]]:
    """(foreach step, index, number of splits, item) for each enclosing foreach, outermost first."""
    frames = []
    path = spec.task_id.split(".")
    depth = 0
    for name in step.split_stack:
        split = ir.step(name)
        if split.transition != "foreach":
            continue
        depth += 1
        record = _trusted(spec.datastore, spec.run_id, name, ".".join(path[:depth]))
        index = int(path[depth])
        variable = split.foreach_var or ""
        items = spec.datastore.load_artifact(variable, record.artifacts[variable], record.pathspec)
        frames.append((name, index, record.meta["num_splits"], items[index]))
    return frames


def _bind_current(ir: FlowIR, run: dict[str, Any], spec: TaskSpec, frames: list[tuple[str, int, int, Any]]) -> None:
    parallel = None
    if frames and ir.step(frames[-1][0]).foreach_var == PARALLEL_ARTIFACT:  # a node of num_parallel's gang
        _, index, nodes, _ = frames[-1]
        control = spec.task_id.rsplit(".", 1)[0] + ".0"
        parallel = Parallel("127.0.0.1", nodes, index, control)  # a local gang's nodes share this machine
    current._bind(**current_values(ir, run, spec.step, spec.task_id, spec.retry_count), parallel=parallel)


def _call_step(flow: FlowSpec, step: StepIR) -> BaseException | None:
    """Run the step body under its @timeout; return the exception @catch swallowed, if any."""
    decorators = step.decorators
    seconds = decorators.timeout_seconds

    def on_alarm(signum, frame):
        raise TimeoutException(f"step '{step.name}' exceeded its @timeout of {seconds} s")

    if seconds:
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(seconds)
    catch = decorators.catch
    try:
        getattr(flow, step.name)(*((flow._flowship_inputs,) if step.is_join else ()))
    except Exception as exc:
        retries = decorators.retry.times if decorators.retry else 0
        if catch is None or current.retry_count < retries:
            raise
        if catch.print_exception:
            print(f"@catch caught an exception from {flow.name}/{step.name}", file=sys.stderr)
            sys.stderr.write(user_traceback(exc))
        if catch.var:
            setattr(flow, catch.var, CaughtException(exc))
        return exc
    finally:
        if seconds:
            signal.alarm(0)
    if catch is not None and catch.var:
        setattr(flow, catch.var, None)  # as in Metaflow: a step that succeeded says so with None
    return None


def _check_transition(flow: FlowSpec, step: StepIR, max_splits: int | None) -> int | None:
    """Verify the step went where the graph says; return the number of foreach splits."""
    taken = flow._transition
    if taken is None:
        if step.transition != "end":
            raise FlowshipError(f"step '{step.name}' finished without calling self.next()")
        return None
    targets, foreach = taken
    if step.transition == "switch":
        if len(targets) != 1 or targets[0] not in step.next:
            raise FlowshipError(
                f"step '{step.name}' called self.next({', '.join(targets)}) but the flow file's switch picks one of "
                f"{', '.join(step.next)}"
            )
        return None
    if tuple(targets) != step.next or foreach != step.foreach_var:
        raise FlowshipError(
            f"step '{step.name}' called self.next({', '.join(targets)}) but the flow file says {', '.join(step.next)}"
        )
    if foreach is None:
        return None
    items = getattr(flow, foreach)
    try:
        count = len(items)
    except TypeError:
        raise FlowshipError(
            f"foreach=\"{foreach}\" in step '{step.name}': self.{foreach} is a {type(items).__name__}, not a list"
        ) from None
    if count == 0:
        raise FlowshipError(
            f"foreach=\"{foreach}\" in step '{step.name}': self.{foreach} is empty; a foreach needs at least one item"
        )
    if max_splits is not None and count > max_splits:
        raise FlowshipError(
            f"foreach=\"{foreach}\" in step '{step.name}' has {count} items, more than the {max_splits} its scheduler "
            "fans out to (flow run: --max-num-splits; Airflow: [core] max_map_length; Argo: the deployment's "
            "--max-splits) — raise that limit, "
            "or make fewer, larger items"
        )
    return count


def _execute(spec: TaskSpec, ir: FlowIR, run: dict[str, Any], meta: dict[str, Any], cards: TaskCards) -> FlowSpec:
    """Run the step and save what it set; return the flow object (its artifacts, for the task's cards)."""
    step = ir.step(spec.step)
    for key, value in step.decorators.environment.items():
        os.environ[key] = value
    cls = import_flow_class(spec.flow_file, ir.name, spec.code_root)
    records = _input_records(spec, ir, step)
    ds = spec.datastore
    constants = _class_constants(cls, ir)
    if step.name == "start":
        refs = {}  # parameter values and class constants become artifacts with everything else the step sets
        parameters = resolve_values(ir.parameters, run["parameters"])
    elif step.is_join:  # as in Metaflow, a join gets its parameters and constants passed down, nothing else
        passed = [p.attr for p in ir.parameters] + constants
        refs = {name: records[0].artifacts[name] for name in passed if name in records[0].artifacts}
        parameters = None
    else:
        refs = records[0].artifacts
        parameters = None
    flow = cls(use_cli=False)
    context = TaskContext(ds, refs, records[0].pathspec if records else "")
    context.is_join = step.is_join
    context.foreach = _foreach_frames(spec, ir, step)
    object.__setattr__(flow, "_flowship", context)
    object.__setattr__(flow, "_flowship_inputs", _Inputs([LazyArtifacts(ds, r) for r in records]))
    for parameter in ir.parameters:
        flow.__dict__[parameter.attr] = (
            parameters[parameter.attr] if parameters is not None else context.load(parameter.attr)
        )
    if step.name == "start":
        for name in constants:
            flow.__dict__[name] = getattr(cls, name)
    for config in ir.configs:  # fixed when the run started: every task sees the recorded value
        plain = config.plain or config.value is None
        flow.__dict__[config.attr] = config.value if plain else ConfigValue(config.value)
    _bind_current(ir, run, spec, context.foreach)
    cards.start(ir, flow, meta)
    caught = _call_step(flow, step)
    splits = None if caught else _check_transition(flow, step, spec.max_splits)
    values = [(n, v) for n, v in vars(flow).items() if not n.startswith("_") or n == PARALLEL_ARTIFACT]
    with ThreadPoolExecutor(max_workers=8) as pool:  # many small artifacts upload in parallel on S3
        for (name, _), ref in zip(values, pool.map(lambda item: ds.save_artifact(*item), values), strict=False):
            context.refs[name] = ref
    meta["artifacts"] = {name: ref.to_dict() for name, ref in sorted(context.refs.items())}
    meta["num_splits"] = splits
    if step.name == "end":  # in-flow gates (@project(gates=)): a production run promotes itself or is held back
        saved = AttemptRecord(spec.run_id, step.name, spec.task_id, spec.retry_count, meta)
        decide_in_flow(ir, run, ds, LazyArtifacts(ds, saved))
    if step.transition == "switch":  # the step its switch picked: where the run goes from here
        meta["chosen"] = flow._transition[0][0]
        repetitions = int(spec.task_id.rsplit(".", 1)[1]) + 1 if step.loops else 0
        if meta["chosen"] == step.name and spec.max_repetitions is not None and repetitions >= spec.max_repetitions:
            raise FlowshipError(
                f"the loop in step '{step.name}' picked its step again after {repetitions} repetitions, the most its "
                "scheduler runs (Argo nests each repetition one template deeper, and stops at 100) — repeat inside "
                "the step, or run the flow with flow run"
            )
        if spec.switch_file:  # as text, or a JSON string where the scheduler reads JSON (Airflow's XCom)
            with open(spec.switch_file, "w", encoding="utf-8") as handle:
                json_file = spec.switch_file.endswith(".json")
                handle.write(json.dumps(meta["chosen"]) if json_file else meta["chosen"])
    meta["foreach_stack"] = [{"step": s, "index": i, "num_splits": n} for s, i, n, _ in context.foreach]
    if splits is not None and spec.splits_file:
        with open(spec.splits_file, "w", encoding="utf-8") as handle:
            json.dump([child_task_id(spec.task_id, i) for i in range(splits)], handle)
    return flow


def _describe(exc: BaseException) -> str:
    return f"{exc}\n" if isinstance(exc, FlowshipError) else user_traceback(exc)


def run_task(spec: TaskSpec, flow_name: str, params: dict[str, str]) -> int:
    """Run one task attempt; return the process exit code (0 succeeded, 1 failed)."""
    os.environ["FLOWSHIP_DATASTORE"] = spec.datastore.storage.url  # the Client in a step reads this run's store
    meta: dict[str, Any] = {
        "flow": flow_name,
        "run_id": spec.run_id,
        "step": spec.step,
        "task_id": spec.task_id,
        "attempt": spec.retry_count,
        "started_at": time.time(),
        "artifacts": {},
        "num_splits": None,
        "cards": [],
    }
    if os.environ.get(ACTIVE_VARIABLE):  # the task runs in its step's own environment (flowship/envs/)
        meta["environment"] = os.environ[ACTIVE_VARIABLE]
    claim = {"host": socket.gethostname(), "pid": os.getpid(), "started_at": meta["started_at"]}
    # A SIGTERM between the claim and the try below would kill the task without a record: held until inside it.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    if not spec.datastore.claim_attempt(spec.run_id, spec.step, spec.task_id, spec.retry_count, claim):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        raise FlowshipError(
            f"attempt {spec.retry_count} of {flow_name}/{spec.run_id}/{spec.step}/{spec.task_id} was started already; "
            f"an attempt is never overwritten — run attempt {spec.retry_count + 1} instead"
        )
    signal.signal(signal.SIGTERM, _on_terminate)
    cards = TaskCards(spec.datastore, spec.step, logs=None)
    with capture_output() as logs:
        cards.logs = logs
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            ir, run = _load_ir(spec, flow_name, params)
            cards.flow = _execute(spec, ir, run, meta, cards)
            meta["status"] = "succeeded"
        except Exception as exc:  # the step's own failure: recorded, reported, never half-saved
            meta["status"] = "failed"
            meta["exception"] = _describe(exc)
            sys.stderr.write(meta["exception"])
        except SystemExit as exc:  # sys.exit() in the step: the task ends before the step did
            meta["status"] = "failed"
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            meta["exception"] = f"step '{spec.step}' exited (status {code}) before calling self.next\n"
            sys.stderr.write(meta["exception"])
        except (KeyboardInterrupt, _Terminated) as exc:  # the run is being stopped: say so in the record
            meta["status"] = "failed"
            name = "SIGTERM" if isinstance(exc, _Terminated) else "SIGINT"
            meta["exception"] = f"step '{spec.step}' was stopped ({name}) with its run\n"
            sys.stderr.write(meta["exception"])
    meta["finished_at"] = time.time()
    if meta["status"] == "succeeded":  # as in Metaflow, a failed task renders no card
        meta["cards"] = cards.write(meta)
    spec.datastore.write_attempt(meta, {"stdout": logs.stdout, "stderr": logs.stderr})
    return 0 if meta["status"] == "succeeded" else 1


def run_step(command: StepCommand) -> int:
    """Run the task ``command`` names: fetch its code package if any, then run one attempt."""
    from flowship.compiler.parse import parse_flow_source
    from flowship.flowfile import module_reader
    from flowship.providers.storage import open_storage

    command.check_ids()
    storage = open_storage(command.datastore)
    flow_file = command.flow_file
    if command.package:
        from flowship.runtime.package import fetch_package

        store = FlowDatastore(storage, command.flow_name or "")
        package, flow_file = _run_package(store, command)
        code_root = fetch_package(store, package)
        flow_file = os.path.join(code_root, flow_file)
    else:
        from flowship.runtime.package_files import project_root

        code_root = project_root(flow_file)
    try:
        with tokenize.open(flow_file) as handle:
            parsed = parse_flow_source(handle.read(), flow_file, module_reader(flow_file))
    except OSError as exc:
        raise FlowshipError(f"{flow_file}: cannot read the flow file ({exc.strerror})") from None
    flow_name = parsed.name
    if not flow_name:
        raise FlowshipError(f"{flow_file}: no flow class; run `flow check {flow_file}`")
    if command.step not in parsed.steps:
        raise FlowshipError(f"flow {flow_name} has no step '{command.step}'; its steps: {', '.join(parsed.steps)}")
    context = command.context.as_record()
    if command.step == "start" and command.trigger:
        context["trigger"] = scheduler_events(command.trigger)
    if command.package:
        context["code_package"] = {"sha": command.package, "flow_path": command.flow_file}
    spec = TaskSpec(
        flow_file,
        command.step,
        command.run_id,
        command.task_id or "",
        command.attempt,
        FlowDatastore(storage, flow_name),
        command.splits_file,
        context,
        code_root,
        command.split_limit,
        switch_file=command.switch_file,
        max_repetitions=command.repetition_limit,
        evaluated=json.loads(command.evaluated) if command.evaluated else None,
    )
    return run_task(spec, flow_name, dict(command.params))


def _run_package(store: FlowDatastore, command: StepCommand) -> tuple[str, str]:
    """(package, flow path) a task runs: its run's, recorded by the start task, whatever is deployed by now."""
    if command.step == "start":
        return command.package or "", command.flow_file
    record = store.read_run(command.run_id)
    recorded = (record or {}).get("code_package")
    if not recorded:
        return command.package or "", command.flow_file
    if recorded["sha"] != command.package:
        print(
            f"note: running the code package this run started with ({recorded['sha'][:12]}), not the one deployed "
            f"since ({(command.package or '')[:12]})",
            file=sys.stderr,
        )
    return recorded["sha"], recorded["flow_path"]


def _enter_environment(command: StepCommand, argv: list[str]) -> None:
    """A task of a step with its own environment runs in it: this process is replaced by one in the environment."""
    if command.environment and os.environ.get(ACTIVE_VARIABLE) != command.environment:
        from flowship.envs.prepare import enter_environment
        from flowship.providers.storage import open_storage

        command.check_ids()
        store = FlowDatastore(open_storage(command.datastore), command.flow_name or "")
        enter_environment(store, command.environment, command.step, argv)


def run_step_argv(argv: list[str]) -> int:
    """``flow step ARGS``: the exit code of one task attempt; a bad command is a message and exit code 1."""
    try:
        command = StepCommand.from_argv(argv)
        _enter_environment(command, argv)
        return run_step(command)
    except FlowshipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
