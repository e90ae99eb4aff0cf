"""Every IR feature × every target × every mode is mapped, honoured in the task, or reported — never dropped.

The table below gives, for each feature, a flow that uses it and a baseline
that differs only there. A target that says MAPPED must produce different
output for the two (and report nothing); one that says it cannot honour the
feature must report it, naming the feature, the step or parameter, and the
target, at the right severity.
"""

from __future__ import annotations

import ast
import dataclasses
import tokenize
import typing

import pytest

from conftest import REPO, check, two_step_flow
from flowship.compiler import ir as ir_module
from flowship.compiler.features import FEATURES, STRUCTURE_FIELDS
from flowship.compiler.targets import get_target, target_names
from flowship.compiler.targets.base import ALWAYS, IN_TASK, MAPPED, Unsupported
from flowship.compiler.targets.shared import DeployOptions
from flowship.deploy.naming import deployment_for

# feature key -> (where it goes, baseline text, sample text)
#   "step": decorators on `start`; "member": a class member; "flow": a class decorator
SAMPLES = {
    "step.decorators.resources.cpu_millicores": ("step", "@resources(cpu=1)", "@resources(cpu=2)"),
    "step.decorators.resources.memory_mib": ("step", "@resources(memory=512)", "@resources(memory=1024)"),
    "step.decorators.resources.gpu": ("step", "@resources()", "@resources(gpu=1)"),
    "step.decorators.resources.disk_mib": ("step", "@resources()", "@resources(disk=2048)"),
    "step.decorators.retry.times": ("step", "@retry(times=1)", "@retry(times=2)"),
    "step.decorators.retry.minutes_between_retries": ("step", "@retry(minutes_between_retries=1)",
                                                      "@retry(minutes_between_retries=3)"),
    "step.decorators.timeout_seconds": ("step", "", "@timeout(seconds=10)"),
    "step.decorators.catch.var": ("step", "@catch", "@catch(var='failure')"),
    "step.decorators.catch.print_exception": ("step", "@catch(print_exception=True)", "@catch(print_exception=False)"),
    "step.decorators.environment": ("step", "", "@environment(vars={'MODE': 'fast'})"),
    "step.decorators.kubernetes": ("step", "", "@kubernetes"),
    "step.decorators.kubernetes.image": ("step", "", "@kubernetes(image='repo/train:1')"),
    "step.decorators.kubernetes.namespace": ("step", "", "@kubernetes(namespace='other')"),
    "step.decorators.kubernetes.service_account": ("step", "", "@kubernetes(service_account='trainer')"),
    "step.decorators.kubernetes.node_selector": ("step", "", "@kubernetes(node_selector={'pool': 'gpu'})"),
    "step.decorators.kubernetes.tolerations": ("step", "", "@kubernetes(tolerations=[{'key': 'gpu'}])"),
    "step.decorators.secrets": ("step", "", "@secrets(sources=['db-creds'])"),
    "step.decorators.cards": ("step", "", "@card(type='blank')"),
    "step.decorators.python_env.packages": ("step", "@pypi", "@pypi(packages={'six': '1.16.0'})"),
    "step.decorators.python_env.python": ("step", "@pypi", "@pypi(python='3.11')"),
    "parameter.type=str": ("member", "", "p = Parameter('p', default='a')"),
    "parameter.type=int": ("member", "", "p = Parameter('p', default=1)"),
    "parameter.type=float": ("member", "", "p = Parameter('p', default=1.5)"),
    "parameter.type=bool": ("member", "", "p = Parameter('p', default=True)"),
    "parameter.type=json": ("member", "", "p = Parameter('p', type=JSONType, default='{\"a\": 1}')"),
    "parameter.type=file": ("member", "", "p = IncludeFile('p', default='notes.txt')"),
    "parameter.default": ("member", "p = Parameter('p', type=str)", "p = Parameter('p', default='a')"),
    "parameter.required=True": ("member", "p = Parameter('p', type=str)", "p = Parameter('p', type=str, required=True)"),
    "parameter.help": ("member", "p = Parameter('p', default='a')", "p = Parameter('p', default='a', help='the p')"),
    "parameter.is_text": ("member", "p = IncludeFile('p', default='x')", "p = IncludeFile('p', default='x', is_text=False)"),
    "parameter.encoding": ("member", "p = IncludeFile('p', default='x')",
                           "p = IncludeFile('p', default='x', encoding='latin-1')"),
    "parameter.separator": ("member", "p = Parameter('p', default='a,b')",
                            "p = Parameter('p', default='a,b', separator=',')"),
    "parameter.multiple=True": ("member", "p = Parameter('p', default='a')",
                                "p = Parameter('p', default=['a'], multiple=True)"),
    "flow.schedule.cron": ("flow", "@schedule(cron='0 1 * * *')", "@schedule(cron='0 2 * * *')"),
    "flow.schedule.timezone": ("flow", "@schedule(daily=True)", "@schedule(daily=True, timezone='Europe/Paris')"),
    "flow.schedule.preset=hourly": ("flow", "", "@schedule(hourly=True)"),
    "flow.schedule.preset=daily": ("flow", "", "@schedule(daily=True)"),
    "flow.schedule.preset=weekly": ("flow", "", "@schedule(weekly=True)"),
    "flow.project.name": ("flow", "", "@project(name='demo')"),
    "flow.project.gates": ("flow", "@project(name='demo')", "@project(name='demo', gates=['x > 1'])"),
    "flow.triggers.events": ("flow", "@trigger(event='a')", "@trigger(event='b')"),
    "flow.triggers.finishes": ("flow", "@trigger_on_finish(flow='A')", "@trigger_on_finish(flow='B')"),
}
# Transitions are the graph itself: every target compiles every shape, and the runner tests execute them.
# graph shapes: tested by running every shape (tests/compat/test_switch.py, test_parallel.py), not by a sample
TRANSITIONS = {f.key for f in FEATURES if f.path in ("transition", "loops", "foreach_var")}
MODES = [(name, dict(mode)) for name in target_names() for mode in get_target(name).modes]


