"""Capture a task's stdout and stderr while still passing them through to the console.

File descriptors 1 and 2 are redirected into pipes, so output from the flow's
own code, C extensions and child processes is all captured; a thread per
stream copies what arrives to the original descriptor (so scheduler and pod
logs still show it) and keeps it for the task's log objects.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["CapturedLogs", "capture_output"]


@dataclass
class CapturedLogs:
    stdout: bytes = b""
    stderr: bytes = b""
    _parts: dict[int, bytearray] = field(default_factory=dict)

    def so_far(self, stream: str) -> str:
        """What ``stream`` (stdout or stderr) has captured until now, while the task still runs."""
        captured = self.stdout if stream == "stdout" else self.stderr
        part = self._parts.get(1 if stream == "stdout" else 2)
        return bytes(part if part is not None and not captured else captured).decode("utf-8", "replace")


def _pump(read_fd: int, original_fd: int, sink: bytearray) -> None:
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        sink += chunk
        try:
            os.write(original_fd, chunk)
        except OSError:
            pass  # the console went away; the captured copy is what matters
    os.close(read_fd)


@contextmanager
def capture_output() -> Iterator[CapturedLogs]:
    logs = CapturedLogs()
    saved: list[tuple[int, int, threading.Thread]] = []
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        stream.flush()
        sink = logs._parts.setdefault(fd, bytearray())
        read_fd, write_fd = os.pipe()
        original = os.dup(fd)
        os.dup2(write_fd, fd)
        os.close(write_fd)
        thread = threading.Thread(target=_pump, args=(read_fd, original, sink), daemon=True)
        thread.start()
        saved.append((fd, original, thread))
    try:
        yield logs
    finally:
        for (fd, original, thread), stream in zip(saved, (sys.stdout, sys.stderr), strict=False):
            stream.flush()
            os.dup2(original, fd)  # closes the pipe's last write end, so the pump sees EOF
            thread.join()
            os.close(original)
        logs.stdout, logs.stderr = bytes(logs._parts[1]), bytes(logs._parts[2])
