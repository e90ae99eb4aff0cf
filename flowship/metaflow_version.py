"""``from flowship import metaflow_version``: the module Metaflow flows ask for the version with ``get_version()``.

Flows print or record ``metaflow_version.get_version()``; here it answers
flowship's own version, so such a line runs unchanged.
"""

from __future__ import annotations

__all__ = ["get_version"]


def get_version(public: bool = False) -> str:
    """flowship's version (``public`` is accepted for Metaflow's signature; the answer is the same)."""
    from flowship import __version__

    return __version__
