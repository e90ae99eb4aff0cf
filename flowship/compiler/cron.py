"""Cron and timezone validation that both schedulers agree with.

A schedule is deployed to Argo (robfig/cron ``ParseStandard``) and to Airflow
(croniter). The two parsers disagree at the edges: Argo rejects day-of-week 7,
seconds fields and ``@every`` is meaningless to Airflow. We accept only the
intersection, so a flow that checks clean schedules the same on both, and we
normalize descriptors such as ``@daily`` to five fields. Metaflow documents
six fields (EventBridge's, ending in a year) and drops the year for Argo; a
year of ``*`` is dropped here too, any other year is refused.
"""

from __future__ import annotations

import re
import zoneinfo

__all__ = ["CronError", "normalize_cron", "check_timezone"]


class CronError(ValueError):
    """A cron expression or timezone that one of the targets would reject."""


DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

# (field name, low, high, names mapped to numbers, allows '?')
_FIELDS: tuple[tuple[str, int, int, dict[str, int], bool], ...] = (
    ("minute", 0, 59, {}, False),
    ("hour", 0, 23, {}, False),
    ("day-of-month", 1, 31, {}, True),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}, False),
    ("day-of-week", 0, 6, {d: i for i, d in enumerate(_DAYS)}, True),
)

_ITEM = re.compile(r"^(?P<range>\*|\?|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


def _value(text: str, field: tuple[str, int, int, dict[str, int], bool]) -> int:
    name, low, high, names, _ = field
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise CronError(f"'{text}' is not a number in the {name} field")
    value = int(text)
    if not low <= value <= high:
        hint = " (Sunday is 0; Argo rejects 7)" if name == "day-of-week" and value == 7 else ""
        raise CronError(f"{value} is outside {low}-{high} in the {name} field{hint}")
    return value


def _check_field(text: str, field: tuple[str, int, int, dict[str, int], bool]) -> None:
    name, _, _, _, allows_question = field
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise CronError(f"'{item}' is not a valid {name} entry")
        span, step = match.group("range"), match.group("step")
        if step is not None and int(step) < 1:
            raise CronError(f"step '/{step}' in the {name} field must be at least 1")
        if span == "?":
            if not allows_question:
                raise CronError(f"'?' is only allowed in the day-of-month and day-of-week fields, not {name}")
            continue
        if span == "*":
            continue
        bounds = [_value(part, field) for part in span.split("-")]
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise CronError(f"range '{span}' in the {name} field runs backwards")


def normalize_cron(expression: str) -> str:
    """Return ``expression`` as five space-separated fields, or raise :class:`CronError`."""
    text = " ".join(expression.split())
    if text.lower() in DESCRIPTORS:
        return DESCRIPTORS[text.lower()]
    if text.startswith("@"):
        raise CronError(f"'{text}' is not supported; use one of {', '.join(sorted(DESCRIPTORS))} or five fields")
    fields = text.split(" ")
    if len(fields) == 6:  # Metaflow's documented form (EventBridge's) ends in a year; Metaflow's Argo output drops it
        if fields[5] not in ("*", "?"):
            raise CronError(
                f"'{text}' limits the year to '{fields[5]}'; Argo and Airflow schedules have no year field — "
                "end it with '*' or drop the sixth field"
            )
        fields = fields[:5]
    if len(fields) != 5:
        raise CronError(
            f"'{text}' has {len(fields)} fields; write five: minute hour day-of-month month day-of-week "
            "(or six, the last a year of '*', as in Metaflow)"
        )
    for part, field in zip(fields, _FIELDS, strict=False):
        _check_field(part, field)
    return " ".join(fields)


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA timezone both targets can load, else raise."""
    if name in {"Local", "localtime"} or not name or name != name.strip():
        raise CronError(f"'{name}' is not an IANA timezone name")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CronError(f"'{name}' is not a known IANA timezone (e.g. 'UTC', 'Europe/Paris')") from None
    return name
