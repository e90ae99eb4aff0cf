"""@pypi, @conda, @pypi_base and @conda_base as Metaflow reads them, checked without resolving anything.

Metaflow's rules (metaflow/plugins/pypi/pypi_decorator.py, conda_decorator.py, conda_environment.py): a step's
decorator adds to the flow's base, its package versions and python= win; disabled= is inherited when not given;
@conda's libraries= is the older name of packages=; a version is an exact pin unless it starts with an operator;
one step cannot take packages from both @pypi and @conda.
"""

from __future__ import annotations

import pytest
from conftest import check, two_step_flow

from flowship.compiler.ir import PythonEnv


def env_of(start_decorators: str = "", class_decorators: str = "", step: str = "start") -> PythonEnv | None:
    result = check(two_step_flow(class_decorators=class_decorators, start_decorators=start_decorators))
    assert result.ir is not None, [str(p) for p in result.problems]
    assert [p for p in result.problems if p.is_error] == []
    return result.ir.step(step).decorators.python_env


def errors(start_decorators: str = "", class_decorators: str = "") -> list[str]:
    result = check(two_step_flow(class_decorators=class_decorators, start_decorators=start_decorators))
    return [f"{p.message} — {p.fix}" for p in result.problems if p.is_error]


class TestValid:
    @pytest.mark.parametrize("start, base, env", [
        ("    @pypi(packages={'six': '1.16.0'})", "", PythonEnv({"six": "six==1.16.0"}, None, "pypi")),
        ("    @pypi(packages={'Six': '>=1.15', 'attrs': ''})", "",
         PythonEnv({"attrs": "attrs", "six": "Six>=1.15"}, None, "pypi")),
        ("    @pypi(packages={'six': '1.17.0'}, python='3.12')", "@pypi_base(packages={'six': '1.16.0', 'attrs': '23.1.0'}, "
         "python='3.11')", PythonEnv({"attrs": "attrs==23.1.0", "six": "six==1.17.0"}, "3.12", "pypi")),
        ("", "@pypi_base(packages={'six': '1.16.0'}, python='3.11')", PythonEnv({"six": "six==1.16.0"}, "3.11", "pypi")),
        ("    @pypi", "", PythonEnv({}, None, "pypi")),
        ("    @pypi(disabled=True)", "@pypi_base(packages={'six': '1.16.0'})", None),
        ("    @pypi(disabled=False)", "@pypi_base(packages={'six': '1.16.0'}, disabled=True)",
         PythonEnv({"six": "six==1.16.0"}, None, "pypi")),
        ("    @pypi(packages={'attrs': '23.1.0'})", "@pypi_base(disabled=True)", None),
        ("    @conda(libraries={'pytorch': '2.3.0', 'conda-forge::numpy': '1.26.4', 'py-xgboost': '2.0.3'})", "",
         PythonEnv({"numpy": "numpy==1.26.4", "torch": "torch==2.3.0", "xgboost": "xgboost==2.0.3"}, None, "conda")),
        ("    @conda(libraries={'regex': '2024.9.11'}, packages={'regex': '2024.11.6'})", "@conda_base(python='3.10.*')",
         PythonEnv({"regex": "regex==2024.11.6"}, "3.10", "conda")),
        ("    @conda(packages={'scikit-learn': '>=1.3'})", "", PythonEnv({"scikit-learn": "scikit-learn>=1.3"}, None, "conda")),
        ("    @pypi(packages={'six': '1.16.0'})", "@conda_base(python='3.11')", PythonEnv({"six": "six==1.16.0"}, "3.11", "pypi")),
    ])
    def test_environment(self, start, base, env):
        """Metaflow's step_init: step attributes augment the flow-level decorator's."""
        assert env_of(start, base) == env

    def test_base_reaches_every_step(self):
        """Metaflow's @pypi_base attaches @pypi to every step."""
        assert env_of("", "@pypi_base(packages={'six': '1.16.0'})", step="end") == PythonEnv({"six": "six==1.16.0"})

    def test_a_step_without_any_has_none(self):
        assert env_of() is None


class TestInvalid:
    @pytest.mark.parametrize("start, base, message", [
        ("    @conda(libraries={'cudatoolkit': '11.8'})", "",
         "@conda on step 'start': 'cudatoolkit' has no PyPI package to install — install it in the image, or use a "
         "PyPI package that provides it (e.g. nvidia-* wheels for CUDA libraries), and remove it from the decorator"),
        ("", "@conda_base(libraries={'r-base': '4.3'})",
         "@conda_base: 'r-base' has no PyPI package to install — install it in the image, or use a "
         "PyPI package that provides it (e.g. nvidia-* wheels for CUDA libraries), and remove it from the decorator"),
        ("    @conda(libraries={'python': '3.11'})", "",
         "@conda on step 'start': 'python' has no PyPI package to install — give the Python version as "
         "python='3.11'"),
        ("    @pypi(packages={'six': '1.16.0'})\n    @conda(libraries={'attrs': '23.1.0'})", "",
         "step 'start' takes packages from both @pypi and @conda, which Metaflow does not allow — give the step's "
         "packages with one of @pypi or @conda"),
        ("    @pypi(python='py3')", "",
         "@pypi: python must be a version such as '3.11' or '3.11.4', got 'py3' — fix the argument"),
        ("    @pypi(packages=['six'])", "",
         "@pypi: packages must be a dict of package names to versions, got ['six'] — fix the argument"),
        ("    @pypi(packages={'six': 1.16})", "",
         "@pypi: packages: the version of 'six' must be a string such as '1.2.3', got 1.16 — fix the argument"),
        ("    @pypi(disabled='yes')", "", "@pypi: disabled must be True or False, got 'yes' — fix the argument"),
        ("    @pypi(pakages={})", "", "@pypi has no argument 'pakages' — use one of: packages, python, disabled"),
    ])
    def test_message(self, start, base, message):
        """Metaflow refuses these when it bootstraps the environment; flowship says so at flow check."""
        assert errors(start, base) == [message]
