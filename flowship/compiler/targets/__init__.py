"""The targets a flow compiles to, found by looking, not by a list kept by hand.

Each sub-package of this package is one target and defines ``TARGET``, a
:class:`~flowship.compiler.targets.base.Target`; its deployments are made by
the provider module of the same name (``flowship.providers.<target>``).
Adding a target is adding those two modules. What the targets share lives
in ``base.py`` (the interface and the feature report) and ``shared.py``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from flowship.errors import FlowshipError

if TYPE_CHECKING:
    from flowship.compiler.targets.base import Target

__all__ = ["target_names", "get_target"]


def target_names() -> tuple[str, ...]:
    """The names of every target, sorted; nothing is imported to find them."""
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg))


def get_target(name: str) -> Target:
    if name not in target_names():
        raise FlowshipError(f"--target {name!r} is not a target; use one of: {', '.join(target_names())}")
    return importlib.import_module(f"{__name__}.{name}").TARGET
