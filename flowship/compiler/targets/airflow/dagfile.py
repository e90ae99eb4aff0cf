"""IR -> the text of one Airflow 3 DAG file per flow, importing only Airflow and its official providers.

Two task modes:

- ``kubernetes``: a KubernetesPodOperator per step runs the step command in a pod;
- ``local``: a PythonOperator per step runs the step command as a process on
  the worker (for Airflows whose workers have flowship and reach the store).

Foreach uses dynamic task mapping over the task ids a foreach task returns
(its XCom). Airflow cannot map inside a mapped task group, so nested foreach
is flattened: the steps of an inner foreach level are mapped over the
concatenated child ids of every outer item (a small task flattens the
lists), and each level waits for the whole previous level — less overlap
between items, the same results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from flowship.compiler.ir import FlowIR, ParameterIR, StepIR
from flowship.compiler.naming import stable_hash
from flowship.compiler.targets.airflow.assets import (
    TRIGGER_JINJA,
    TRIGGER_MACRO,
    asset_schedule,
    finish_outlet,
    trigger_macro_source,
)
from flowship.compiler.targets.airflow.settings import AirflowSettings, read_settings
from flowship.compiler.targets.base import GENERATED_MARKER
from flowship.compiler.targets.shared import DeployOptions, deployed_step, resource_quantities
from flowship.errors import FlowshipError, Problem
from flowship.step_command import TIMEOUT_GRACE_SECONDS, WEBHOOK_VARIABLE, OutcomeCommand

__all__ = ["compile_to_airflow", "airflow_dag_id", "flowship_run_id", "Operator", "shape_problems"]

Operator = Literal["kubernetes", "local"]
XCOM_FILE = "/airflow/xcom/return.json"  # what KubernetesPodOperator reads back as the task's XCom
MAX_SPLITS_MARK = "<max-map-length>"  # a foreach task refuses more items than Airflow can map, before fanning out
_MAX_SPLITS_COMMENT = "# Airflow maps a task over at most [core] max_map_length items; a foreach step checks first."
# Unique per deployment and run: Airflow's run ids repeat across DAGs (scheduled__<date>), so the DAG id is part of it.
RUN_ID_JINJA = "airflow-{{ dag.dag_id }}.{{ run_id | replace(':', '-') | replace('+', '-') | replace('/', '-') }}"
RETRY_JINJA = "{{ ti.try_number - 1 }}"
_PARAM_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
OUTCOME_TASK = "record-outcome"  # no step can be named so: step names are Python identifiers


def airflow_dag_id(ir: FlowIR, options: DeployOptions) -> str:
    return options.name or ir.name


def flowship_run_id(dag_id: str, airflow_run_id: str) -> str:
    """What RUN_ID_JINJA renders to for a DAG run: the flowship run id of an Airflow run."""
    return f"airflow-{dag_id}." + airflow_run_id.replace(":", "-").replace("+", "-").replace("/", "-")


def _jinja_literal(text: str) -> str:
    """Text placed in a templated field is rendered by Jinja: where it holds Jinja syntax, write it as a Jinja string
    literal, which renders to exactly this text whatever it holds (unlike {% raw %}, which {% endraw %} ends)."""
    if not any(t in text for t in ("{{", "{%", "{#")):
        return text
    return "{{ '" + text.encode("unicode_escape").decode("ascii").replace("'", "\\'") + "' }}"


def _param_jinja(parameter: ParameterIR) -> str:
    value = f"params[{parameter.name!r}]"
    shown = f"{value} | tojson" if parameter.text_type == "json" else value
    return f"{{{{ '' if {value} is none else {shown} }}}}"


@dataclass
class _Writer:
    ir: FlowIR
    options: DeployOptions
    operator: Operator
    settings: AirflowSettings
    lines: list[str] = field(default_factory=list)
    uses_flatten: bool = False
    uses_k8s_models: bool = False

    def branch_var(self, step: StepIR) -> str:
        """The variable holding the branch task that follows a switch step (its task id ends in -switch, which
        no step's can: step names are identifiers)."""
        name = f"{step.name}__switch"
        return name if name not in {s.name for s in self.ir.steps} else f"{name}_{stable_hash(step.name)}"

    def children_var(self, step: StepIR) -> str:
        """The variable (and, for a nested foreach, the task id) holding a foreach's child task ids."""
        name = f"{step.name}__children"
        return name if name not in {s.name for s in self.ir.steps} else f"{name}_{stable_hash(step.name)}"

    # --- per-step task ---------------------------------------------------------------

    def level_ids(self, step: StepIR) -> str | None:
        foreaches = [s for s in step.split_stack if self.ir.step(s).transition == "foreach"]
        return self.children_var(self.ir.step(foreaches[-1])) if foreaches else None

    def common_kwargs(self, step: StepIR) -> list[str]:
        d = step.decorators
        kwargs = []
        if len(step.parents) > 1 and any(
            self.ir.step(p).conditional or self.ir.step(p).switch_cases for p in step.parents
        ):
            # after a switch's branches (or a split with a switch inside): every parent done, none failed, one ran
            kwargs.append("trigger_rule='none_failed_min_one_success'")
        if d.retry:
            kwargs.append(f"retries={d.retry.times}")
            kwargs.append(f"retry_delay=timedelta(seconds={int(d.retry.minutes_between_retries * 60)})")
        if d.timeout_seconds:
            kwargs.append(f"execution_timeout=timedelta(seconds={d.timeout_seconds + TIMEOUT_GRACE_SECONDS})")
        if step.transition == "end":  # a finished run is an asset event: what @trigger_on_finish downstreams wait for
            kwargs.append(f"outlets={finish_outlet(self.ir, self.options)}")
        kwargs += [f"{keyword}={value!r}" for keyword, value in self.settings.task.items()]
        if d.cards:
            kwargs.append(f"doc_md={self.card_doc(step)!r}")
        return kwargs

    def card_doc(self, step: StepIR) -> str:
        """Where the step's cards are, in the task's docs (Airflow shows ``doc_md`` on the task's page): an extra
        link would need an Airflow plugin, and the cards live in the flowship store, not in Airflow."""
        cards = ", ".join(c.type + (f" (id `{c.id}`)" if c.id else "") for c in step.decorators.cards)
        store = self.options.datastore
        return (
            f"**Cards**: {cards}, written by each task of this step into the flowship store `{store}`.\n\n"
            f"Open one: `flow card view {self.ir.name}/RUN/{step.name}/TASK --datastore {store}` "
            "(`flow card get ... -o card.html` saves it; `flow card list` lists a run's cards), where RUN is "
            "`airflow-<DAG id>.<Airflow run id>` with `:`, `+` and `/` written as `-`, and TASK is `0` "
            "outside a foreach (the map index path inside one)."
        )

    def kubernetes_kwargs(self, step: StepIR, mapped: bool) -> list[str]:
        d = step.decorators
        k = d.kubernetes
        image = k.image if k and k.image else self.options.image
        params = [(p.name, _param_jinja(p)) for p in self.ir.parameters] if step.name == "start" else None
        argv = deployed_step(
            self.ir,
            self.options,
            step=step.name,
            run_id=RUN_ID_JINJA,
            task_id=None if mapped else "0",
            retry_count=RETRY_JINJA,
            splits_file=XCOM_FILE if step.transition == "foreach" else None,
            params=params,
            max_splits=MAX_SPLITS_MARK if step.transition == "foreach" else None,
            switch_file=XCOM_FILE if step.transition == "switch" else None,
            trigger_base64=(TRIGGER_JINJA,),
            environment=self.options.environments.get(step.name),
        ).to_argv()
        constants = {**_argument_constants(self.ir, self.options), f"--max-splits={MAX_SPLITS_MARK}": "MAX_SPLITS"}
        ours = set(argv[len(argv) - len(params) :]) if params else set()  # parameter tokens: Jinja Airflow renders
        ours.add(f"--trigger-base64={TRIGGER_JINJA}")
        arguments = ", ".join(constants.get(a) or repr(a if a in ours else _jinja_literal(a)) for a in argv[1:])
        kwargs = [
            f"task_id={step.name!r}",
            f"name={step.k8s_name!r}",
            f"image={_jinja_literal(image)!r}",
            f"cmds={argv[:1]!r}",
            f"arguments=[{arguments}]",
        ]
        namespace = (k.namespace if k and k.namespace else None) or self.options.namespace
        if namespace:
            kwargs.append(f"namespace={namespace!r}")
        service_account = (k.service_account if k and k.service_account else None) or self.options.service_account
        if service_account:
            kwargs.append(f"service_account_name={service_account!r}")
        if k and k.node_selector:
            kwargs.append(f"node_selector={dict(k.node_selector)!r}")
        if k and k.tolerations:
            self.uses_k8s_models = True
            kwargs.append("tolerations=[" + ", ".join(f"k8s.V1Toleration(**{dict(t)!r})" for t in k.tolerations) + "]")
        requests, limits = resource_quantities(d.resources)
        if requests:
            self.uses_k8s_models = True
            kwargs.append(f"container_resources=k8s.V1ResourceRequirements(requests={requests!r}, limits={limits!r})")
        secrets = dict.fromkeys((*d.secrets, *self.settings.secrets))
        if secrets:
            kwargs.append("secrets=[" + ", ".join(f"Secret('env', None, {s!r})" for s in secrets) + "]")
        if not mapped:  # @environment is set by the task itself: Airflow renders env_vars, mapped ones too
            kwargs.append("env_vars=TASK_ENV")
        kwargs += [f"{keyword}={value!r}" for keyword, value in self.settings.connection.items()]
        kwargs.append(f"do_xcom_push={step.transition in ('foreach', 'switch')}")
        kwargs += ["get_logs=True", "on_finish_action='delete_pod'"]
        return kwargs + self.common_kwargs(step)

    def task(self, step: StepIR) -> None:
        ids = self.level_ids(step)
        var = step.name
        if self.operator == "kubernetes":
            kwargs = self.kubernetes_kwargs(step, mapped=ids is not None)
            if ids is None:
                self.emit_call(var, "KubernetesPodOperator(", kwargs, ")")
            else:
                self.emit_call(
                    var, "KubernetesPodOperator.partial(", kwargs, f").expand(env_vars={ids}.map(_environment))"
                )
        else:
            kwargs = [f"task_id={step.name!r}", "python_callable=_run_step"] + self.common_kwargs(step)
            if ids is None:
                trigger = f", 'trigger': {TRIGGER_JINJA!r}" if step.name == "start" and self.ir.triggers else ""
                op_kwargs = f"op_kwargs={{'step': {step.name!r}, 'task_id': '0'{trigger}}}"
                self.emit_call(var, "PythonOperator(", kwargs + [op_kwargs], ")")
            else:
                self.emit_call(
                    var,
                    "PythonOperator.partial(",
                    kwargs,
                    f").expand(op_kwargs={ids}.map(_step_kwargs({step.name!r})))",
                )
        if step.transition == "switch":
            self.lines.append(
                f"    {self.branch_var(step)} = BranchPythonOperator(task_id={step.name + '-switch'!r}, "
                f"python_callable=_picked, op_kwargs={{'step': {step.name!r}}})"
            )
        if step.transition == "foreach":
            source = f"{var}.output"
            if ids is not None:  # a mapped foreach: its instances' id lists, joined into one
                self.uses_flatten = True
                self.lines.append(
                    f"    {self.children_var(step)} = _flatten.override(task_id={self.children_var(step)!r})({source})"
                )
            else:
                self.lines.append(f"    {self.children_var(step)} = {source}")

    def emit_call(self, var: str, opening: str, kwargs: list[str], closing: str) -> None:
        self.lines.append(f"    {var} = {opening}")
        self.lines += [f"        {k}," for k in kwargs]
        self.lines.append(f"    {closing}")

    def outcome_task(self) -> None:
        """A teardown after every step, whatever they did: ``flow record-outcome`` records how the run ended (and
        notifies the webhook of a failure). Airflow leaves teardowns out of the DAG run's state."""
        var = "record_outcome__" if "record_outcome__" not in {s.name for s in self.ir.steps} else "record_outcome___"
        self.lines.append("")
        common = [f"{keyword}={value!r}" for keyword, value in self.settings.task.items()]
        if self.operator == "local":
            kwargs = [f"task_id={OUTCOME_TASK!r}", "python_callable=_record_outcome", *common]
            self.emit_call(var, "PythonOperator(", kwargs, ").as_teardown()")
        else:
            # as the start step runs (its image and service account), with every Secret any step gets
            start = self.ir.step("start").decorators.kubernetes
            argv = OutcomeCommand(self.ir.name, RUN_ID_JINJA, self.options.datastore).to_argv()
            constants = _argument_constants(self.ir, self.options)
            arguments = ", ".join(constants.get(a) or repr(_jinja_literal(a)) for a in argv[1:])
            image = self.options.image or (start.image if start else None) or ""
            kwargs = [
                f"task_id={OUTCOME_TASK!r}",
                f"name={OUTCOME_TASK!r}",
                f"image={_jinja_literal(image)!r}",
                f"cmds={argv[:1]!r}",
                f"arguments=[{arguments}]",
            ]
            if self.options.namespace:
                kwargs.append(f"namespace={self.options.namespace!r}")
            service_account = (start.service_account if start else None) or self.options.service_account
            if service_account:
                kwargs.append(f"service_account_name={service_account!r}")
            every = dict.fromkeys(
                (*(s for step in self.ir.steps for s in step.decorators.secrets), *self.settings.secrets)
            )
            secrets = [f"Secret('env', None, {s!r})" for s in every]
            if self.settings.failure_webhook:
                secret, key = self.settings.failure_webhook
                secrets.append(f"Secret('env', {WEBHOOK_VARIABLE!r}, {secret!r}, {key!r})")
            if secrets:
                kwargs.append(f"secrets=[{', '.join(secrets)}]")
            kwargs.append("env_vars=TASK_ENV")
            kwargs += [f"{keyword}={value!r}" for keyword, value in self.settings.connection.items()]
            kwargs += ["do_xcom_push=False", "get_logs=True", "on_finish_action='delete_pod'", *common]
            self.emit_call(var, "KubernetesPodOperator(", kwargs, ").as_teardown()")
        self.lines.append(f"    [{', '.join(s.name for s in self.ir.steps)}] >> {var}")

    def edges(self) -> None:
        self.lines.append("")
        for step in self.ir.steps:
            if step.transition == "switch":
                self.lines.append(f"    {step.name} >> {self.branch_var(step)}")
            for parent in step.parents:
                source = self.branch_var(self.ir.step(parent)) if self.ir.step(parent).switch_cases else parent
                self.lines.append(f"    {source} >> {step.name}")


def _argument_constants(ir: FlowIR, options: DeployOptions) -> dict[str, str]:
    """Step-command tokens every KubernetesPodOperator repeats, named once at the top of the DAG file."""
    argv = deployed_step(ir, options, step="", run_id=RUN_ID_JINJA, task_id=None, retry_count=RETRY_JINJA).to_argv()
    names = {RUN_ID_JINJA: "RUN_ID", RETRY_JINJA: "RETRY", options.datastore: "DATASTORE"}
    if options.package_sha:
        names[options.package_sha] = "PACKAGE"
    return {token: name for token in argv for value, name in names.items() if token.endswith("=" + value)}


def _params_block(ir: FlowIR) -> list[str]:
    lines = ["    params={"]
    for p in ir.parameters:
        default = None if p.default is None else p.default
        kind = "array" if p.multiple else _PARAM_TYPES.get(p.type)
        args = [repr(default) if not p.required else "None"]
        if kind and p.required:
            args.append(f"type={kind!r}")
        elif kind:
            args.append(f"type={[kind, 'null']!r}" if default is None else f"type={kind!r}")
        if p.help:
            args.append(f"description={p.help!r}")
        lines.append(f"        {p.name!r}: Param({', '.join(args)}),")
    lines.append("    },")
    return lines


_LOCAL_HELPERS = '''
def _command(kind: str, step: str, task_id: str, splits_file: str, context: dict, trigger: str = "") -> list[str]:
    """The flowship step command for one task, its placeholders filled in from the Airflow context."""
    values = {"<step>": step, "<task-id>": task_id, "<splits-file>": splits_file, "<trigger>": trigger,
              "<environment>": ENVIRONMENTS.get(step, ""),
              "<max-map-length>": str(conf.getint("core", "max_map_length")),
              "<run-id>": "airflow-" + context["dag"].dag_id + "."
              + context["run_id"].replace(":", "-").replace("+", "-").replace("/", "-"),
              "<retry>": str(context["ti"].try_number - 1)}
    for name, kind_of_value in PARAMETER_TYPES.items():
        value = context["params"].get(name)
        text = json.dumps(value) if kind_of_value == "json" else str(value)
        values[f"<param:{name}>"] = "" if value is None else text
    # One pass: a value put in is never searched for placeholders again.
    argv = [PLACEHOLDER.sub(lambda found: values[found.group(0)], token) for token in COMMANDS[kind]]
    argv = [token for token in argv if token != "--environment="]  # a step without an environment of its own
    return [sys.executable, "-m", "flowship", *argv[1:]]


def _run_step(step: str, task_id: str, trigger: str = "", **context):
    """Run one step as a process on this worker (no shell); a foreach returns its children's task ids, a switch
    the step it picked. ``trigger``: for the start task of a triggered flow, the events that started the run."""
    shape = "foreach" if step in FOREACH_STEPS else "switch" if step in SWITCH_STEPS else "step"
    kind = ("start-" if step == "start" else "") + shape
    with tempfile.TemporaryDirectory() as scratch:
        output = os.path.join(scratch, "output.json")
        argv = _command(kind, step, task_id, output, context, trigger)
        subprocess.run(argv, check=True, env={**os.environ, **TASK_ENV})
        if shape != "step":
            with open(output, encoding="utf-8") as handle:
                return json.load(handle)
    return None


def _record_outcome(**context):
    """After every other task, whatever they did: record how the run ended (flow record-outcome)."""
    subprocess.run(_command("outcome", "", "", "", context), check=True, env={**os.environ, **TASK_ENV})


def _step_kwargs(step: str):
    return lambda task_id: {"step": step, "task_id": task_id}
'''

_KUBERNETES_HELPERS = """
def _environment(task_id: str) -> dict:
    return {**TASK_ENV, "FLOWSHIP_TASK_ID": task_id}
"""

_PICKED_HELPER = '''
def _picked(step: str, ti):
    """After a switch step: the step it picked (its return value), the one branch Airflow runs."""
    return ti.xcom_pull(task_ids=step)
'''

_FLATTEN_HELPER = '''
@task
def _flatten(nested) -> list:
    """Nested foreach: the child task ids of every mapped foreach task, as one list."""
    return [task_id for ids in nested for task_id in ids]
'''


def _local_commands(ir: FlowIR, options: DeployOptions) -> dict[str, list[str]]:
    params = [(p.name, f"<param:{p.name}>") for p in ir.parameters]
    commands = {}
    for kind in ("step", "foreach", "switch", "start-step", "start-foreach", "start-switch"):
        commands[kind] = deployed_step(
            ir,
            options,
            step="<step>",
            run_id="<run-id>",
            task_id="<task-id>",
            retry_count="<retry>",
            splits_file="<splits-file>" if kind.endswith("foreach") else None,
            params=params if kind.startswith("start") else None,
            max_splits=MAX_SPLITS_MARK if kind.endswith("foreach") else None,
            switch_file="<splits-file>" if kind.endswith("switch") else None,
            trigger_base64=("<trigger>",),
            environment="<environment>" if options.environments else None,
        ).to_argv()
    commands["outcome"] = OutcomeCommand(ir.name, "<run-id>", options.datastore).to_argv()
    return commands


def _tags(ir: FlowIR, options: DeployOptions) -> list[str]:
    tags = ["flowship", f"flow:{ir.name}"]
    if options.run_namespace:
        tags.append(f"namespace:{options.run_namespace}")
    if options.promoted_from:
        tags.append(f"promoted-from:{options.promoted_from}")
    return tags


def shape_problems(ir: FlowIR) -> list[Problem]:
    """Graph shapes a DAG file cannot carry: a switch inside a foreach, whose targets are mapped tasks that a
    branch skips for every item or none."""
    return [
        Problem(
            ir.file,
            step.line,
            f"the switch in step '{step.name}' is inside a foreach, and Airflow skips a mapped task for all of its "
            "items or none",
            "move the switch before the foreach, or run the flow on Argo or with flow run",
        )
        for step in ir.steps
        if step.transition == "switch" and step.foreach_depth
    ]


def compile_to_airflow(ir: FlowIR, options: DeployOptions, operator: Operator = "kubernetes") -> str:
    """The text of the DAG file."""
    settings = read_settings(options.target_options)
    problems = shape_problems(ir)
    if problems:
        raise FlowshipError(str(problems[0]))
    switches = [s for s in ir.steps if s.transition == "switch"]
    writer = _Writer(ir, options, operator, settings)
    for step in ir.steps:
        writer.task(step)
    writer.edges()
    writer.outcome_task()
    dag_id = airflow_dag_id(ir, options)
    schedule = "None"
    if ir.schedule:
        schedule = f"CronTriggerTimetable({ir.schedule.cron!r}, timezone={(ir.schedule.timezone or 'UTC')!r})"
    assets = asset_schedule(ir, options, schedule if ir.schedule else None)
    schedule = assets.expression if assets else schedule
    imports = ["from __future__ import annotations", ""]
    modules = ["base64", "json"] if assets else []
    if operator == "local":
        modules += ["json", "os", "re", "subprocess", "sys", "tempfile"]
    imports += [f"import {module}" for module in sorted(set(modules))]
    imports += ["from datetime import timedelta", "", "import pendulum"]
    sdk = (
        ["Asset", "DAG", "Param"]
        + [name for name in (assets.imports if assets else ()) if name != "Asset"]
        + (["CronTriggerTimetable"] if ir.schedule else [])
        + (["task"] if writer.uses_flatten else [])
    )
    imports.append(f"from airflow.sdk import {', '.join(sdk)}")
    imports.append("from airflow.configuration import conf")
    python_operators = (["BranchPythonOperator"] if switches else []) + (
        ["PythonOperator"] if operator == "local" else []
    )
    if python_operators:
        imports.append(f"from airflow.providers.standard.operators.python import {', '.join(python_operators)}")
    if operator == "kubernetes":
        imports.append("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator")
        if settings.secrets or settings.failure_webhook or any(s.decorators.secrets for s in ir.steps):
            imports.append("from airflow.providers.cncf.kubernetes.secret import Secret")
        if writer.uses_k8s_models:
            imports.append("from kubernetes.client import models as k8s")
    mode = "a pod per task (KubernetesPodOperator)" if operator == "kubernetes" else "a process per task on the worker"
    code = f"code package {options.package_sha}" if options.package_sha else "the code in the image"
    # Only the flow's name (an identifier) goes into the docstring; other text is repr()'d into comments, so no
    # file name or store URL can end the docstring or a line.
    header = [
        f'"""{ir.name} as an Airflow DAG: {GENERATED_MARKER}; do not edit."""',
        f"# flow file: {options.flow_path!r}; regenerate with flow compile --target airflow --operator {operator}",
        f"# each task runs one step of the flow with the flowship step command, {mode},",
        f"# from {code}, with the store {options.datastore!r}",
    ]
    task_env = {"FLOWSHIP_USER": "airflow", **settings.env}
    body = ["", *imports, "", f"TASK_ENV = {task_env!r}  # every task's environment"]
    if operator == "local":
        commands = _local_commands(ir, options)
        body.append("COMMANDS = {")
        body += [f"    {kind!r}: {commands[kind]!r}," for kind in sorted(commands)]
        body.append("}")
        body.append(f"PARAMETER_TYPES = {json.dumps({p.name: p.text_type for p in ir.parameters}, sort_keys=True)}")
        body.append(f"FOREACH_STEPS = {sorted(s.name for s in ir.steps if s.transition == 'foreach')!r}")
        body.append(f"SWITCH_STEPS = {sorted(s.name for s in ir.steps if s.transition == 'switch')!r}")
        body.append(f"ENVIRONMENTS = {dict(sorted(options.environments.items()))!r}  # step -> @pypi/@conda env")
        markers = "step|task-id|splits-file|run-id|retry|max-map-length|trigger|environment|param:[A-Za-z0-9_-]+"
        body.append(f'PLACEHOLDER = re.compile(r"<(?:{markers})>")')
        body.append(_LOCAL_HELPERS)
    else:
        body += [
            "# Rendered by Airflow for each task: the run's id as a flowship run id, and the attempt (0 first).",
            *(
                f"{name} = {(_jinja_literal(token) if name == 'DATASTORE' else token)!r}"
                for token, name in _argument_constants(ir, options).items()
            ),
            _MAX_SPLITS_COMMENT,
            "MAX_SPLITS = f\"--max-splits={conf.getint('core', 'max_map_length')}\"",
            _KUBERNETES_HELPERS,
        ]
    if switches:
        body.append(_PICKED_HELPER)
    if writer.uses_flatten:
        body.append(_FLATTEN_HELPER)
    if assets:
        body += trigger_macro_source(assets)
    body += [
        "",
        "with DAG(",
        f"    dag_id={dag_id!r},",
        f"    schedule={schedule},",
        "    start_date=pendulum.datetime(2025, 1, 1, tz='UTC'),",
        "    catchup=False,",
        "    max_active_runs=1,",
        *(
            [f"    dagrun_timeout=timedelta(seconds={settings.run_timeout_seconds}),"]
            if settings.run_timeout_seconds
            else []
        ),
        *([f"    max_active_tasks={settings.max_active_tasks},"] if settings.max_active_tasks else []),
        f"    tags={_tags(ir, options)!r},",
        *([f"    user_defined_macros={{{TRIGGER_MACRO!r}: {TRIGGER_MACRO}}},"] if assets else []),
        *_params_block(ir),
        ") as dag:",
        *writer.lines,
    ]
    return "\n".join(header + body) + "\n"
