"""A folder on the local disk as a store: atomic writes by temp file + rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import BinaryIO

from flowship.errors import FlowshipError
from flowship.providers.storage.base import Chunks, Storage

__all__ = ["LocalStorage"]


def _read_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: done once, at import, before any thread writes
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class LocalStorage(Storage):
    def __init__(self, root: str, what: str = "datastore"):
        self.root = os.path.abspath(root)
        self.what = what  # how messages name the folder
        self.url = self.root

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _write(self, key: str, fill: Callable[[BinaryIO], object], exclusive: bool = False) -> bool:
        """Write into a temporary file beside the target, then give it the target's name: whole or absent.

        ``exclusive``: only where no file has that name yet (a hard link never replaces one); False if one had.
        """
        path = self._path(key)
        folder = os.path.dirname(path)
        try:
            os.makedirs(folder, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            os.fchmod(handle, 0o666 & ~_UMASK)  # as open() would create it, not mkstemp's owner-only 0600
        except OSError as exc:
            raise self._failed(key, exc) from None
        try:
            with os.fdopen(handle, "wb") as out:
                fill(out)
            if exclusive:
                os.link(temp, path)
            else:
                os.replace(temp, path)
            return True
        except FileExistsError:
            if not exclusive:
                raise
            return False
        except OSError as exc:
            raise self._failed(key, exc) from None
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temp)  # gone already after a replace; left only by a failure or a link

    def _failed(self, key: str, exc: OSError) -> FlowshipError:
        what = f"{self.what} {self.root}: cannot write {key} ({exc.strerror})"
        return FlowshipError(f"{what} — check the folder exists, is writable and has room")

    def put(self, key: str, data: bytes | Chunks) -> None:
        chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data

        def write(out) -> None:
            for chunk in chunks:
                out.write(chunk)

        self._write(key, write)

    def create(self, key: str, data: bytes) -> bool:
        return self._write(key, lambda out: out.write(data), exclusive=True)

    def put_file(self, key: str, path: str) -> None:
        def copy(out) -> None:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, out, 16 * 2**20)

        self._write(key, copy)

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise KeyError(key) from None

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def delete(self, key: str) -> None:
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass

    def sweep(self, prefix: str, idle_seconds: float) -> int:
        """Temporary files (``.tmp-*``) not written for ``idle_seconds``: a live writer keeps its file's time fresh."""
        removed, now = 0, time.time()
        for folder, _, files in os.walk(self._path(prefix)):
            for name in files:
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    if name.startswith(".tmp-") and now - os.stat(path).st_mtime > idle_seconds:
                        os.unlink(path)
                        removed += 1
        return removed

    def list(self, prefix: str) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self._path(prefix)) if not n.startswith(".tmp-"))
        except (FileNotFoundError, NotADirectoryError):
            return []
