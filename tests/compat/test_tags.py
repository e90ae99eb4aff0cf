"""Run tags as Metaflow's Client has them (metaflow/client/core.py ``Run.add_tag`` ... ``replace_tags``, and the
local metadata provider's rules in metaflow/metadata_provider/metadata.py and tagging_util.py): user tags change,
system tags never do; removals apply before additions; ``Run.tags`` is both; ``Flow.runs(*tags)`` filters on every
tag given. Each change is its own object beside the run, so concurrent writers both keep theirs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from conftest import EXAMPLES, REPO
from flowship.runtime.client import Flow, namespace
from flowship.runtime.tagging import TaggingError


@pytest.fixture(autouse=True)
def every_namespace():
    namespace(None)
    yield
    namespace(None)


def flow_cli(*args: str, store, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowship", *args, "--datastore", store], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def tagged_run(store):
    """One HelloFlow run by ann, started with the tag nightly."""
    result = flow_cli("run", str(EXAMPLES / "hello.py"), "--tag", "nightly", store=store.url,
                      env={**store.env, "FLOWSHIP_USER": "ann"})
    assert result.returncode == 0, result.stderr
    return Flow("HelloFlow", datastore=store.url).latest_run


def test_add_remove_replace_as_metaflow(tagged_run, store):
    """add_tag/add_tags/remove_tag/remove_tags/replace_tag/replace_tags change user tags; a fresh reader sees them."""
    run = tagged_run
    assert (run.user_tags, run.system_tags) == ({"nightly"}, {"user:ann"})
    assert run.tags == {"nightly", "user:ann"}
    run.add_tag("a")
    run.add_tags(["b", "c"])
    run.remove_tag("a")
    run.remove_tags(["c", "never-there"])  # removing a tag the run does not have does nothing, as in Metaflow
    run.replace_tag("b", "d")
    run.replace_tags(["d"], ["d", "e"])  # removals first, then additions: d stays
    assert run.user_tags == {"nightly", "d", "e"}
    again = Flow("HelloFlow", datastore=store.url)[run.id]
    assert again.user_tags == {"nightly", "d", "e"} and again.tags == {"nightly", "d", "e", "user:ann"}
    assert [r.id for r in Flow("HelloFlow", datastore=store.url).runs("d", "user:ann")] == [run.id]
    assert Flow("HelloFlow", datastore=store.url).runs("d", "b") == []


def test_system_tags_do_not_change(tagged_run):
    """Removing a system tag is an error; adding one as a user tag does nothing (Metaflow's local provider)."""
    with pytest.raises(TaggingError) as error:
        tagged_run.remove_tag("user:ann")
    assert str(error.value) == "user:ann: a system tag cannot be removed (system tags: user:ann)"
    tagged_run.add_tag("user:ann")
    assert tagged_run.user_tags == {"nightly"}


@pytest.mark.parametrize("call, message", [
    (lambda run: run.add_tag(""), "a tag must not be empty"),
    (lambda run: run.add_tag("x" * 501), f"the tag {'x' * 40!r}... is 501 characters long; at most 500"),
    (lambda run: run.add_tags("abc"), "tags to add must be a list of tags, not one string"),
    (lambda run: run.add_tag(7), "tags to add must be a list of tags, got int 7"),
    (lambda run: run.add_tags([7]), "a tag must be a string, got int 7"),
    (lambda run: run.replace_tags([], []), "give at least one tag to add or remove"),
    (lambda run: run.add_tags([f"t{i}" for i in range(50)]), "a run has at most 50 user tags; this change would give it 51"),
])
def test_invalid_tag_changes(tagged_run, call, message):
    """Metaflow's tag rules: non-empty strings of at most 500 characters, at most 50 user tags."""
    with pytest.raises(TaggingError) as error:
        call(tagged_run)
    assert str(error.value) == message


def test_concurrent_writers_both_keep_their_change(tagged_run, store):
    """Metaflow's local provider retries a read-modify-write; flowship never rewrites: each change is created once,
    so eight writers at once all keep theirs and no reader sees half a record."""
    def add(i: int) -> None:
        Flow("HelloFlow", datastore=store.url)[tagged_run.id].add_tag(f"w{i}")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Flow("HelloFlow", datastore=store.url)[tagged_run.id].user_tags == {"nightly", *(f"w{i}" for i in range(8))}


def test_flow_tag_command(tagged_run, store):
    """``flow tag add|remove|replace|list FLOW/RUN``, as Metaflow's ``tag`` command (replace: --remove, --add)."""
    pathspec = f"HelloFlow/{tagged_run.id}"
    added = flow_cli("tag", "add", pathspec, "x", "y", store=store.url, env=store.env)
    assert added.returncode == 0, added.stderr
    assert added.stdout == f"{pathspec}\n  user tags:   nightly, x, y\n  system tags: user:ann\n"
    replaced = flow_cli("tag", "replace", pathspec, "--remove", "x", "--add", "z", store=store.url, env=store.env)
    assert replaced.stdout.splitlines()[1] == "  user tags:   nightly, y, z"
    removed = flow_cli("tag", "remove", pathspec, "user:ann", store=store.url, env=store.env)
    assert (removed.returncode, removed.stderr) == (
        1, "error: user:ann: a system tag cannot be removed (system tags: user:ann)\n")
    half = flow_cli("tag", "replace", pathspec, "--add", "q", store=store.url, env=store.env)
    assert half.stderr == ("error: flow tag replace needs at least one --remove TAG and one --add TAG (to only add "
                           "or remove, use flow tag add / flow tag remove)\n")
    listed = flow_cli("tag", "list", pathspec, store=store.url, env=store.env)
    assert listed.stdout.splitlines()[1:] == ["  user tags:   nightly, y, z", "  system tags: user:ann"]
    runs = flow_cli("runs", "HelloFlow", "--all-namespaces", store=store.url, env=store.env)
    assert "tags: nightly, y, z" in runs.stdout
    verify = flow_cli("verify", store=store.url, env=store.env)
    assert verify.returncode == 0 and "checked 1 run, 3 tasks" in verify.stderr, "tag changes are not steps"


def test_resume_carries_the_origin_tags_as_they_are_now(tagged_run, store):
    """flowship's resume starts with the origin run's user tags (after any change made since), plus --tag."""
    tagged_run.replace_tags(["nightly"], ["reviewed"])
    result = flow_cli("resume", str(EXAMPLES / "hello.py"), tagged_run.id, "--tag", "again", store=store.url,
                      env={**store.env, "FLOWSHIP_USER": "ann"})
    assert result.returncode == 0, result.stderr
    resumed = Flow("HelloFlow", datastore=store.url).latest_run
    assert (resumed.origin_run_id, resumed.user_tags) == (tagged_run.id, {"reviewed", "again"})
