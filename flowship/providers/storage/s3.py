"""An S3 bucket (or any S3-compatible store) as a flowship store.

``s3://bucket/prefix``, with boto3's standard credential chain and settings:
profiles, region, and ``AWS_ENDPOINT_URL`` for MinIO, Ceph, R2 and the like.
Nothing about credentials is ever written into a manifest or DAG file: pods
and workers bring their own. An S3 object appears whole or not at all, so
every write is atomic; large objects move as parallel multipart transfers,
and throttling and 5xx answers are retried with backoff (botocore's
"standard" retry mode). boto3's errors become messages naming the store and
the cause.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from flowship.errors import FlowshipError
from flowship.providers.storage.base import Chunks, Storage

__all__ = ["S3Storage"]

_PART = 16 * 2**20  # multipart threshold and part size
_SPOOL = 32 * 2**20  # reads larger than this go through a temporary file


class _ChunkReader(io.RawIOBase):
    """A readable stream over chunks (bytes or memoryviews) without joining them."""

    def __init__(self, chunks: Chunks):
        self.chunks = [memoryview(c).cast("B") for c in chunks]
        self.index = self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target) and self.index < len(self.chunks):
            chunk = self.chunks[self.index]
            count = min(len(target) - filled, len(chunk) - self.offset)
            target[filled : filled + count] = chunk[self.offset : self.offset + count]
            filled += count
            self.offset += count
            if self.offset == len(chunk):
                self.index, self.offset = self.index + 1, 0
        return filled


class S3Storage(Storage):
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        rest = self.url[len("s3://") :]
        self.bucket, _, prefix = rest.partition("/")
        if not self.bucket:
            raise FlowshipError(f"datastore {url}: name a bucket, e.g. s3://my-bucket/flowship")
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))  # boto's own setting, honoured as usual
        config = Config(
            retries={"mode": "standard", "max_attempts": attempts},
            max_pool_connections=32,
            connect_timeout=5,
            read_timeout=60,
        )
        self.client = boto3.client("s3", config=config)
        self.transfer = TransferConfig(multipart_threshold=_PART, multipart_chunksize=_PART, max_concurrency=8)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _fail(self, exc: Exception, key: str) -> FlowshipError:
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                return FlowshipError(f"datastore {self.url}: bucket '{self.bucket}' does not exist — create it first")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "ExpiredToken"):
                return FlowshipError(f"datastore {self.url}: access denied ({code}) — check the AWS credentials in use")
            return FlowshipError(f"datastore {self.url}: {key}: {code or exc}")
        if isinstance(exc, NoCredentialsError):
            return FlowshipError(f"datastore {self.url}: no AWS credentials found — set a profile or AWS_ACCESS_KEY_ID")
        if isinstance(exc, EndpointConnectionError):
            return FlowshipError(
                f"datastore {self.url}: cannot reach the S3 endpoint ({exc.kwargs.get('endpoint_url')})"
            )
        return FlowshipError(f"datastore {self.url}: {key}: {exc}")

    def _call(self, key: str, function, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, key) from None

    def put(self, key: str, data: bytes | Chunks) -> None:
        chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else list(data)
        size = sum(memoryview(c).nbytes for c in chunks)
        if size <= _PART:
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            self._call(key, self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=bytes(body))
        else:
            stream = io.BufferedReader(_ChunkReader(chunks), buffer_size=_PART)
            self._call(key, self.client.upload_fileobj, stream, self.bucket, self._key(key), Config=self.transfer)

    def create(self, key: str, data: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise self._fail(exc, key) from None
        except BotoCoreError as exc:
            raise self._fail(exc, key) from None

    def put_file(self, key: str, path: str) -> None:
        self._call(key, self.client.upload_file, path, self.bucket, self._key(key), Config=self.transfer)

    def _missing(self, exc: Exception) -> bool:
        return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
            "NoSuchKey",
            "404",
            "NotFound",
        )

    def get(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def open(self, key: str) -> BinaryIO:
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115  (returned open, for the caller to close)
        try:
            self.client.download_fileobj(self.bucket, self._key(key), spool, Config=self.transfer)
        except (ClientError, BotoCoreError) as exc:
            spool.close()
            if self._missing(exc):
                raise KeyError(key) from None
            raise self._fail(exc, key) from None
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except (ClientError, BotoCoreError) as exc:
            if self._missing(exc):
                return False
            raise self._fail(exc, key) from None

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def sweep(self, prefix: str, idle_seconds: float) -> int:
        """Multipart uploads started under ``prefix`` longer ago than ``idle_seconds`` and never completed."""
        import datetime

        listing = self._call(prefix, self.client.list_multipart_uploads, Bucket=self.bucket, Prefix=self._key(prefix))
        cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=idle_seconds)
        removed = 0
        for upload in listing.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                self._call(
                    upload["Key"],
                    self.client.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )
                removed += 1
        return removed

    def list(self, prefix: str) -> list[str]:
        folder = prefix.strip("/")
        base = self._key(folder + "/" if folder else "")  # the store's top level is the prefix itself
        names: set[str] = set()
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(prefix, lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/")))
        for page in pages:
            names.update(p["Prefix"][len(base) :].rstrip("/") for p in page.get("CommonPrefixes", []))
            names.update(o["Key"][len(base) :] for o in page.get("Contents", []))
        return sorted(n for n in names if n)
