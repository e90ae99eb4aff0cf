"""``S3``: Metaflow's S3 client, over the run's store or any S3 bucket.

``with S3(run=self) as s3:`` keeps objects with the run, in the flow's own
store (``<Flow>/runs/<run>/s3-objects/``), whether that store is a local
folder or S3; ``S3(run=Flow("F")["<run>"])`` reads them back later.
``S3(s3root="s3://bucket/path")`` and ``S3()`` with full ``s3://`` URLs use
boto3 directly. Keys, URLs, return types and errors follow Metaflow's
``metaflow.S3``; downloads go to a temporary folder removed when the client
is closed.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flowship.datatools.backends import Backend, BotoBackend, LocalBackend, ObjectInfo, S3NotFound
from flowship.errors import FlowshipError

__all__ = [
    "S3",
    "S3Object",
    "S3PutObject",
    "S3GetObject",
    "S3NotFound",
    "S3URLError",
    "S3InvalidObject",
    "MetaflowS3NotFound",
    "MetaflowS3URLException",
    "MetaflowS3InvalidObject",
    "RUN_FOLDER",
]

RUN_FOLDER = "s3-objects"  # beside the run's steps; not an identifier, so never a step's folder


class S3URLError(FlowshipError):
    """A key that does not fit how the client was set up (Metaflow's ``MetaflowS3URLException``)."""


class S3InvalidObject(FlowshipError):
    """A value ``put`` cannot store: not text, bytes or a readable, seekable file."""


MetaflowS3NotFound, MetaflowS3URLException, MetaflowS3InvalidObject = S3NotFound, S3URLError, S3InvalidObject


@dataclass(frozen=True)
class S3PutObject:
    key: str
    value: Any = None
    path: str | None = None
    content_type: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class S3GetObject:
    key: str
    offset: int | None = None
    length: int | None = None


class S3Object:
    """One object (or, from ``list_paths``, a folder); ``.blob``/``.text``/``.path`` once downloaded."""

    def __init__(self, prefix: str | None, url: str, path: str | None, info: ObjectInfo | None = None):
        self._url, self._path, self._info = url, path, info
        self._size = os.stat(path).st_size if path else (info.size if info else None)
        if prefix is None or prefix == url:
            self._key, self._prefix = url, None
        else:
            self._key, self._prefix = url[len(prefix.rstrip("/")) + 1 :].rstrip("/"), prefix

    exists = property(lambda self: self._size is not None, doc="Whether an object (not a folder) is there.")
    downloaded = property(lambda self: bool(self._path), doc="Whether its content is here (``path``).")
    url = property(lambda self: self._url)
    prefix = property(lambda self: self._prefix)
    key = property(lambda self: self._key, doc="The key as requested: relative to the client's root, or the URL.")
    path = property(lambda self: self._path, doc="The downloaded copy, removed when the client is closed.")
    size = property(lambda self: self._size)
    has_info = property(lambda self: self._info is not None)
    content_type = property(lambda self: self._info.content_type if self._info else None)
    metadata = property(lambda self: self._info.metadata if self._info else None)
    last_modified = property(lambda self: self._info.last_modified if self._info else None)

    @property
    def blob(self) -> bytes | None:
        if not self._path:
            return None
        with open(self._path, "rb") as handle:
            return handle.read()

    @property
    def text(self) -> str | None:
        blob = self.blob
        return None if blob is None else blob.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<S3Object {self._url} ({self._size} bytes)>" if self.exists else f"<S3Object {self._url}>"


def _run_root(run: Any, bucket: str | None, prefix: str | None) -> tuple[str, bool]:
    """(root, is_s3) for ``S3(run=...)``: the run's folder in its store, or Metaflow's bucket/prefix/flow/run."""
    from flowship.current import current
    from flowship.flowspec import FlowSpec

    if isinstance(run, FlowSpec):
        if not current.is_running_flow:
            raise S3URLError("S3(run=self) works inside a running step only; outside, give S3(run=Run(...))")
        from flowship.runtime.locate import locate_store

        flow, run_id, store = current.flow_name, current.run_id, locate_store().url  # the task's own store
    else:
        flow, run_id, store = run._ds.flow_name, run.id, run._ds.storage.url
    if bucket or prefix:
        if not bucket and not store.startswith("s3://"):
            raise S3URLError("S3(run=..., prefix=...) on a local store needs bucket= too")
        bucket = bucket or store[len("s3://") :].split("/", 1)[0]
        return f"s3://{bucket}/{'/'.join(p for p in ((prefix or '').strip('/'), flow, run_id) if p)}", True
    return f"{store.rstrip('/')}/{flow}/runs/{run_id}/{RUN_FOLDER}", store.startswith("s3://")


class S3:
    """``S3(run=self)``, ``S3(s3root="s3://bucket/path")`` or ``S3()``: Metaflow's arguments and methods."""

    def __init__(
        self,
        tmproot: str | None = None,
        bucket: str | None = None,
        prefix: str | None = None,
        run: Any = None,
        s3root: str | None = None,
        encryption: str | None = None,
        **kwargs: Any,
    ):
        if kwargs:  # Metaflow's role, session_vars, client_params: ignoring them would use other credentials
            raise S3URLError(
                f"S3({', '.join(f'{k}=...' for k in sorted(kwargs))}): not supported yet; flowship uses the "
                "standard AWS credentials (environment, profile, instance role)"
            )
        self._backend: Backend
        self._root: str | None
        if run is not None:
            self._root, on_s3 = _run_root(run, bucket, prefix)
            self._backend = BotoBackend(encryption) if on_s3 else LocalBackend(self._root)
        elif s3root:
            if not s3root.startswith("s3://"):
                raise S3URLError(f"s3root={s3root!r}: an S3 URL starting with s3://")
            self._root, self._backend = s3root.rstrip("/"), BotoBackend(encryption)
        else:
            self._root, self._backend = None, BotoBackend(encryption)
        self._tmpdir: str | None = tempfile.mkdtemp(dir=tmproot, prefix="flowship.s3.")

    def __enter__(self) -> S3:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove every file downloaded through this client."""
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def _url(self, key: Any) -> str:
        key = getattr(key, "key", key)
        if self._root is None:
            if isinstance(key, str) and key.startswith("s3://") and len(key) > len("s3://"):
                return key
            raise S3URLError(
                "give full s3:// URLs, or create the client with S3(s3root=...) or S3(run=self)"
                + (f" (got {key!r})" if key else "")
            )
        if not key:
            return self._root
        if key.startswith("s3://"):
            raise S3URLError(f"{key}: this client has a root ({self._root}); give keys relative to it")
        if isinstance(self._backend, LocalBackend) and ".." in key.split("/"):
            raise S3URLError(f"{key!r}: a key must not climb out of the run's folder with '..'")
        return f"{self._root}/{key.lstrip('/')}"

    def _temp(self) -> str:
        if self._tmpdir is None:
            raise FlowshipError("this S3 client is closed")
        handle, path = tempfile.mkstemp(dir=self._tmpdir)
        os.close(handle)
        return path

    # reading ------------------------------------------------------------------------

    def get(self, key: Any = None, return_missing: bool = False, return_info: bool = True) -> S3Object:
        if getattr(key, "offset", None) is not None or getattr(key, "length", None) is not None:
            raise S3URLError(
                f"{key.key!r}: ranged gets (S3GetObject offset/length) are not supported yet; get the whole object"
            )
        url = self._url(key)
        path = self._temp()
        info = self._backend.read(url, path)
        if info is None:
            os.unlink(path)
            if not return_missing:
                raise S3NotFound(f"{url}: no such object")
            return S3Object(self._root, url, None)
        return S3Object(self._root, url, path, info if return_info else None)

    def get_many(self, keys: Iterable[Any], return_missing: bool = False, return_info: bool = True) -> list[S3Object]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda key: self.get(key, return_missing, return_info), list(keys)))

    def get_recursive(self, keys: Iterable[Any], return_info: bool = False) -> list[S3Object]:
        objects = self.list_recursive(keys)
        with ThreadPoolExecutor(max_workers=8) as pool:
            fetched = list(pool.map(lambda obj: (obj, self._fetch(obj.url)), objects))
        return [S3Object(obj.prefix, obj.url, path, info if return_info else None) for obj, (path, info) in fetched]

    def _fetch(self, url: str) -> tuple[str, ObjectInfo]:
        path = self._temp()
        info = self._backend.read(url, path)
        if info is None:
            raise S3NotFound(f"{url}: removed while it was being read")
        return path, info

    def get_all(self, return_info: bool = False) -> list[S3Object]:
        if self._root is None:
            raise S3URLError("get_all() needs a client with a root: S3(run=self) or S3(s3root=...)")
        return self.get_recursive([None], return_info)

    def info(self, key: Any = None, return_missing: bool = False) -> S3Object:
        url = self._url(key)
        info = self._backend.head(url)
        if info is None and not return_missing:
            raise S3NotFound(f"{url}: no such object")
        return S3Object(self._root, url, None, info)

    def info_many(self, keys: Iterable[Any], return_missing: bool = False) -> list[S3Object]:
        return [self.info(key, return_missing) for key in keys]

    def list_paths(self, keys: Iterable[Any] | None = None) -> list[S3Object]:
        """What is one level below each key: objects, and folders (``exists`` False)."""
        found = []
        for key in keys if keys is not None else [None]:
            prefix = self._url(key).rstrip("/") + "/"
            found += [
                S3Object(prefix, url, None, None if size is None else ObjectInfo(size))
                for url, size in self._backend.listing(prefix, recursive=False)
            ]
        return found

    def list_recursive(self, keys: Iterable[Any] | None = None) -> list[S3Object]:
        """Every object below each key, at any depth."""
        found = []
        for key in keys if keys is not None else [None]:
            prefix = self._url(key)
            found += [
                S3Object(prefix, url, None, ObjectInfo(size or 0))
                for url, size in self._backend.listing(prefix.rstrip("/") + "/", recursive=True)
            ]
        return found

    # writing ------------------------------------------------------------------------

    def put(
        self,
        key: Any,
        obj: Any,
        overwrite: bool = True,
        content_type: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Store ``obj`` (text as UTF-8, bytes, or a readable seekable file) at ``key``; returns its URL."""
        url = self._url(key)
        if isinstance(obj, str):
            source: Any = io.BytesIO(obj.encode("utf-8"))
        elif isinstance(obj, (bytes, bytearray, memoryview)):
            source = io.BytesIO(bytes(obj))
        elif isinstance(obj, io.IOBase) and obj.readable() and obj.seekable():
            source = obj
            source.seek(0)
        else:
            raise S3InvalidObject(f"{getattr(key, 'key', key)!r}: put stores text, bytes or a readable, seekable file")
        if overwrite or not self._backend.exists(url):
            self._backend.write(url, source, content_type, metadata)
        return url

    def put_many(self, key_objs: Iterable[Any], overwrite: bool = True) -> list[tuple[str, str]]:
        """``(key, value)`` pairs or ``S3PutObject``s; returns ``(key, url)`` of each stored."""
        items = [
            (o.key, o.value, o.content_type, o.metadata) if isinstance(o, S3PutObject) else (o[0], o[1], None, None)
            for o in key_objs
        ]
        return self._store_many(items, overwrite)

    def put_files(self, key_paths: Iterable[Any], overwrite: bool = True) -> list[tuple[str, str]]:
        """``(key, local path)`` pairs or ``S3PutObject(key, path=...)``; returns ``(key, url)`` of each stored."""
        items = []
        for item in key_paths:
            key, path = (item.key, item.path) if isinstance(item, S3PutObject) else (item[0], item[1])
            if not path or not os.path.isfile(path):
                raise S3NotFound(f"put_files: no local file {path!r} for key {key!r}")
            items.append((key, path, getattr(item, "content_type", None), getattr(item, "metadata", None)))
        return self._store_many(items, overwrite, from_files=True)

    def _store_many(
        self, items: list[tuple[str, Any, Any, Any]], overwrite: bool, from_files: bool = False
    ) -> list[tuple[str, str]]:
        def store(item: tuple[str, Any, Any, Any]) -> tuple[str, str] | None:
            key, value, content_type, metadata = item
            url = self._url(key)
            if not overwrite and self._backend.exists(url):
                return None
            if from_files:
                with open(value, "rb") as handle:
                    self._backend.write(url, handle, content_type, metadata)
            else:
                self.put(key, value, True, content_type, metadata)
            return key, url

        with ThreadPoolExecutor(max_workers=8) as pool:
            return [stored for stored in pool.map(store, items) if stored is not None]
