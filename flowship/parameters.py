"""Flow parameters as users declare them: ``alpha = Parameter("alpha", default=0.5)``.

These objects only carry what was declared. The compiler reads the same
declaration from the source (see ``compiler/params.py``) to check and type
it; at run time the step command replaces each one on the flow instance with
its value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Parameter", "IncludeFile", "JSONType", "ParameterContext"]


class ParameterContext(NamedTuple):
    """What a function given as a default receives (Metaflow's deploy-time fields): ``default=lambda ctx: ...``."""

    flow_name: str
    user_name: str
    parameter_name: str
    logger: Callable[..., None]
    ds_type: str  # "local" or "s3": the kind of store the run or deployment uses
    configs: Any  # the flow's configs by name (None while a config's own default is computed)


class JSONType:
    """Marks a parameter whose value is JSON text, given to the step already decoded."""


class Parameter:
    """A run-time argument of the flow: ``flow run f.py --alpha 0.3``."""

    def __init__(
        self,
        name: str,
        default: Any = None,
        type: Any = None,
        help: str = "",
        required: bool = False,
        show_default: bool = True,
        separator: str | None = None,
        multiple: bool = False,
        **other: Any,
    ):
        self.name = name
        self.default = default
        self.type = type
        self.help = help
        self.required = required
        self.show_default = show_default
        self.separator = separator  # every argument is kept: compiler/evaluate.py reads them from here
        self.multiple = multiple
        # Metaflow hands other keywords to click; flow check names each one flowship does not take, so the
        # import that evaluates a flow's arguments must not fail on them first
        self.other = other

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class IncludeFile(Parameter):
    """A file read on the launching machine and stored, versioned, as an artifact."""

    def __init__(
        self,
        name: str,
        default: str | None = None,
        help: str = "",
        required: bool = False,
        is_text: bool = True,
        encoding: str = "utf-8",
        show_default: bool = True,
    ):
        super().__init__(name, default=default, help=help, required=required)
        self.is_text = is_text
        self.encoding = encoding
