"""Decorator arguments: normalized values for valid input, pinned messages for invalid."""

from __future__ import annotations

import pytest

from conftest import check, two_step_flow
from flowship.compiler.ir import Catch, Kubernetes, ProjectIR, Resources, Retry, ScheduleIR


def on_start(decorators: str):
    """Check a two-step flow with ``decorators`` on start; return (start's decorators, problems)."""
    result = check(two_step_flow(start_decorators=decorators))
    step = result.ir.step("start").decorators if result.ir else None
    return step, [str(p) for p in result.problems]


def on_flow(decorators: str):
    result = check(two_step_flow(class_decorators=decorators))
    return result.ir, [str(p) for p in result.problems]


class TestStepValid:
    @pytest.mark.parametrize("source, expected", [
        ("@resources", Resources(1000, 4096, 0, None)),
        ("@resources(cpu=0.5, memory='8Gi', gpu=1, disk='10G')", Resources(500, 8192, 1, 9537)),
        ("@resources(cpu='250m', memory=512)", Resources(250, 512, 0, None)),
        ("@resources(cpu=2)\n    @kubernetes(memory=16384, gpu=2)", Resources(2000, 16384, 2, None)),
    ])
    def test_resources(self, source, expected):
        assert on_start("    " + source)[0].resources == expected

    @pytest.mark.parametrize("source, expected", [
        ("@retry", Retry(3, 2)),
        ("@retry(times=0)", Retry(0, 2)),
        ("@retry(times=5, minutes_between_retries=0.5)", Retry(5, 0.5)),
    ])
    def test_retry(self, source, expected):
        assert on_start("    " + source)[0].retry == expected

    @pytest.mark.parametrize("source, seconds", [
        ("@timeout(seconds=30)", 30), ("@timeout(minutes=2, seconds=1)", 121), ("@timeout(hours=1.5)", 5400)])
    def test_timeout(self, source, seconds):
        assert on_start("    " + source)[0].timeout_seconds == seconds

    def test_catch_environment_kubernetes_secrets(self):
        step, problems = on_start("""
    @catch(var="failure", print_exception=False)
    @environment(vars={"B": 1, "A": "x", "FLAG": True})
    @kubernetes(image="repo/img:1", namespace="ml", service_account="trainer",
                node_selector="disk=ssd, zone=a", tolerations=[{"key": "gpu", "operator": "Exists"}],
                secrets=["db-creds"])
    @secrets(sources=["api-token", "db-creds"])""")
        assert problems == []
        assert step.catch == Catch("failure", False)
        assert list(step.environment.items()) == [("A", "x"), ("B", "1"), ("FLAG", "true")]
        assert step.kubernetes == Kubernetes("repo/img:1", "ml", "trainer", {"disk": "ssd", "zone": "a"},
                                             ({"key": "gpu", "operator": "Exists"},))
        assert step.secrets == ("api-token", "db-creds")


