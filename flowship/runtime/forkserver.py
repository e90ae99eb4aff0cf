"""A warm process that forks one child per task, so local tasks skip interpreter start-up.

Starting Python and importing flowship costs more than a small task itself.
``flow run`` therefore starts this server once; for each task it forks a
child that runs exactly ``flow step ...`` with the same argv a fresh process
would get (``run_step_argv``), its output going to the task's console file.
The flow file is imported by each child, never by the server, so every task
sees the flow as a fresh process would.

Protocol (JSON lines): the client sends ``{"id", "argv", "log"}``; the
server answers ``{"id", "pid"}`` once forked and ``{"id", "exit"}`` when the
child ends (a negative exit is the signal that killed it). When its input
closes while children still run, the scheduler is gone (killed, or
interrupted): the server kills them — their attempts have no completion
marker, so nothing half-done is trusted — and ends. Ctrl-C is the
scheduler's to handle; the server ignores it. Set
``FLOWSHIP_FORKSERVER=0`` to spawn a fresh interpreter per task instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from flowship.errors import FlowshipError

__all__ = ["ForkServer", "forkserver_enabled", "stop_processes"]


def forkserver_enabled() -> bool:
    return hasattr(os, "fork") and os.environ.get("FLOWSHIP_FORKSERVER", "1") != "0"


# --- the server side ----------------------------------------------------------------


def _child(argv: list[str], log: str, reply_fd: int, wakeup_read: int) -> None:
    """In the forked child: become the task process and never return."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in (reply_fd, wakeup_read, 0):
            os.close(fd)
        os.open(os.devnull, os.O_RDONLY)  # becomes fd 0
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        from flowship.runtime.task import run_step_argv

        sys.argv = ["flow", "step", *argv]
        code = run_step_argv(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # the child must end here whatever happens; the log gets the traceback
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(preload: list[str]) -> None:
    """Read requests on stdin, fork children, report their pids and exits on stdout."""
    import importlib

    import flowship.runtime.task  # noqa: F401  (warm the imports every child needs)

    for module in preload:  # e.g. boto3 for an S3 store: imported once, not once per task
        importlib.import_module(module)

    reply_fd = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the protocol
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    children: dict[int, int] = {}
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "request")
    selector.register(wakeup_read, selectors.EVENT_READ, "child")
    pending = b""

    def reply(message: dict[str, Any]) -> None:
        try:
            os.write(reply_fd, (json.dumps(message) + "\n").encode())
        except BrokenPipeError:
            pass  # the scheduler is gone; its input closing says so too

    open_input = True
    while open_input or children:
        for key, _ in selector.select():
            if key.data == "request":
                chunk = os.read(0, 65536)
                if not chunk:
                    open_input = False
                    selector.unregister(0)
                    for pid in children:  # the scheduler left with tasks running: end them too
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    continue
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    request = json.loads(line)
                    sys.stdout.flush()
                    pid = os.fork()
                    if pid == 0:
                        _child(request["argv"], request["log"], reply_fd, wakeup_read)
                    children[pid] = request["id"]
                    reply({"id": request["id"], "pid": pid})
            else:
                os.read(wakeup_read, 4096)
                while children:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    reply({"id": children.pop(pid), "exit": os.waitstatus_to_exitcode(status)})


# --- the client side ----------------------------------------------------------------


class ForkServer:
    """Client for the server above; safe to call from many scheduler threads at once."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowship.runtime.forkserver", *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            bufsize=0,
        )
        self.lock = threading.Lock()
        self.next_id = 0
        self.waiting: dict[int, dict[str, Any]] = {}
        self.closed = False
        self.condition = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            message = json.loads(line)
            with self.condition:
                self.waiting.setdefault(message["id"], {}).update(message)
                self.condition.notify_all()
        with self.condition:
            self.closed = True
            self.condition.notify_all()

    def _wait_for(self, request_id: int, field: str, timeout: float | None) -> Any:
        with self.condition:
            ready = self.condition.wait_for(lambda: field in self.waiting.get(request_id, {}) or self.closed, timeout)
            if not ready:
                return None
            if field not in self.waiting.get(request_id, {}):
                raise FlowshipError(
                    "the process that starts local tasks stopped unexpectedly; run again, or set "
                    "FLOWSHIP_FORKSERVER=0 to start each task in a fresh interpreter"
                )
            return self.waiting[request_id][field]

    def run(self, argv: list[str], log: str, timeout: float | None) -> int:
        """Run ``flow step <argv>`` in a forked child; kill it past ``timeout`` seconds; return its exit code."""
        with self.lock:
            self.next_id += 1
            request_id = self.next_id
            self.process.stdin.write((json.dumps({"id": request_id, "argv": argv, "log": log}) + "\n").encode())  # type: ignore[union-attr]
        pid = self._wait_for(request_id, "pid", None)
        code = self._wait_for(request_id, "exit", timeout)
        if code is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            code = self._wait_for(request_id, "exit", None)
        with self.condition:
            del self.waiting[request_id]
        return code

    def stop(self, grace: float) -> None:
        """SIGTERM every running task, then SIGKILL what is still running ``grace`` seconds later."""
        stop_processes(
            lambda: [w["pid"] for w in self.waiting.values() if "pid" in w and "exit" not in w], grace, self.condition
        )

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait()


def stop_processes(running: Callable[[], list[int]], grace: float, condition: threading.Condition) -> None:
    """SIGTERM what ``running()`` lists (read under ``condition``, which is notified as processes end); SIGKILL
    what still runs ``grace`` seconds later. Only processes not yet reaped are signalled: no pid is reused."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.0)):
        with condition:
            for pid in running():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if wait:
                condition.wait_for(lambda: not running(), wait)


if __name__ == "__main__":
    serve(sys.argv[1:])
