"""Where runs are stored when no ``--datastore`` is given, found the way Metaflow finds its own.

In order: ``--datastore``; ``$FLOWSHIP_DATASTORE``; the nearest ``.flowship``
folder in the current folder or one of its parents; else a new ``.flowship``
beside the flow file (or in the current folder for commands without one).
So ``flow runs`` from anywhere inside a project sees the runs made from
anywhere inside it, once the project has a store.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from flowship.errors import FlowshipError

__all__ = ["STORE_FOLDER", "StoreLocation", "locate_store", "stores_below"]

STORE_FOLDER = ".flowship"


@dataclass(frozen=True)
class StoreLocation:
    url: str  # an absolute folder, or s3://...
    source: str  # how it was chosen, for messages
    exists: bool = True


def _nearest(start: str) -> str | None:
    folder = os.path.abspath(start)
    while True:
        candidate = os.path.join(folder, STORE_FOLDER)
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def locate_store(explicit: str | None = None, flow_file: str | None = None) -> StoreLocation:
    if explicit in ("local", "s3"):  # Metaflow's --datastore names a kind of store; flowship's names where it is
        raise FlowshipError(
            f"--datastore {explicit}: give where runs are stored — a folder, or s3://bucket/prefix "
            "(Metaflow's --datastore names a kind of store; flowship's names the store itself)"
        )
    if explicit:
        return StoreLocation(explicit if "://" in explicit else os.path.abspath(explicit), "--datastore")
    from_environment = os.environ.get("FLOWSHIP_DATASTORE")
    if from_environment:
        url = from_environment if "://" in from_environment else os.path.abspath(from_environment)
        return StoreLocation(url, "$FLOWSHIP_DATASTORE")
    found = _nearest(os.getcwd())
    if found:
        return StoreLocation(found, "the nearest .flowship folder")
    home = os.path.dirname(os.path.abspath(flow_file)) if flow_file else os.getcwd()
    return StoreLocation(os.path.join(home, STORE_FOLDER), "a new .flowship folder", exists=False)


def stores_below(folder: str, depth: int = 2) -> list[str]:
    """``.flowship`` folders up to ``depth`` levels below ``folder``: where runs made from a subfolder went."""
    found = []
    for level in range(1, depth + 1):
        pattern = os.path.join(folder, *(["*"] * level), STORE_FOLDER)
        found += sorted(glob.glob(pattern))
    return found