class TestStepInvalid:
    @pytest.mark.parametrize("source, message", [
        ("@resources(cpu=0)", "@resources: cpu must be positive, got 0 — fix the argument"),
        ("@resources(cpu='lots')", "@resources: cpu 'lots' is not a number of cores; write 2, 0.5 or '500m' — fix the argument"),
        ("@resources(memory='4GB')", "@resources: memory '4GB' is not a size; write MiB as a number (4096) or a quantity ('4Gi', '512Mi') — fix the argument"),
        ("@resources(gpu=0.5)", "@resources: gpu must be a whole number, got 0.5 — fix the argument"),
        ("@resources(ram=4)", "@resources has no argument 'ram' — use one of: cpu, memory, gpu, disk"),
        ("@resources(4)", "@resources takes keyword arguments only — write e.g. @resources(cpu=...)"),
        ("@resources(cpu=compute())", "@resources argument 'cpu' is not a literal value — write a number, string, list or dict (or a module-level constant bound to one)"),
        ("@retry(times=-1)", "@retry: times must be zero or more, got -1 — fix the argument"),
        ("@timeout", "@timeout: the timeout is zero; give seconds=, minutes= or hours= a positive value — fix the argument"),
        ("@catch(var='not valid')", "@catch: var must be an attribute name such as 'error', got 'not valid' — fix the argument"),
        ("@environment(vars={'1X': 'a'})", "@environment: environment variable name '1X' is invalid; use letters, digits and '_' — fix the argument"),
        ("@environment(vars={'X': [1]})", "@environment: environment variable X must be a string or number, got [1] — fix the argument"),
        ("@kubernetes(namespace='ML_Team')", "@kubernetes: namespace 'ML_Team' is not a valid Kubernetes name (lowercase letters, digits, '-') — fix the argument"),
        ("@kubernetes(tolerations=[{'kee': 'x'}])", "@kubernetes: toleration keys ['kee'] are unknown; use ['effect', 'key', 'operator', 'tolerationSeconds', 'value'] — fix the argument"),
        ("@kubernetes(node_selector='a=b,c')", "@kubernetes: node_selector 'a=b,c' is not of the form 'key=value,key2=value2' — fix the argument"),
        ("@secrets(sources=[{'type': 'aws'}])", "@secrets: only Kubernetes Secret names are supported as sources, e.g. sources=['db-credentials'] — fix the argument"),
        ("@batch", "@batch is not a decorator flowship supports on step 'start' — remove it, or use one of: @resources, @retry, @timeout, @catch, @environment, @kubernetes, @secrets, @parallel, @card, @pypi, @conda"),
        ("@retry\n    @retry", "@retry appears twice on step 'start' — keep one"),
    ])
    def test_message(self, source, message):
        _, problems = on_start("    " + source)
        assert [p.split(": ", 1)[1] for p in problems] == [message]


class TestFlowDecorators:
    @pytest.mark.parametrize("source, expected", [
        ("@schedule", ScheduleIR("0 0 * * *", None, "daily")),
        ("@schedule(hourly=True)", ScheduleIR("0 * * * *", None, "hourly")),
        ("@schedule(weekly=True, timezone='Europe/Paris')", ScheduleIR("0 0 * * 0", "Europe/Paris", "weekly")),
        ("@schedule(cron='30 2 * * 1-5', timezone='UTC')", ScheduleIR("30 2 * * 1-5", "UTC", None)),
    ])
    def test_schedule(self, source, expected):
        ir, problems = on_flow(source)
        assert (ir.schedule, problems) == (expected, [])

    def test_project(self):
        assert on_flow("@project(name='recsys')")[0].project == ProjectIR("recsys")

    @pytest.mark.parametrize("source, message", [
        ("@schedule(daily='yes')", "@schedule: hourly=, daily= and weekly= take True or False; set one of them to True, or give cron='...' — fix the argument"),
        ("@schedule(cron='0 9 * * 7')", "@schedule: 7 is outside 0-6 in the day-of-week field (Sunday is 0; Argo rejects 7) — fix the argument"),
        ("@schedule(timezone='Nowhere/Land')", "@schedule: 'Nowhere/Land' is not a known IANA timezone (e.g. 'UTC', 'Europe/Paris') — fix the argument"),
        ("@project(name='RecSys')", "@project: name 'RecSys' is not a valid project name; use up to 40 lowercase letters, digits and '_', starting with a letter — fix the argument"),
        ("@project", "@project: name None is not a valid project name; use up to 40 lowercase letters, digits and '_', starting with a letter — fix the argument"),
        ("@card", "@card is not a decorator flowship supports on a flow — remove it, or use one of: @schedule, @project, @pypi_base, @conda_base, @trigger, @trigger_on_finish"),
    ])
    def test_message(self, source, message):
        _, problems = on_flow(source)
        assert [p.split(": ", 1)[1] for p in problems] == [message]
