"""Which store and namespace the Client reads, and how it names objects: Metaflow's module-level switches.

``namespace()``, ``get_namespace()`` and ``default_namespace()`` keep
Metaflow's meaning (a namespace is a tag a run carries; ``None`` shows every
run); the store is the one ``metadata()`` chose, else the default
(``runtime/locate.py``). Kept apart from ``client.py``, which holds the
objects themselves.
"""

from __future__ import annotations

import os
from typing import Any

from flowship.errors import NotFound
from flowship.providers.storage import open_storage
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.locate import locate_store, stores_below
from flowship.runtime.metadata import selected_store
from flowship.runtime.runs import user_namespace
from flowship.runtime.tagging import system_tags

__all__ = [
    "namespace",
    "get_namespace",
    "default_namespace",
    "default_datastore",
    "list_flows",
    "flow_store",
    "split_pathspec",
    "in_namespace",
    "listing",
    "runs_below",
]

_UNSET = object()
_namespace: Any = _UNSET


def default_datastore() -> str:
    return selected_store() or locate_store().url


def flow_store(name: str) -> FlowDatastore:
    return FlowDatastore(open_storage(default_datastore()), name)


def split_pathspec(pathspec: str, parts: int, kind: str) -> list[str]:
    """``Run("HelloFlow/20261201T190102-3fa2c1")``: Metaflow's way to name an object directly."""
    split = pathspec.split("/")
    if len(split) != parts or not all(split):
        example = "/".join(["FLOW", "RUN", "STEP", "TASK", "NAME"][:parts])
        raise NotFound(f"{kind}({pathspec!r}): a {kind.lower()} is named {example}")
    return split


def list_flows(datastore: str | None = None) -> list[str]:
    """The names of the flows with runs in the store."""
    storage = open_storage(datastore or default_datastore())
    return [name for name in storage.list("") if storage.list(f"{name}/runs")]


def listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "none"


def namespace(name: str | None) -> str | None:
    """Switch the namespace the Client shows (``None``: every namespace); returns it."""
    global _namespace
    _namespace = name
    return name


def get_namespace() -> str | None:
    return user_namespace() if _namespace is _UNSET else _namespace


def default_namespace() -> str:
    """Back to the namespace the Client starts in (``user:<you>``); returns it."""
    global _namespace
    _namespace = _UNSET
    return user_namespace()


def in_namespace(record: dict[str, Any], wanted: str | None) -> bool:
    """As in Metaflow a namespace is a tag: the run's own (``user:ann``, ``production:...``) or a project tag
    (``project:x``, ``project_branch:y``). A deployed run's ``user:`` tag does not put it in that user's namespace:
    the default namespace shows the user's own local runs only."""
    if wanted is None or record["namespace"] == wanted:
        return True
    return not wanted.startswith("user:") and wanted in system_tags(record)


def runs_below(name: str) -> str:
    """Where runs made from a subfolder of here went (``flow run sub/flow.py`` stores beside the file)."""
    for store in stores_below(os.getcwd()):
        if FlowDatastore(open_storage(store), name).run_ids():
            shown = os.path.relpath(store)
            return f"; it has runs in {shown}: Flow({name!r}, datastore={shown!r})"
    return ""
