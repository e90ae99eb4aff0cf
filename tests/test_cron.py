"""Cron and timezone rules: only what both Argo (robfig/cron) and Airflow (croniter) accept."""

from __future__ import annotations

import pytest

from flowship.compiler.cron import CronError, check_timezone, normalize_cron


class TestValid:
    @pytest.mark.parametrize("given, expected", [
        ("0 9 * * *", "0 9 * * *"),
        ("  */15   0-6 * * MON-FRI ", "*/15 0-6 * * MON-FRI"),
        ("0 0 1,15 JAN,jul ?", "0 0 1,15 JAN,jul ?"),
        ("5 4 * * 0", "5 4 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@midnight", "0 0 * * *"),
        ("@annually", "0 0 1 1 *"),
        # Metaflow documents EventBridge's six fields, the last a year, and drops the year for Argo
        ("0 10 * * ? *", "0 10 * * ?"),
        ("30 6 ? * MON-FRI ?", "30 6 ? * MON-FRI"),
    ])
    def test_normalized(self, given, expected):
        assert normalize_cron(given) == expected

    @pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
    def test_timezone(self, zone):
        assert check_timezone(zone) == zone


class TestInvalid:
    @pytest.mark.parametrize("given, message", [
        ("* * *", "'* * *' has 3 fields; write five: minute hour day-of-month month day-of-week (or six, the last a year of '*', as in Metaflow)"),
        ("0 0 9 * * 2027", "'0 0 9 * * 2027' limits the year to '2027'; Argo and Airflow schedules have no year field — end it with '*' or drop the sixth field"),
        ("0 0 9 * * * *", "'0 0 9 * * * *' has 7 fields; write five: minute hour day-of-month month day-of-week (or six, the last a year of '*', as in Metaflow)"),
        ("0 9 * * 7", "7 is outside 0-6 in the day-of-week field (Sunday is 0; Argo rejects 7)"),
        ("60 * * * *", "60 is outside 0-59 in the minute field"),
        ("0 24 * * *", "24 is outside 0-23 in the hour field"),
        ("0 0 0 * *", "0 is outside 1-31 in the day-of-month field"),
        ("0 0 * 13 *", "13 is outside 1-12 in the month field"),
        ("0 0 * FOO *", "'FOO' is not a number in the month field"),
        ("5-1 * * * *", "range '5-1' in the minute field runs backwards"),
        ("*/0 * * * *", "step '/0' in the minute field must be at least 1"),
        ("? * * * *", "'?' is only allowed in the day-of-month and day-of-week fields, not minute"),
        ("1-2-3 * * * *", "'1-2-3' is not a valid minute entry"),
        ("@every 5m", "'@every 5m' is not supported; use one of @annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly or five fields"),
    ])
    def test_rejected_with_reason(self, given, message):
        with pytest.raises(CronError) as info:
            normalize_cron(given)
        assert str(info.value) == message

    @pytest.mark.parametrize("zone, message", [
        ("Mars/Olympus", "'Mars/Olympus' is not a known IANA timezone (e.g. 'UTC', 'Europe/Paris')"),
        ("Local", "'Local' is not an IANA timezone name"),
        ("", "'' is not an IANA timezone name"),
        ("../etc/passwd", "'../etc/passwd' is not a known IANA timezone (e.g. 'UTC', 'Europe/Paris')"),
    ])
    def test_timezone_rejected(self, zone, message):
        with pytest.raises(CronError) as info:
            check_timezone(zone)
        assert str(info.value) == message
