"""``FlowSpec``: the base class every flow derives from.

``MyFlow()`` at the bottom of a flow file hands the command line over to the
``flow`` command (``python -m flowship.cli FILE ARGS`` in a child process), so
``python my_flow.py check|show|run ...`` works as in Metaflow. The step
command creates the flow with ``use_cli=False`` and drives one step.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from typing import Any

from flowship.compiler.parse import MAX_GANG_NODES, PARALLEL_ARTIFACT
from flowship.errors import FlowshipError

__all__ = ["FlowSpec", "IMPORT_ONLY_VARIABLE"]

IMPORT_ONLY_VARIABLE = "FLOWSHIP_IMPORT_ONLY"  # set while flowship imports a flow file only to read its arguments


class FlowSpec:
    """Base class of a flow: subclass it and write ``@step`` methods."""

    def __init__(self, use_cli: bool = True) -> None:
        self._transition: tuple[tuple[str, ...], str | None] | None = None
        if use_cli and os.environ.get(IMPORT_ONLY_VARIABLE):
            raise FlowshipError(
                f"the flow file creates {type(self).__name__}() when it is imported; "
                f'put it under `if __name__ == "__main__":`'
            )
        if use_cli:
            _hand_over_to_cli(inspect.getfile(type(self)), sys.argv[1:])

    @property
    def name(self) -> str:
        return type(self).__name__

    def next(
        self, *steps: Any, foreach: str | None = None, condition: str | None = None, num_parallel: int | None = None
    ) -> None:
        """Record where the flow goes after this step; must be the step's last call.

        ``self.next({"a": self.a, "b": self.b}, condition="choice")`` goes to the one step whose key equals
        the value of ``self.choice``; a value that is no key fails the step.
        """
        if self._transition is not None:
            raise FlowshipError("self.next() was called twice in one step; call it once, last")
        if condition is not None:
            if len(steps) != 1 or not isinstance(steps[0], dict) or foreach is not None:
                raise FlowshipError('a switch is self.next({"key": self.<step>, ...}, condition="<artifact>")')
            steps = (self._switch_target(steps[0], condition),)
        names = []
        for target in steps:
            if not callable(target) or not getattr(target, "__flowship_step__", False):
                raise FlowshipError(f"self.next() got {target!r}; pass steps as self.<step>")
            names.append(target.__name__)
        if num_parallel is not None:  # Metaflow's gang of nodes: a foreach over their indexes
            if isinstance(num_parallel, bool) or not isinstance(num_parallel, int) or num_parallel < 1:
                raise FlowshipError(f"num_parallel={num_parallel!r}: give the number of nodes, a whole number >= 1")
            if num_parallel > MAX_GANG_NODES:
                raise FlowshipError(
                    f"num_parallel={num_parallel}: a gang's nodes all start together, and flowship starts at most "
                    f"{MAX_GANG_NODES} — use fewer nodes"
                )
            self.__dict__[PARALLEL_ARTIFACT] = list(range(num_parallel))
            foreach = PARALLEL_ARTIFACT
        self._transition = (tuple(names), foreach)

    def _switch_target(self, cases: dict[Any, Any], condition: str) -> Any:
        """The step whose key equals ``self.<condition>`` (compared as Python compares dict keys)."""
        from flowship.current import current

        try:
            step = current.step_name
        except FlowshipError:  # called outside a running task
            step = "?"
        try:
            value = getattr(self, condition)
        except AttributeError:
            raise FlowshipError(
                f"switch in step '{step}': condition=\"{condition}\" names no artifact; set self.{condition} "
                "in this step (or before it) to the key of the step to run next"
            ) from None
        try:
            return cases[value]
        except (KeyError, TypeError):
            keys = ", ".join(repr(k) for k in cases)
            raise FlowshipError(
                f"switch in step '{step}': self.{condition} is {value!r}, which is not one of its cases ({keys}); "
                f"set self.{condition} to one of them"
            ) from None

    # What a running task provides (see runtime/task.py). Outside a task these raise.

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        context = self.__dict__.get("_flowship")
        if context is None or name not in context.refs:
            where = (
                " in a join: use inputs.<step>.x or self.merge_artifacts(inputs)" if context and context.is_join else ""
            )
            raise AttributeError(f"'{type(self).__name__}' has no artifact '{name}'{where}")
        value = context.load(name)
        self.__dict__[name] = value
        return value

    def _frame(self) -> tuple[str, int, int, Any]:
        context = self.__dict__.get("_flowship")
        if context is None or not context.foreach:
            raise FlowshipError("self.input and self.index exist only in steps inside a foreach")
        return context.foreach[-1]

    @property
    def input(self) -> Any:
        """The item of the innermost foreach this task was started for."""
        return self._frame()[3]

    @property
    def index(self) -> int:
        """The position of :attr:`input` in the foreach's list."""
        return self._frame()[1]

    def foreach_stack(self) -> list[tuple[int, int, Any]]:
        """(index, number of splits, item) for each enclosing foreach, outermost first."""
        context = self.__dict__.get("_flowship")
        return [(index, splits, item) for _, index, splits, item in (context.foreach if context else [])]

    def merge_artifacts(self, inputs: Any, exclude: list[str] | None = None, include: list[str] | None = None) -> None:
        """Copy into this join every artifact its inputs agree on; a conflict not excluded is an error."""
        context = self.__dict__.get("_flowship")
        if context is None or not context.is_join:
            raise FlowshipError("merge_artifacts() can only be called in a join step")
        excluded = set(exclude or ())
        found: dict[str, dict[str, list[str]]] = {}
        for task in inputs:
            for name, ref in task._refs.items():
                found.setdefault(name, {}).setdefault(ref.sha, []).append(task._step)
        unknown = sorted(set(include or ()) - set(found))
        if unknown:
            raise FlowshipError(f"merge_artifacts(include=...) names {', '.join(unknown)}, which no input has")
        conflicts = []
        for name, versions in sorted(found.items()):
            if name in excluded or name in self.__dict__ or (include is not None and name not in include):
                continue
            if len(versions) > 1:
                conflicts.append(
                    f"{name} (differs between {', '.join(sorted({s for v in versions.values() for s in v}))})"
                )
                continue
            sha = next(iter(versions))
            context.refs[name] = next(t._refs[name] for t in inputs if name in t._refs and t._refs[name].sha == sha)
        if conflicts:
            raise FlowshipError(
                f"merge_artifacts: inputs disagree on {'; '.join(conflicts)} — assign them in the join "
                "before merging, or pass exclude=[...]"
            )


def _hand_over_to_cli(flow_file: str, argv: list[str]) -> None:
    """Run ``flow COMMAND FLOW_FILE ...`` in a child interpreter and exit with its code.

    The library never imports the command line. A child, not ``exec``, so a host that runs the file in-process
    (``runpy``, IPython's ``%run``) keeps its own process; the interpreter's options (``-X``, ``-W``) carry over.
    """
    original = list(getattr(sys, "orig_argv", []))
    options = original[1 : original.index(sys.argv[0])] if sys.argv and sys.argv[0] in original else []
    sys.stdout.flush()
    sys.stderr.flush()
    child = subprocess.Popen([sys.executable, *options, "-m", "flowship.cli", flow_file, *argv])
    while True:
        try:
            sys.exit(child.wait())
        except KeyboardInterrupt:  # Ctrl-C reached the child too; it decides how to stop
            continue
