"""Run tags as Metaflow has them: user tags that change after the run, and system tags that never do.

A run's record (``run.json``) is written once and never rewritten, so a tag
change is its own object, created exclusively beside it::

    <Flow>/runs/<run>/user-tags/<nanoseconds>-<random>.json   {"add": [...], "remove": [...]}

The user tags are the record's tags with every change applied in name
order (the time it was made, then a random tie-breaker). A reader sees a
change whole or not at all, on a local folder as on S3, and two people
tagging the same run at once both keep their change: nothing is read,
modified and written back. ``user-tags`` is no Python identifier, so it
never collides with a step's folder. The rules are Metaflow's: tags are
non-empty strings of at most 500 characters, a run has at most 50 user
tags, removing a system tag is an error and adding one does nothing.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from typing import Any

from flowship.errors import FlowshipError
from flowship.runtime.datastore import FlowDatastore

__all__ = ["TaggingError", "TAG_FOLDER", "system_tags", "user_tags", "change_user_tags", "checked_tags"]

TAG_FOLDER = "user-tags"
MAX_TAG_LENGTH = 500
MAX_USER_TAGS = 50


class TaggingError(FlowshipError):
    """A tag change Metaflow would refuse too (an empty or too long tag, removing a system tag, ...)."""


def system_tags(record: dict[str, Any]) -> frozenset[str]:
    """Tags flowship gives a run from its record: who ran it, its namespace, its project and branch."""
    tags = {f"user:{record['user']}", record["namespace"]}
    project, branch = record.get("project"), record.get("branch")
    if project:
        tags.add(f"project:{project}")
    if branch:
        tags.add(f"project_branch:{branch}")
    return frozenset(tags)


def _changes(datastore: FlowDatastore, run_id: str) -> list[dict[str, Any]]:
    folder = f"{datastore.flow_name}/runs/{run_id}/{TAG_FOLDER}"
    changes = []
    for name in datastore.storage.list(folder):
        try:
            changes.append(json.loads(datastore.storage.get(f"{folder}/{name}")))
        except (KeyError, ValueError):  # a change is created whole; one that cannot be read is skipped, not guessed
            continue
    return changes


def user_tags(datastore: FlowDatastore, record: dict[str, Any]) -> frozenset[str]:
    """The run's user tags now: those it started with, then every change in the order they were made."""
    tags = set(record["tags"])
    for change in _changes(datastore, record["run_id"]):
        tags = (tags - set(change.get("remove", []))) | set(change.get("add", []))
    return frozenset(tags)


def checked_tags(tags: Iterable[str], what: str) -> list[str]:
    """``tags`` as a list, each one checked as Metaflow checks a tag."""
    if isinstance(tags, (str, bytes)):
        raise TaggingError(f"{what} must be a list of tags, not one string")
    try:
        listed = list(tags)
    except TypeError:
        raise TaggingError(f"{what} must be a list of tags, got {type(tags).__name__} {tags!r}") from None
    for tag in listed:
        if not isinstance(tag, str):
            raise TaggingError(f"a tag must be a string, got {type(tag).__name__} {tag!r}")
        if not tag:
            raise TaggingError("a tag must not be empty")
        if len(tag) > MAX_TAG_LENGTH:
            raise TaggingError(f"the tag {tag[:40]!r}... is {len(tag)} characters long; at most {MAX_TAG_LENGTH}")
    return listed


def change_user_tags(
    datastore: FlowDatastore, record: dict[str, Any], remove: Iterable[str], add: Iterable[str]
) -> frozenset[str]:
    """Remove, then add, user tags of the run as one change; return its user tags after it."""
    remove, add = checked_tags(remove, "tags to remove"), checked_tags(add, "tags to add")
    if not remove and not add:
        raise TaggingError("give at least one tag to add or remove")
    system = system_tags(record)
    refused = sorted(set(remove) & system)
    if refused:
        raise TaggingError(
            f"{', '.join(refused)}: a system tag cannot be removed (system tags: {', '.join(sorted(system))})"
        )
    add = [tag for tag in add if tag not in system]  # adding a system tag as a user tag does nothing, as in Metaflow
    before = user_tags(datastore, record)
    after = (before - set(remove)) | set(add)
    if after == before:
        return before
    if len(after) > MAX_USER_TAGS and len(after) > len(before):
        raise TaggingError(f"a run has at most {MAX_USER_TAGS} user tags; this change would give it {len(after)}")
    change = {"remove": sorted(set(remove)), "add": sorted(set(add)), "at": time.time()}
    folder = f"{datastore.flow_name}/runs/{record['run_id']}/{TAG_FOLDER}"
    while not datastore.storage.create(
        f"{folder}/{time.time_ns():020d}-{secrets.token_hex(4)}.json", json.dumps(change).encode()
    ):
        pass  # the same nanosecond and random suffix twice: take another name
    return user_tags(datastore, record)