def _mode_id(case: tuple[str, dict[str, str]]) -> str:
    name, mode = case
    return "-".join([name, *mode.values()])


def _source(where: str, text: str) -> str:
    slot = {"flow": "class_decorators", "member": "members", "step": "start_decorators"}[where]
    return two_step_flow(**{slot: text if where == "flow" else "    " + text})


def _options(mode: dict[str, str], ir: typing.Any = None) -> DeployOptions:
    """As `flow compile` resolves them: the deployment's name and namespace come from @project."""
    options = DeployOptions("s3://bucket/store", "0" * 64, "flow.py", "flowship:test", target_options=mode)
    if ir is None:
        return options
    deployment = deployment_for(ir, branch=None, production=True, user="ada") if ir.project else None
    if deployment is None:
        return options
    return dataclasses.replace(options, name=deployment.name, run_namespace=deployment.namespace,
                               project=deployment.project, branch=deployment.branch)


def _leaf_fields(cls: type, prefix: str) -> set[str]:
    """Every leaf field of an IR record, as ``scope.path``."""
    hints = typing.get_type_hints(cls, vars(ir_module))
    leaves = set()
    for f in dataclasses.fields(cls):
        # a record or an optional record is walked into; a tuple of records (a step's cards) is one feature
        optional = typing.get_origin(hints[f.name]) is not tuple
        inner = [a for a in typing.get_args(hints[f.name]) if a is not type(None)] if optional else []
        inner = inner or [hints[f.name]]
        if dataclasses.is_dataclass(inner[0]) and f"{prefix}.{f.name}" not in STRUCTURE_FIELDS | {"step.decorators"}:
            leaves |= _leaf_fields(inner[0], f"{prefix}.{f.name}")
        elif f"{prefix}.{f.name}" == "step.decorators":
            leaves |= _leaf_fields(inner[0], "step.decorators")
        else:
            leaves.add(f"{prefix}.{f.name}")
    return leaves


