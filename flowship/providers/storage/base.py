"""The storage interface every backend implements.

Keys are ``/``-separated relative paths. Writes are atomic: a reader sees a
whole object or none, even if the writer is killed mid-way. Nothing here
reads, modifies and writes an object: concurrent writers never need locks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import BinaryIO

__all__ = ["Storage", "Chunks"]

Chunks = Sequence[bytes | memoryview]


class Storage(ABC):
    url: str

    @abstractmethod
    def put(self, key: str, data: bytes | Chunks) -> None:
        """Write ``data`` (bytes, or chunks written in order) at ``key`` atomically, replacing what was there."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> bool:
        """Write ``data`` at ``key`` only if nothing is there (atomically, whole); False when something was."""

    @abstractmethod
    def put_file(self, key: str, path: str) -> None:
        """Write the file at ``path`` to ``key`` atomically (large objects stream)."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes at ``key``; :class:`KeyError` if absent."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary file for ``key``; :class:`KeyError` if absent."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object at ``key``; nothing happens if it is absent."""

    @abstractmethod
    def sweep(self, prefix: str, idle_seconds: float) -> int:
        """Remove what writers under ``prefix`` abandoned (killed mid-write) and left untouched this long; a count."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Names directly under the folder ``prefix`` (no recursion), sorted."""
