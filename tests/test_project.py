"""The project's own promises: the README Quickstart and CI stay in step."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def quickstart_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_command_lines():
    assert len(quickstart_commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quickstart_commands()[1] in ci


def test_every_public_module_says_why_it_exists():
    for path in sorted((REPO / "flowship").rglob("*.py")):
        if path.name == "__init__.py" and not path.read_text().strip():
            continue
        assert path.read_text(encoding="utf-8").lstrip().startswith('"""'), f"{path} has no module docstring"


def _imports(path: Path, modules: set[str]) -> tuple[set[str], set[str]]:
    """(imported when the module loads, imported anywhere) among ``modules``; TYPE_CHECKING blocks excluded."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    at_load = {id(n) for n in tree.body}
    loaded, anywhere = set(), set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            names = [a.name for a in node.names]
        found = {n for n in names if n in modules}
        anywhere |= found
        if id(node) in at_load:
            loaded |= found
    return loaded, anywhere


def test_no_import_circles_and_the_library_never_imports_the_cli():
    files = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): p
             for p in (REPO / "flowship").rglob("*.py")}
    graph = {name: _imports(path, set(files)) for name, path in files.items()}
    edges = {name: {t for t in loaded if t != name and not t.startswith(name + ".")} for name, (loaded, _) in graph.items()}
    cycles = [name for name in edges if _reaches(edges, name, name)]
    assert cycles == []
    library = [f"{name} imports {target}" for name, (_, anywhere) in graph.items() if not name.startswith("flowship.cli")
               and name != "flowship.__main__" for target in anywhere if target.startswith("flowship.cli")]
    assert library == []


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), list(edges[start])
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack += edges.get(node, ())
    return False


@pytest.mark.parametrize("command", [
    ["ruff", "check", "flowship"],
    ["ruff", "format", "--check", "flowship"],
    ["mypy"],
], ids=["ruff-lint", "ruff-format", "mypy"])
def test_lint_format_and_types_are_clean(command):
    if importlib.util.find_spec(command[0]) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{command[0]} is missing; the test extra installs it")
        pytest.skip(f"{command[0]} is not installed (pip install -e '.[test]')")
    result = subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_test_lock_is_current():
    """Every requirement of the test extra (followed through our own extras) is pinned in constraints/test.txt."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    requirements = pytest.importorskip("packaging.requirements")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins: dict[str, list[str]] = {}
    for line in (REPO / "constraints" / "test.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(";")[0].strip().split("==")
            pins.setdefault(_normal(name), []).append(version)
    wanted, extras, seen = list(project["dependencies"]), ["test"], set()
    while extras:
        extra = extras.pop()
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            requirement = requirements.Requirement(text)
            if _normal(requirement.name) == "flowship":
                extras += [e for e in requirement.extras if e not in seen]
            else:
                wanted.append(text)
    stale = []
    for text in wanted:
        requirement = requirements.Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # for another Python than the lock's (tomli, before 3.11)
        if not any(requirement.specifier.contains(v) for v in pins.get(_normal(requirement.name), [])):
            stale.append(text)
    assert stale == [], "regenerate the lock: see docs/development.md"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_no_source_file_is_ignored_by_git():
    """A package file that .gitignore matches never reaches a clone, and the clone breaks."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    sources = [str(p.relative_to(REPO)) for p in (REPO / "flowship").rglob("*.py")]
    result = subprocess.run(["git", "check-ignore", "--no-index", *sources], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.split() == []
