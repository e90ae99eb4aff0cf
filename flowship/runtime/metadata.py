"""Metaflow's ``metadata()``, ``get_metadata()`` and ``default_metadata()``: which store the Client reads.

Metaflow keeps run metadata in a provider apart from the artifacts (a local
folder or a metadata service); flowship keeps both in one store, so choosing
the metadata provider means choosing the store. The answers keep Metaflow's
``TYPE@INFO`` form: ``local@/abs/path/.flowship`` or ``s3@s3://bucket/prefix``.
Inside a running task the default is the task's own store, as Metaflow
defaults to the provider the running flow uses.
"""

from __future__ import annotations

import os

from flowship.errors import FlowshipError

__all__ = ["metadata", "get_metadata", "default_metadata", "selected_store"]

_selected: str | None = None


def selected_store() -> str | None:
    """The store chosen with :func:`metadata`, or None: the default (``runtime/locate.py``)."""
    return _selected


def _store_of(spec: str) -> str:
    kind, at, info = spec.partition("@")
    if at and "://" not in kind:
        if kind == "local":
            return os.path.abspath(info)
        if kind == "s3" and info.startswith("s3://"):
            return info.rstrip("/")
        raise FlowshipError(
            f"metadata('{spec}'): flowship keeps run metadata in its store, so give the store: "
            "a folder, local@FOLDER, s3://bucket/prefix or s3@s3://bucket/prefix (there is no metadata service)"
        )
    if spec.startswith("s3://"):
        return spec.rstrip("/")
    if "://" in spec:
        raise FlowshipError(f"metadata('{spec}'): a store is a folder or s3://bucket/prefix")
    return os.path.abspath(spec)


def _describe(store: str) -> str:
    return f"s3@{store}" if store.startswith("s3://") else f"local@{store}"


def metadata(spec: str) -> str:
    """Read runs from the store ``spec`` names from now on (in this process); returns :func:`get_metadata`."""
    global _selected
    _selected = _store_of(spec)
    return get_metadata()


def get_metadata() -> str:
    """The store the Client reads, as ``local@FOLDER`` or ``s3@s3://bucket/prefix``."""
    from flowship.runtime.locate import locate_store

    return _describe(_selected or locate_store().url)


def default_metadata() -> str:
    """Forget what :func:`metadata` chose: the Client reads the default store again; returns :func:`get_metadata`."""
    global _selected
    _selected = None
    return get_metadata()
