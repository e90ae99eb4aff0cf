"""Byte stores behind one small interface (a local folder, S3); ``open_storage`` picks one from a URL.

``runtime/datastore.py`` decides what goes where; a storage only moves bytes
under string keys and guarantees that a written object is either complete or
absent.
"""

from __future__ import annotations

from flowship.providers.storage.base import Storage
from flowship.providers.storage.local import LocalStorage

__all__ = ["Storage", "LocalStorage", "open_storage"]


def open_storage(url: str) -> Storage:
    """A storage for ``url``: ``s3://bucket/prefix``, or a local path (or ``file://`` URL)."""
    from flowship.errors import FlowshipError

    if url.startswith("s3://"):
        try:
            from flowship.providers.storage.s3 import S3Storage
        except ImportError:
            raise FlowshipError(f"datastore {url}: S3 needs boto3 — pip install 'flowship[s3]'") from None
        return S3Storage(url)
    if url.startswith("file://"):
        url = url[len("file://") :]
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise FlowshipError(
            f"datastore '{url}': the '{scheme}://' scheme is not supported; use s3:// or a local folder"
        )
    return LocalStorage(url)
