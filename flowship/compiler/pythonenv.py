"""@pypi, @conda and their flow-level bases, as Metaflow means them, turned into each step's ``PythonEnv``.

Metaflow's rules: a step's ``@pypi``/``@conda`` adds to the flow's
``@pypi_base``/``@conda_base`` (the step's version of a package wins, its
``python=`` wins when given, its ``disabled=`` when not None); ``@conda``'s
``libraries=`` is the older name of ``packages=`` (``packages`` wins); a step may
not take packages from both ``@pypi`` and ``@conda``; ``disabled=True`` runs the
step without an environment of its own. A version is an exact pin unless it
starts with an operator (``">=1.2"``), as Metaflow writes requirements.

flowship builds every environment from PyPI with uv, so a conda library is read
as the PyPI package of the same project: a few differ in name
(:data:`CONDA_RENAMES`), and a library with no PyPI equivalent (CUDA, R,
compilers) is an error at ``flow check`` naming the step and the library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowship.compiler.ir import PythonEnv
from flowship.errors import Problem

__all__ = [
    "PACKAGE_ARGUMENTS",
    "CONDA_RENAMES",
    "Declared",
    "declared_packages",
    "step_python_env",
    "conda_base_problems",
    "requirement",
]

PACKAGE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "pypi": {"packages": {}, "python": None, "disabled": None},
    "conda": {"packages": {}, "libraries": {}, "python": None, "disabled": None},
}

# conda-forge names whose PyPI package is named differently
CONDA_RENAMES: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "tensorflow-base": "tensorflow",
    "arrow-cpp": "pyarrow",
}
# conda packages that are system libraries or other languages, with no PyPI package to stand for them
_CONDA_ONLY = {"cudatoolkit", "cudnn", "cuda-toolkit", "cuda-nvcc", "nccl", "r-base", "libgcc-ng", "libstdcxx-ng"}
_CONDA_ONLY |= {"openjdk", "gcc", "gxx", "gfortran", "compilers", "libblas", "libcblas", "liblapack"}
_OPERATORS = ("<", ">", "!", "~", "=", "@")
_PYTHON = re.compile(r"^3\.[0-9]+(\.[0-9]+)?(\.\*)?$")


class _Invalid(ValueError):
    """An argument of @pypi/@conda is wrong; the message says how to write it."""


@dataclass(frozen=True)
class Declared:
    """One @pypi/@conda (or base) decorator's arguments, checked."""

    packages: Mapping[str, str]  # name as written -> version as written
    python: str | None
    disabled: bool | None


def declared_packages(values: Mapping[str, Any]) -> Declared:
    """Check one decorator's bound arguments (``packages``, ``libraries``, ``python``, ``disabled``)."""
    packages: dict[str, str] = {}
    for argument in ("libraries", "packages"):  # packages= wins over the older libraries=
        given = values.get(argument) or {}
        if not isinstance(given, dict):
            raise _Invalid(f"{argument} must be a dict of package names to versions, got {given!r}")
        for name, version in given.items():
            if not isinstance(name, str) or not name.strip():
                raise _Invalid(f"{argument}: package name {name!r} is not a name")
            if not isinstance(version, str):
                raise _Invalid(f"{argument}: the version of {name!r} must be a string such as '1.2.3', got {version!r}")
            packages[name.strip()] = version.strip()
    python = values.get("python")
    if python is not None and (not isinstance(python, str) or not _PYTHON.match(python.strip())):
        raise _Invalid(f"python must be a version such as '3.11' or '3.11.4', got {python!r}")
    disabled = values.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise _Invalid(f"disabled must be True or False, got {disabled!r}")
    return Declared(packages, python.strip().removesuffix(".*") if python else None, disabled)


def requirement(name: str, version: str) -> str:
    """Metaflow's spelling: an exact pin, unless the version starts with an operator or is empty."""
    if not version:
        return name
    return f"{name}{version}" if version.startswith(_OPERATORS) else f"{name}=={version}"


def _merged(base: Declared | None, own: Declared | None) -> Declared | None:
    if base is None or own is None:
        return own or base
    return Declared(
        {**base.packages, **own.packages},
        own.python or base.python,
        own.disabled if own.disabled is not None else base.disabled,
    )


def _pypi_name(library: str) -> str | None:
    """The PyPI package standing for a conda library, or None where there is none."""
    name = library.split("::")[-1].strip().lower()  # "conda-forge::numpy": the channel does not matter here
    if name in _CONDA_ONLY or name.startswith("r-") or name == "python":
        return None
    return CONDA_RENAMES.get(name, name)


def step_python_env(
    step: str,
    own: Mapping[str, Declared],
    base: Mapping[str, Declared],
    file: str,
    line: int,
    problems: list[Problem],
) -> PythonEnv | None:
    """The step's environment from its @pypi/@conda (``own``) and the flow's bases (``base``), or None."""
    pypi = _merged(base.get("pypi_base"), own.get("pypi"))
    conda = _merged(base.get("conda_base"), own.get("conda"))
    chosen = pypi or conda
    if chosen is None or chosen.disabled:
        return None
    if pypi is not None and conda is not None and pypi.packages and conda.packages:
        problems.append(
            Problem(
                file,
                line,
                f"step '{step}' takes packages from both @pypi and @conda, which Metaflow does not allow",
                "give the step's packages with one of @pypi or @conda",
            )
        )
        return None
    python = (pypi.python if pypi else None) or (conda.python if conda else None)
    if (pypi is not None and pypi.packages) or conda is None:
        packages = {name.lower(): requirement(name, version) for name, version in chosen.packages.items()}
        return PythonEnv(dict(sorted(packages.items())), python, "pypi")
    own_libraries = own["conda"].packages if "conda" in own else {}
    mapped: dict[str, str] = {}
    for library, version in conda.packages.items():
        name = _pypi_name(library)
        if name is None:  # a base's library is reported once, at the base (conda_base_problems)
            if library in own_libraries:
                problems.append(_unmappable(f"@conda on step '{step}'", library, file, line))
            continue
        mapped[name] = requirement(name, version)
    return PythonEnv(dict(sorted(mapped.items())), python, "conda")


def conda_base_problems(base: Declared, file: str, line: int) -> list[Problem]:
    """The libraries of @conda_base that no PyPI package stands for."""
    return [_unmappable("@conda_base", library, file, line) for library in base.packages if _pypi_name(library) is None]


def _unmappable(where: str, library: str, file: str, line: int) -> Problem:
    fix = (
        "give the Python version as python='3.11'"
        if library.split("::")[-1].lower() == "python"
        else "install it in the image, or use a PyPI package that provides it (e.g. nvidia-* wheels for CUDA "
        "libraries), and remove it from the decorator"
    )
    return Problem(file, line, f"{where}: '{library}' has no PyPI package to install", fix)
