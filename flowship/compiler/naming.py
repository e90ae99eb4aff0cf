"""Names that are valid in Kubernetes, Argo and Airflow, derived from flow names.

Python step names (``train_model``, ``trainModel``) are not valid Kubernetes
names, and the obvious rewrite (lowercase, ``_`` to ``-``) can map two step
names onto one. Every target takes its names from here, so a collision is
resolved once, the same way everywhere: the colliding names keep their
readable form and gain a short, stable hash of the original name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

__all__ = ["k8s_name", "unique_k8s_names", "stable_hash"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_INVALID = re.compile(r"[^a-z0-9-]+")


def stable_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def k8s_name(name: str, max_length: int = 63) -> str:
    """``trainModel``/``train_model`` -> ``train-model``: lowercase RFC 1123, no leading digit."""
    text = _CAMEL.sub("-", name).lower()
    text = _INVALID.sub("-", text)
    text = re.sub("-{2,}", "-", text).strip("-")
    if not text or text[0].isdigit():
        text = f"x-{text}".rstrip("-")
    if len(text) > max_length:
        text = f"{text[: max_length - 7].rstrip('-')}-{stable_hash(name)}"
    return text


def unique_k8s_names(names: Iterable[str], max_length: int = 63) -> dict[str, str]:
    """Map each name to a distinct Kubernetes name; colliding ones get a hash suffix."""
    names = list(names)
    base = {name: k8s_name(name, max_length - 7) for name in names}
    counts: dict[str, int] = {}
    for value in base.values():
        counts[value] = counts.get(value, 0) + 1
    return {
        name: (f"{value}-{stable_hash(name)}" if counts[value] > 1 else k8s_name(name, max_length))
        for name, value in base.items()
    }
