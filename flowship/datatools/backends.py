"""Where the ``S3`` client's objects live: an S3 bucket through boto3, or a run's folder in a local store.

Both move whole objects under URLs the client has already resolved (an
``s3://`` URL, or an absolute path inside a local store) and never leave half
an object for a reader: S3 writes are atomic, local ones go through the
store's temp-file-and-rename (``providers/storage/local.py``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from flowship.errors import FlowshipError

__all__ = ["ObjectInfo", "Backend", "BotoBackend", "LocalBackend", "S3NotFound"]

# Metaflow keeps user metadata as JSON under this one S3 metadata key; so does flowship, so both read it.
USER_METADATA = "metaflow-user-attributes"


class S3NotFound(FlowshipError):
    """The object is not there (Metaflow's ``MetaflowS3NotFound``)."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None = None
    metadata: dict[str, Any] | None = None
    last_modified: int | None = None


class Backend:
    """What the client needs of a place to keep objects."""

    def exists(self, url: str) -> bool:
        return self.head(url) is not None

    def head(self, url: str) -> ObjectInfo | None:
        raise NotImplementedError

    def write(self, url: str, source: BinaryIO, content_type: str | None, metadata: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def read(self, url: str, target: str) -> ObjectInfo | None:
        """Copy the object into the file ``target``; None when it is missing."""
        raise NotImplementedError

    def listing(self, prefix: str, recursive: bool) -> Iterator[tuple[str, int | None]]:
        """(url, size) of the objects under ``prefix`` (ending in ``/``); one level down also the folders
        (url ending in ``/``, size None)."""
        raise NotImplementedError


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise FlowshipError(f"{url}: an S3 URL names a bucket, e.g. s3://my-bucket/path")
    return bucket, key


class BotoBackend(Backend):
    """S3 or an S3-compatible server, with the store's boto3 settings (``AWS_ENDPOINT_URL``, retries)."""

    def __init__(self, encryption: str | None = None):
        try:
            from flowship.providers.storage.s3 import S3Storage
        except ImportError:
            raise FlowshipError("S3 needs boto3 — pip install 'flowship[s3]'") from None
        self.client = S3Storage("s3://flowship").client
        self.encryption = encryption

    def _missing(self, exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
            "NoSuchKey",
            "404",
            "NotFound",
        )

    def _failed(self, url: str, exc: Exception) -> FlowshipError:
        from botocore.exceptions import ClientError

        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        return FlowshipError(f"S3 {url}: {code or exc}")

    def _info(self, response: dict[str, Any]) -> ObjectInfo:
        user = response.get("Metadata", {}).get(USER_METADATA)
        modified = response.get("LastModified")
        return ObjectInfo(
            int(response["ContentLength"]),
            response.get("ContentType"),
            json.loads(user) if user else None,
            int(modified.timestamp()) if modified else None,
        )

    def head(self, url: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = _split(url)
        try:
            return self._info(self.client.head_object(Bucket=bucket, Key=key))
        except (ClientError, BotoCoreError) as exc:
            if self._missing(exc):
                return None
            raise self._failed(url, exc) from None

    def write(self, url: str, source: BinaryIO, content_type: str | None, metadata: dict[str, Any] | None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = _split(url)
        extra: dict[str, Any] = {}
        if content_type:
            extra["ContentType"] = content_type
        if metadata:
            extra["Metadata"] = {USER_METADATA: json.dumps(metadata)}
        if self.encryption:
            extra["ServerSideEncryption"] = self.encryption
        try:
            self.client.upload_fileobj(source, bucket, key, ExtraArgs=extra or None)
        except (ClientError, BotoCoreError) as exc:
            raise self._failed(url, exc) from None

    def read(self, url: str, target: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = _split(url)
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
            with open(target, "wb") as out:
                shutil.copyfileobj(response["Body"], out, 2**20)
        except (ClientError, BotoCoreError) as exc:
            if self._missing(exc):
                return None
            raise self._failed(url, exc) from None
        return self._info(response)

    def listing(self, prefix: str, recursive: bool) -> Iterator[tuple[str, int | None]]:
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = _split(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=key, Delimiter="" if recursive else "/"):
                for item in page.get("Contents", []):
                    yield f"s3://{bucket}/{item['Key']}", int(item["Size"])
                for folder in page.get("CommonPrefixes", []):
                    yield f"s3://{bucket}/{folder['Prefix']}", None
        except (ClientError, BotoCoreError) as exc:
            if self._missing(exc):
                return
            raise self._failed(prefix, exc) from None


class LocalBackend(Backend):
    """A run's objects in a local store: files under its folder, written whole by temp file and rename."""

    def __init__(self, root: str):
        from flowship.providers.storage.local import LocalStorage

        self.root = root
        self.storage = LocalStorage(root, "S3(run=...) folder")

    def _key(self, url: str) -> str:
        return os.path.relpath(url, self.root).replace(os.sep, "/")

    def head(self, url: str) -> ObjectInfo | None:
        try:
            stat = os.stat(url)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return None if os.path.isdir(url) else ObjectInfo(stat.st_size, None, None, int(stat.st_mtime))

    def write(self, url: str, source: BinaryIO, content_type: str | None, metadata: dict[str, Any] | None) -> None:
        self.storage.put(self._key(url), [source.read()])

    def read(self, url: str, target: str) -> ObjectInfo | None:
        info = self.head(url)
        if info is not None:
            shutil.copyfile(url, target)
        return info

    def listing(self, prefix: str, recursive: bool) -> Iterator[tuple[str, int | None]]:
        folder = prefix.rstrip("/") or "/"
        if not os.path.isdir(folder):
            return
        if recursive:  # in key order, as S3 lists
            paths = [os.path.join(here, name) for here, _, files in os.walk(folder) for name in files]
            for path in sorted(paths):
                if not os.path.basename(path).startswith(".tmp-"):  # a write under way
                    yield path, os.path.getsize(path)
            return
        names = sorted(os.listdir(folder))  # objects, then folders: the order of S3's answer
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.isdir(path) and not name.startswith(".tmp-"):
                yield path, os.path.getsize(path)
        for name in names:
            if os.path.isdir(os.path.join(folder, name)):
                yield os.path.join(folder, name) + "/", None
