"""Metaflow's helpers for step code: ``parallel_map``, ``parallel_imap_unordered`` and ``profile``.

``parallel_map(func, items)`` runs ``func`` on each item in its own forked
process, at most ``max_parallel`` (default: the CPU count) at a time, and
returns the results in the items' order. Forking (not pickling ``func``)
means lambdas and closures work, as in Metaflow; each result comes back
pickled through a temporary file, so its size is not limited by a pipe. A
call that raises in a child fails the whole map with ``MulticoreException``
after the child's traceback is printed. Needs ``os.fork`` (Linux, macOS).
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flowship.errors import FlowshipError

__all__ = ["parallel_map", "parallel_imap_unordered", "profile", "MulticoreException"]

A = TypeVar("A")
R = TypeVar("R")


class MulticoreException(FlowshipError):
    """A call of ``parallel_map``'s function failed in its child process (its traceback was printed)."""


def _start(func: Callable[[A], R], item: A, folder: str | None) -> tuple[int, str]:
    """Fork a child that writes ``pickle(func(item))`` to a new file; (its pid, that file)."""
    handle, result_file = tempfile.mkstemp(prefix="parallel_map_", dir=folder)
    os.close(handle)
    sys.stdout.flush()  # buffered output would otherwise be printed by the child too
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid, result_file
    status = 1
    try:
        value = func(item)
        with open(result_file, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)  # never run the parent's cleanup (atexit, finally blocks) in the child


def _collect(pid: int, status: int, result_file: str) -> Any:
    try:
        if os.waitstatus_to_exitcode(status) != 0:
            raise MulticoreException(f"parallel_map: the child process {pid} failed (its traceback is above)")
        with open(result_file, "rb") as handle:
            return pickle.load(handle)
    finally:
        os.unlink(result_file)


def _finished(running: dict[int, str]) -> tuple[int, int]:
    """(pid, status) of one of our children that has ended; only ours are waited for, never the step's others."""
    while True:
        for pid in running:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return pid, status
        time.sleep(0.01)


def parallel_imap_unordered(
    func: Callable[[A], R], iterable: Iterable[A], max_parallel: int | None = None, dir: str | None = None
) -> Iterator[R]:
    """``func`` of each item, each in its own process, yielded as they finish."""
    limit = max_parallel or os.cpu_count() or 1
    items = iter(iterable)
    running: dict[int, str] = {}
    try:
        for item in items:
            pid, result_file = _start(func, item, dir)
            running[pid] = result_file
            if len(running) >= limit:
                break
        while running:
            pid, status = _finished(running)
            result = _collect(pid, status, running.pop(pid))
            for item in items:  # start one more in place of the one that finished
                new_pid, result_file = _start(func, item, dir)
                running[new_pid] = result_file
                break
            yield result
    finally:  # a failure, or a caller that stopped early: leave no child and no file behind
        for pid, result_file in running.items():
            os.waitpid(pid, 0)
            os.unlink(result_file)


def parallel_map(
    func: Callable[[A], R], iterable: Iterable[A], max_parallel: int | None = None, dir: str | None = None
) -> list[R]:
    """``[func(item) for item in iterable]``, each call in its own process, in the items' order."""
    indexed = list(enumerate(iterable))
    results = parallel_imap_unordered(lambda pair: (pair[0], func(pair[1])), indexed, max_parallel, dir)
    return [value for _, value in sorted(results, key=lambda pair: pair[0])]


@contextmanager
def profile(label: str, stats_dict: dict[str, int] | None = None) -> Iterator[None]:
    """Time the block in milliseconds: printed (``PROFILE: label ...``), or added to ``stats_dict[label]``."""
    if stats_dict is None:
        print(f"PROFILE: {label} starting")
    start = time.time()
    yield
    took = int((time.time() - start) * 1000)
    if stats_dict is None:
        print(f"PROFILE: {label} completed in {took}ms")
    else:
        stats_dict[label] = stats_dict.get(label, 0) + took
