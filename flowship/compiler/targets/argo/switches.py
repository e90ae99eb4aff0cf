"""How a switch becomes Argo: ``depends`` and ``when`` on the tasks after it, and loops as templates that call
themselves.

A switch task writes the step it picked to its output ``switch``. Each task
whose parents a switch may have skipped waits for all of them to finish in
any way and runs only if one succeeded (Argo omits it otherwise, and so what
follows only from it); after the switch itself, it runs only if the switch
picked it (a false ``when``: Argo skips it). A loop is a steps template that
runs one repetition and calls itself for the next while the repetition picks
the step again, its output ``switch`` the step the last repetition left to;
each call nests one template deeper, and Argo's controller
fails a workflow nested :data:`MAX_NESTING` deep, so the task refuses the
repetition that would reach it (``--max-repetitions``).
"""

from __future__ import annotations

from typing import Any

from flowship.compiler.ir import StepIR

__all__ = ["MAX_NESTING", "task_conditions", "loop_template", "max_repetitions"]

# controller.go maxAllowedStackDepth: a template call nested this deep errors the workflow.
MAX_NESTING = 100


def _picks(step: StepIR) -> bool:
    """Whether a step's task says which of its targets runs next (its output ``switch``): a switch's, a loop's
    too (the step its last repetition left to)."""
    return step.transition == "switch"


def task_conditions(step: StepIR, parents: list[tuple[str, StepIR]]) -> dict[str, str]:
    """``depends`` (and ``when``) of ``step``'s task; ``parents``: (task, step) of what it waits for."""
    if not parents:
        return {}
    if not any(parent.conditional or _picks(parent) for _, parent in parents):
        return {"depends": " && ".join(name for name, _ in parents)}
    if len(parents) == 1:
        depends = f"{parents[0][0]}.Succeeded"
    else:
        finished = [f"({name}.Succeeded || {name}.Skipped || {name}.Omitted)" for name, _ in parents]
        depends = " && ".join(finished) + f" && ({' || '.join(f'{name}.Succeeded' for name, _ in parents)})"
    if not any(_picks(parent) for _, parent in parents):
        return {"depends": depends}
    taken = [
        f"'{{{{tasks.{name}.outputs.parameters.switch}}}}' == '{step.name}'"
        if _picks(parent)
        else f"'{{{{tasks.{name}.status}}}}' == 'Succeeded'"
        for name, parent in parents
    ]
    return {"depends": depends, "when": " || ".join(taken)}


def max_repetitions(step: StepIR) -> int:
    """Repetition n of a loop runs n levels below its DAG's task, which is one level below each enclosing
    foreach's DAG, below ``main``: the most repetitions that stay above :data:`MAX_NESTING`."""
    return MAX_NESTING - 3 - step.foreach_depth


def loop_template(name: str, step: StepIR, container: str) -> dict[str, Any]:
    """The steps template ``name`` running ``step``'s repetitions with the container template ``container``."""
    repetition = "{{inputs.parameters.task-id}}.{{inputs.parameters.index}}"
    run = {
        "name": "run",
        "template": container,
        "arguments": {"parameters": [{"name": "step", "value": step.name}, {"name": "task-id", "value": repetition}]},
    }
    again = {
        "name": "again",
        "template": name,
        "when": f"'{{{{steps.run.outputs.parameters.switch}}}}' == '{step.name}'",
        "arguments": {
            "parameters": [
                {"name": "task-id", "value": "{{inputs.parameters.task-id}}"},
                {"name": "index", "value": "{{=sprig.add(inputs.parameters.index, 1)}}"},
            ]
        },
    }
    inputs = {"parameters": [{"name": "task-id"}, {"name": "index", "default": "0"}]}
    # the step the last repetition left to: this one's pick, or the next call's (Argo's conditional-parameters
    # example reads a steps template's output the same way); a skipped loop's reads as "", as a switch's does
    left_to = (
        "steps.again.status == 'Skipped' ? steps.run.outputs.parameters.switch : steps.again.outputs.parameters.switch"
    )
    outputs = {"parameters": [{"name": "switch", "valueFrom": {"expression": left_to, "default": ""}}]}
    return {"name": name, "inputs": inputs, "steps": [[run], [again]], "outputs": outputs}
