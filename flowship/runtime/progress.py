"""What ``flow run`` shows while it works: a live status line on a terminal, plain lines otherwise.

The base class is silent (for library use and tests); :class:`ConsoleProgress`
prints one line per finished task and, on a terminal, a live count of tasks
done, running and failed.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowship.runtime.scheduler import TaskOutcome

__all__ = ["Progress", "ConsoleProgress"]


class Progress:
    """Receives scheduler events; does nothing with them."""

    wants_output = False  # whether to be handed every line the tasks print

    def begin(self, flow: str, run_id: str) -> None:
        """The run exists: its record was created under this id."""

    def output(self, prefix: str, line: str) -> None: ...

    def notice(self, message: str) -> None: ...

    def started(self, step: str, task_id: str) -> None: ...

    def retrying(self, step: str, task_id: str, attempt: int) -> None: ...

    def finished(self, outcome: TaskOutcome) -> None: ...

    def close(self) -> None: ...


class ConsoleProgress(Progress):
    def __init__(self, show_output: bool = True) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True, highlight=False, soft_wrap=True)  # lines whole, for logs and grep
        self.flow = self.run_id = ""
        self.began = time.monotonic()
        self.counts = {"done": 0, "running": 0, "failed": 0, "cloned": 0}
        self.lock = threading.Lock()
        self.live = (
            Live(console=self.console, transient=True, refresh_per_second=4, get_renderable=self._status)
            if self.console.is_terminal
            else None
        )
        self.shown = False
        self.wants_output = show_output

    def _status(self) -> str:
        c = self.counts
        cloned = f", {c['cloned']} cloned" if c["cloned"] else ""
        return (
            f"{c['done']} done{cloned}, {c['running']} running, "
            f"{c['failed']} failed  [{time.monotonic() - self.began:.1f} s]"
        )

    def _refresh(self) -> None:
        if self.live:
            self.live.refresh()

    def begin(self, flow: str, run_id: str) -> None:
        with self.lock:  # not before the run exists: a run that cannot start prints only its error
            self.flow, self.run_id, self.shown = flow, run_id, True
            self.console.print(f"[bold]{flow}[/bold] run [cyan]{run_id}[/cyan]")
            if self.live:
                self.live.start()

    def started(self, step: str, task_id: str) -> None:
        with self.lock:
            self.counts["running"] += 1
            self._refresh()

    def output(self, prefix: str, line: str) -> None:
        """A task's line, on standard output as Metaflow shows it: ``[step/task] text``."""
        with self.lock:
            if not self.wants_output:
                return
            try:
                sys.stdout.write(f"[{prefix}] {line}\n")
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):  # the reader went away (`| head`): the run goes on, unshown
                self.wants_output = False

    def notice(self, message: str) -> None:
        with self.lock:
            self.console.print(f"  [yellow]note[/yellow]   {message}")

    def retrying(self, step: str, task_id: str, attempt: int) -> None:
        with self.lock:
            self.console.print(f"  [yellow]retry[/yellow]  {step}/{task_id} (attempt {attempt + 1})")

    def finished(self, outcome: TaskOutcome) -> None:
        with self.lock:
            self.counts["running"] -= 1
            if outcome.cloned:
                self.counts["cloned"] += 1
                word = "[blue]cloned[/blue]"
            elif outcome.succeeded:
                self.counts["done"] += 1
                word = "[green]ok[/green]    "
            else:
                self.counts["failed"] += 1
                word = "[red]FAILED[/red]"
            self.console.print(f"  {word} {outcome.step}/{outcome.task_id}  {outcome.seconds:.2f} s")
            self._refresh()

    def close(self) -> None:
        if self.live and self.shown:
            self.live.stop()
        if self.shown:
            self.console.print(self._status())
