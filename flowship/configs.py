"""Flow configs as users declare them: ``config = Config("config", default="config.json")``.

A config is a JSON document fixed when a run starts or a flow is deployed
(Metaflow's ``Config``): given with ``--config NAME FILE`` or ``--config-value
NAME JSON``, else read from its default file or default value. It can shape
the flow itself, because decorator and Parameter arguments may use it:
``@resources(cpu=config.cpu)`` or ``config_expr("config.cpu")``. In the class
body those are :class:`DelayEvaluator` placeholders; flowship resolves them
when it imports the flow module to evaluate its arguments
(``compiler/evaluate.py``), and steps see the value as ``self.config``, a
read-only :class:`ConfigValue`.
"""

from __future__ import annotations

import collections.abc
import copy
import importlib
import inspect
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flowship.errors import FlowshipError

__all__ = [
    "Config",
    "ConfigValue",
    "DelayEvaluator",
    "config_expr",
    "config_namespace",
    "resolve_delayed",
    "set_current_values",
    "parse_config_text",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The values of the flow's configs while its arguments are evaluated: name -> (value, plain).
_CURRENT: dict[str, tuple[Any, bool]] | None = None


class ConfigValue(collections.abc.Mapping):
    """A config as a step reads it: ``self.config.model.depth`` or ``self.config["model"]["depth"]``; read-only."""

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", {k: _wrap(v) for k, v in data.items()})

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        data = self.__dict__.get("_data", {})
        if key in data:
            return data[key]
        raise AttributeError(f"the config has no key '{key}'; it has: {', '.join(map(str, data)) or 'none'}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a config is read-only: its value is fixed when the run starts")

    def __eq__(self, other: Any) -> bool:
        return self.to_dict() == (other.to_dict() if isinstance(other, ConfigValue) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The config as plain dicts and lists."""
        return _unwrap(self)

    def __reduce__(self) -> Any:
        return (ConfigValue, (self.to_dict(),))


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, ConfigValue):
        return ConfigValue(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unwrap(v) for v in value]
    return value


class DelayEvaluator:
    """``config.cpu`` or ``config_expr("config.cpu * 2")`` in a class body: evaluated once the values are known."""

    def __init__(self, expression: str, module_globals: dict[str, Any] | None = None, access: tuple[Any, ...] = ()):
        self._expression = expression
        self._globals = module_globals
        self._access = access

    def _extended(self, key: Any) -> DelayEvaluator:
        if not _IDENTIFIER.match(self._expression):
            raise AttributeError(f"config_expr({self._expression!r}) is an expression; write the whole path in it")
        return DelayEvaluator(self._expression, self._globals, (*self._access, key))

    def __getattr__(self, name: str) -> DelayEvaluator:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._extended(name)

    def __getitem__(self, key: Any) -> DelayEvaluator:
        return self._extended(key)

    def __repr__(self) -> str:
        return f"config_expr({self.text!r})"

    @property
    def text(self) -> str:
        path = self._expression
        for key in self._access:
            path += f".{key}" if isinstance(key, str) and _IDENTIFIER.match(key) else f"[{key!r}]"
        return path

    def __call__(self) -> Any:
        if _CURRENT is None:
            raise FlowshipError(
                f"{self!r} is evaluated only when flowship reads the flow's arguments; use self.<config> inside a step"
            )
        names = {
            name: value if plain or value is None else ConfigValue(value) for name, (value, plain) in _CURRENT.items()
        }
        try:
            value = eval(self._expression, self._globals or {}, names)  # the user's own expression, as in Metaflow
            for key in self._access:
                key = resolve_delayed(key)  # config[other.selector] picks by another config's value
                value = value[key] if isinstance(value, (Mapping, list)) else getattr(value, key)
        except Exception as exc:
            raise FlowshipError(f"config expression {self.text!r} failed: {type(exc).__name__}: {exc}") from None
        return _unwrap(value) if isinstance(value, ConfigValue) else value


def config_expr(expression: str) -> DelayEvaluator:
    """An expression over the flow's configs (and the calling module's names), evaluated when the values are known.

    ``@environment(vars={"MODE": config_expr("config.mode.upper()")})``
    """
    caller = inspect.currentframe()
    module_globals = caller.f_back.f_globals if caller is not None and caller.f_back is not None else {}
    return DelayEvaluator(expression, module_globals)


def resolve_delayed(value: Any) -> Any:
    """``value`` with every :class:`DelayEvaluator` in it (and in its dicts, lists, tuples) evaluated."""
    if isinstance(value, DelayEvaluator):
        return value()
    if isinstance(value, dict):
        return {resolve_delayed(k): resolve_delayed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(resolve_delayed(v) for v in value)
    return value


def config_namespace(values: Mapping[str, tuple[Any, bool]]) -> dict[str, Any]:
    """Configs by name as code sees them: a :class:`ConfigValue`, or the value itself when plain (or None)."""
    return {name: value if plain or value is None else ConfigValue(value) for name, (value, plain) in values.items()}


def set_current_values(values: dict[str, tuple[Any, bool]] | None) -> None:
    """The config values expressions see (``None``: outside an evaluation)."""
    global _CURRENT
    _CURRENT = copy.deepcopy(values)


class Config:
    """A config of the flow: ``Config("config", default="config.json")`` or ``default_value={...}``.

    ``parser`` turns the text (a file's content or ``--config-value``) into a dict: a function or a
    ``"module.function"`` name; without one the text is JSON. ``plain=True`` keeps the parsed value as it is
    instead of a :class:`ConfigValue`.
    """

    def __init__(
        self,
        name: str,
        default: str | Callable[..., str] | None = None,
        default_value: str | dict[str, Any] | Callable[..., Any] | None = None,
        help: str | None = None,
        required: bool | None = None,
        parser: str | Callable[[str], Any] | None = None,
        plain: bool = False,
        show_default: bool = True,
    ):
        if default is not None and default_value is not None:
            raise FlowshipError(f"config '{name}': give default (a file) or default_value, not both")
        self.name = name
        self.default = default
        self.default_value = default_value
        self.help = help or ""
        self.required = bool(required)
        self.parser = parser
        self.plain = plain

    # In the class body the config's value is not known yet: using it gives a placeholder.
    def __getattr__(self, name: str) -> DelayEvaluator:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(DelayEvaluator(self.name), name)

    def __getitem__(self, key: Any) -> DelayEvaluator:
        return DelayEvaluator(self.name)[key]

    def __repr__(self) -> str:
        return f"Config({self.name!r})"


def parse_config_text(config: Config, text: str) -> Any:
    """A config's value from its text (a file's content or ``--config-value``), as Metaflow parses it."""
    parser = config.parser
    if parser is None:
        if config.plain:
            return text
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise FlowshipError(f"config '{config.name}': the value is not valid JSON ({exc})") from None
    else:
        if isinstance(parser, str):
            module, _, function = parser.rpartition(".")
            try:
                parser = getattr(importlib.import_module(module), function)
            except (ImportError, AttributeError, ValueError):
                raise FlowshipError(f"config '{config.name}': cannot import the parser {config.parser!r}") from None
        value = parser(text)
    if not config.plain and not isinstance(value, Mapping):
        raise FlowshipError(
            f"config '{config.name}': the value is a {type(value).__name__}, not a mapping (a JSON object); "
            "give an object, or declare the Config with plain=True"
        )
    return _unwrap(value) if isinstance(value, Mapping) else value
