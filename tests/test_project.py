"""The project's own promises: the README Quickstart and CI stay in step."""

from __future__ import annotations

import re

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
