"""Artifacts as bytes: pickled with protocol 5 and out-of-band buffers, read back only if they verify.

Large arrays are hashed and written straight from their memory, and read
back into fresh writable buffers, without the extra copies a plain
``pickle.dumps`` makes. A blob's address is the SHA-256 of its bytes; reading
one hashes every byte (on a second thread, one chunk behind the reading) and
nothing is unpickled unless the hash matches and the length is the one its
reference records.
"""

from __future__ import annotations

import hashlib
import mmap
import pickle
import struct
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["encode_blob", "decode_blob", "blob_problem"]

_MAGIC = b"FSA1"
_HEAD = struct.Struct("<4sIQ")  # magic, buffer count, header length
_SIZE = struct.Struct("<Q")
_CHUNK = 16 * 2**20


def encode_blob(value: Any) -> list[bytes | memoryview]:
    buffers: list[pickle.PickleBuffer] = []
    header = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    views = [b.raw() for b in buffers]
    frame = _HEAD.pack(_MAGIC, len(views), len(header)) + b"".join(_SIZE.pack(v.nbytes) for v in views)
    return [frame, header, *views]


class _Reader:
    """Reads a blob into fresh buffers, hashing every byte on the way, within the size its reference gives.

    Hashing runs on a second thread, one chunk behind the reading (both release the GIL), so checking a
    large artifact costs little more than reading it.
    """

    def __init__(self, handle: Any, size: int, hasher: ThreadPoolExecutor):
        self.handle, self.left, self.hasher = handle, size, hasher
        self.digest = hashlib.sha256()
        self.pending: list[Future[None]] = []

    def read(self, size: int) -> bytearray | mmap.mmap:
        if size > self.left:
            raise ValueError("its frame asks for more bytes than its reference records")
        # Large buffers are anonymous memory maps: the kernel hands out zero pages as they are written, where a
        # bytearray would first be zeroed in full (a tenth of a second for 256 MiB).
        buffer: bytearray | mmap.mmap = mmap.mmap(-1, size) if size >= _CHUNK else bytearray(size)
        view, filled = memoryview(buffer), 0
        while filled < size:  # a file object may return less than asked; only an empty read is the end
            count = self.handle.readinto(view[filled : filled + _CHUNK])
            if not count:
                raise ValueError(f"it is truncated ({size - filled} bytes missing)")
            self.pending.append(self.hasher.submit(self.digest.update, view[filled : filled + count]))
            filled += count
        self.left -= size
        return buffer

    def hexdigest(self) -> str:
        for future in self.pending:
            future.result()
        return self.digest.hexdigest()


def decode_blob(handle: Any, sha: str, size: int) -> Any:
    """The value of a blob, unpickled only once every byte matched its address."""
    with ThreadPoolExecutor(max_workers=1) as hasher:  # one worker: the chunks are hashed in order
        reader = _Reader(handle, size, hasher)
        try:
            return _check_and_load(reader, handle, sha)
        finally:
            reader.hexdigest()  # never leave a hashing thread reading a buffer that is gone


def _check_and_load(reader: _Reader, handle: Any, sha: str) -> Any:
    magic, count, header_length = _HEAD.unpack(reader.read(_HEAD.size))
    if magic != _MAGIC:
        raise ValueError("it is not a flowship artifact")
    sizes = [_SIZE.unpack(reader.read(_SIZE.size))[0] for _ in range(count)]
    header = reader.read(header_length)
    buffers = [reader.read(length) for length in sizes]
    if reader.left or handle.read(1):
        raise ValueError("its length differs from the one recorded")
    if reader.hexdigest() != sha:
        raise ValueError("its content does not match its address (SHA-256)")
    return pickle.loads(header, buffers=buffers)


def blob_problem(handle: Any, sha: str) -> str | None:
    """Why a stored blob cannot be trusted, or None when its content hashes to its address."""
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return None if digest.hexdigest() == sha else "its content does not match its address (SHA-256)"