class TestTables:
    def test_every_ir_field_is_a_feature_or_structure(self):
        fields = (_leaf_fields(ir_module.StepIR, "step") | _leaf_fields(ir_module.ParameterIR, "parameter")
                  | _leaf_fields(ir_module.FlowIR, "flow") | {"flow.schedule.cron", "flow.schedule.timezone",
                                                              "flow.schedule.preset", "flow.project.name",
                                                              "flow.project.gates"})
        covered = {f"{f.scope}.{f.path}" for f in FEATURES} | STRUCTURE_FIELDS
        assert sorted(fields - covered) == []

    def test_every_feature_has_a_sample(self):
        assert sorted({f.key for f in FEATURES} - TRANSITIONS) == sorted(SAMPLES)

    @pytest.mark.parametrize("case", MODES, ids=_mode_id)
    def test_every_target_says_what_it_does_with_every_feature(self, case):
        name, mode = case
        table = get_target(name).supports(_options(mode))
        assert sorted(table) == sorted(f.key for f in FEATURES)
        assert all(value in (MAPPED, IN_TASK, ALWAYS) or isinstance(value, Unsupported) for value in table.values())


@pytest.mark.parametrize("case", MODES, ids=_mode_id)
@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_feature_is_mapped_honoured_in_the_task_or_reported(case, key):
    name, mode = case
    target = get_target(name)
    where, baseline_text, sample_text = SAMPLES[key]
    sample = check(_source(where, sample_text))
    baseline = check(_source(where, baseline_text))
    assert sample.ir is not None and baseline.ir is not None, (sample.problems, baseline.problems)
    feature = next(f for f in FEATURES if f.key == key)
    options = _options(mode, sample.ir)
    compiled = target.compile(sample.ir, options)
    head, _, args = feature.spelling.partition("(")
    about = [p for p in compiled.problems
             if p.message.split(" on ", 1)[0].startswith(head) and args.rstrip(")") in p.message.split(" on ", 1)[0]]
    support = target.supports(options)[key]
    if isinstance(support, Unsupported):
        assert len(about) == 1, compiled.problems
        assert about[0].severity == support.severity
        assert f"cannot be honoured by {target.label(options)}: {support.reason}" in about[0].message
        assert about[0].line > 0
        return
    assert about == [] and compiled.errors == ()
    if support == MAPPED:
        unchanged = target.compile(baseline.ir, _options(mode, baseline.ir)).text
        assert compiled.text != unchanged, f"{name} says it maps {key} but ignores it"


class TestLocalRuns:
    def test_flow_run_says_what_it_cannot_honour(self):
        from flowship.runtime.launch import LOCAL_SUPPORTS, local_warnings

        assert sorted(LOCAL_SUPPORTS) == sorted(f.key for f in FEATURES)
        flow = check(_source("step", "@secrets(sources=['db'])\n    @kubernetes(image='x/y:1')\n    @resources(cpu=2)"))
        assert [str(p) for p in local_warnings(flow.ir)] == [
            "flow.py:12: warning: @kubernetes(image=) on step 'start' cannot be honoured by flow run: every step runs "
            "as a process on this machine; it takes effect on Argo and Airflow",
            "flow.py:12: warning: @secrets on step 'start' cannot be honoured by flow run: no Kubernetes Secret is "
            "read here, so the step runs without its variables — set them in your environment to run the step locally",
        ]


class TestNoTargetIsNamedOutsideItsModules:
    def test_no_string_names_a_target_outside_its_target_and_provider(self):
        """`if target == "airflow"` anywhere else would mean adding a target touches more than its two modules."""
        names = set(target_names())
        found = []
        for path in sorted((REPO / "flowship").rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if any(relative.startswith(f"flowship/compiler/targets/{n}/") or relative == f"flowship/providers/{n}.py"
                   for n in names):
                continue
            with open(path, "rb") as handle:
                for token in tokenize.tokenize(handle.readline):
                    if token.type == tokenize.STRING and _literal(token.string) in names:
                        found.append(f"{relative}:{token.start[0]}: {token.string}")
        assert found == []


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
