"""The flow command as a user runs it: exit codes, output, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

from conftest import EXAMPLES, REPO


def run(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_check_valid_flow():
    result = run(sys.executable, "-m", "flowship", "check", "examples/hello.py")
    assert (result.returncode, result.stdout) == (0, "examples/hello.py: HelloFlow is valid (3 steps, 1 parameter)\n")


def test_check_invalid_flow_lists_every_problem(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from flowship import FlowSpec, step\n"
        "class F(FlowSpec):\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.next(self.middle)\n"
        "    @step\n"
        "    def end(self):\n"
        "        self.next(self.start)\n"
    )
    result = run(sys.executable, "-m", "flowship", "check", str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{bad}:5: step 'start' goes to 'middle', which is not a step — define `@step def middle(self):` or name an existing step",
        f"{bad}:8: step 'end' calls self.next() — remove it: the flow finishes at 'end'",
    ]
    assert result.stderr == f"{bad}: 2 errors\n"


def test_missing_file_is_a_message_not_a_traceback():
    result = run(sys.executable, "-m", "flowship", "show", "nope.py")
    assert (result.returncode, result.stderr) == (
        1, "error: nope.py: no such flow file — give the path of a .py file that defines a FlowSpec\n")


def test_show_invalid_flow_fails_with_problems(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from flowship import FlowSpec\nclass F(FlowSpec):\n    pass\n")
    result = run(sys.executable, "-m", "flowship", "show", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {bad}:2: flow F has no 'end' step")


def test_flow_file_dispatches_to_the_cli():
    result = run(sys.executable, "examples/nested_foreach.py", "show", "--format", "mermaid")
    assert result.returncode == 0 and result.stdout.startswith("flowchart TD\n")
    assert run(sys.executable, "examples/hello.py", "check").stdout == "examples/hello.py: HelloFlow is valid (3 steps, 1 parameter)\n"


def test_flow_file_without_command_prints_usage():
    result = run(sys.executable, str(EXAMPLES / "hello.py"))
    assert result.returncode == 2 and "COMMAND" in result.stderr


def test_console_script_is_installed():
    result = run("flow", "--version")
    assert result.returncode == 0 and result.stdout.startswith("flowship ")
