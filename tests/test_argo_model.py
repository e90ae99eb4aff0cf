"""The tests' model of Argo and the kubelet says what their source says: one behaviour per line.

Each case restates a fact read from Argo v4's ``util/template``,
``controller/dag.go`` and Kubernetes' ``expansion`` package (see the modules'
docstrings); a model that drifted from them would let a manifest pass here and
fail on a cluster.
"""

from __future__ import annotations

import base64
import json
import sys

import pytest
from argo.depends import DependsError, dependencies, evaluate_depends
from argo.kubelet import container_environment, expand
from argo.runner import ArgoRunError, ArgoRunner
from argo.substitution import ArgoTemplateError, go_quote, substitute_json, substitute_text
from argo.when import WhenError, evaluate_when

GLOBALS = {"workflow.name": "wf-1", "workflow.parameters.msg": "hi {{workflow.name}}",
           "workflow.parameters.my-param": "dashed", "workflow.parameters": "[]"}


class TestSubstitutionValid:
    @pytest.mark.parametrize("text, scope, expected", [
        ("{{workflow.name}}", GLOBALS, "wf-1"),
        ("{{ workflow.name }}", GLOBALS, "wf-1"),  # spaces inside a simple tag are trimmed
        ("{{ =workflow.name}}", GLOBALS, "{{ =workflow.name}}"),  # '=' must follow the braces at once
        ("{{inputs.parameters.x}}", GLOBALS, "{{inputs.parameters.x}}"),  # unresolved: left for a later pass
        ("{{workflow.parameters.msg}}", GLOBALS, "hi {{workflow.name}}"),  # inserted text is not read again...
        ("{{=workflow.parameters['my-param']}}", GLOBALS, "dashed"),  # dashed names through ['...']
        ("{{=toBase64(workflow.parameters.msg)}}", GLOBALS, base64.b64encode(b"hi {{workflow.name}}").decode()),
        ("{{=toBase64(inputs.parameters['x'])}}", GLOBALS, "{{=toBase64(inputs.parameters['x'])}}"),  # later
        ("{{=sprig.trunc(2, workflow.name)}}", GLOBALS, "wf"),
        ("{{=sprig.add(workflow.parameters['n'], 1)}}", {"workflow.parameters.n": "4"}, "5"),  # text as a number
        ("{{=workflow.name == 'wf-1' ? 'yes' : workflow.missing}}", GLOBALS, "yes"),  # only the branch taken
        ("a}}b", GLOBALS, "a}}b"),
        ("x {{a{{workflow.name}}", GLOBALS, "x {{awf-1"),  # a nested tag: the outer one stays open
        ("x {{a{{b}}", GLOBALS, "x {{a{{b}}"),  # neither resolves: written back
    ])
    def test_one_pass(self, text, scope, expected):
        assert json.loads(substitute_text(json.dumps(text), scope)) == expected

    def test_every_later_pass_reads_the_one_before(self):
        once = substitute_json({"arg": "{{workflow.parameters.msg}}"}, GLOBALS)
        assert substitute_json(once, GLOBALS) == {"arg": "hi wf-1"}

    @pytest.mark.parametrize("value, quoted", [
        ('say "hi"\n', 'say \\"hi\\"\\n'), ("naïve 🚀", "naïve 🚀"), ("\x01", "\\x01"), ("\a", "\\a"),
        ("\u00a0", "\\u00a0"), ("\U000E0001", "\\U000e0001"),
    ])
    def test_simple_values_are_written_as_go_quotes_them(self, value, quoted):
        assert go_quote(value) == quoted


class TestSubstitutionInvalid:
    @pytest.mark.parametrize("value, message", [
        ("ring \a", "invalid JSON"), ("\x01", "invalid JSON"), ("\U000E0001", "invalid JSON"),
    ])
    def test_a_value_go_quotes_into_invalid_json_fails_the_pass(self, value, message):
        with pytest.raises(ArgoTemplateError, match=message):
            substitute_json({"arg": "{{workflow.parameters.v}}"}, {"workflow.parameters.v": value})

    @pytest.mark.parametrize("text, strictness, message", [
        ("see {{ name", "allow", "Cannot find end tag"),
        ("{{=}}", "allow", "unexpected end of input"),  # a parse error fails even a pass that allows unresolved
        ("{{=1 +}}", "allow", "unexpected token"),
        ("{{inputs.parameters.x}}", "strict", r"failed to resolve \{\{inputs.parameters.x\}\}"),
        ("{{tasks.a.outputs.parameters.b}}", "strict-tasks", "failed to resolve"),
        ("{{=inputs.parameters.x}}", "strict", "is missing"),
    ])
    def test_errors(self, text, strictness, message):
        with pytest.raises(ArgoTemplateError, match=message):
            substitute_text(json.dumps(text), GLOBALS, strictness)


class TestKubelet:
    @pytest.mark.parametrize("text, expected", [
        ("$(A)", "1"), ("$(B)", "$(B)"), ("$$(A)", "$(A)"), ("cost $$5", "cost $5"), ("$x", "$x"), ("a$", "a$"),
        ("$(unclosed", "$(unclosed"), ("$$$$", "$$"), ("$(A)$(A)", "11"),
    ])
    def test_expansion(self, text, expected):
        assert expand(text, {"A": "1"}) == expected

    def test_an_env_value_sees_env_from_and_the_variables_before_it(self):
        env = [{"name": "X", "value": "$(Y)-$(S)"}, {"name": "Y", "value": "y"}, {"name": "Z", "value": "$(Y)"}]
        assert container_environment(env, {"S": "secret"}) == {"X": "$(Y)-secret", "Y": "y", "Z": "y"}


class TestDepends:
    @pytest.mark.parametrize("depends, phases, runs", [
        ("a", {"a": "Succeeded"}, True), ("a", {"a": "Failed"}, False), ("a", {"a": "Skipped"}, True),
        ("a && b-c", {"a": "Succeeded", "b-c": "Succeeded"}, True), ("a.Failed", {"a": "Failed"}, True),
        ("in-x", {"in-x": "Succeeded"}, True), ("len", {"len": "Succeeded"}, True),  # built-ins are names
    ])
    def test_valid(self, depends, phases, runs):
        assert evaluate_depends(depends, phases) is runs

    @pytest.mark.parametrize("name", ["in", "not", "matches", "contains", "let", "nil", "true", "false", "if", "else"])
    def test_a_task_named_like_an_expr_keyword_cannot_be_evaluated(self, name):
        with pytest.raises(DependsError, match="unable to evaluate expression"):
            evaluate_depends(name, {name: "Succeeded"})

    def test_dependencies_are_the_names_it_mentions(self):
        assert dependencies("a && (b-c.Succeeded || d)") == ["a", "b-c", "d"]


class TestWhen:
    """controller/steps.go shouldExecute: govaluate over the substituted text, bare words read as strings."""

    @pytest.mark.parametrize("text, runs", [
        ("'a' == 'a'", True), ("Succeeded == Succeeded", True), ("'Skipped' == 'Succeeded'", False),
        ("'a' != 'b'", True), ("('a' == 'b') || ('c' == 'c')", True), ("'a' == 'a' && 'b' == 'c'", False),
        ("'' == 'x'", False), ("!('a' == 'b')", True),
    ])
    def test_valid(self, text, runs):
        assert evaluate_when(text) is runs

    @pytest.mark.parametrize("text, message", [
        ("'a'", "Expected boolean evaluation"), ("'a' ==", "unexpected end"), ("'a' || 'b' == 'b'", "|| of a string"),
    ])
    def test_invalid_errors_the_task(self, text, message):
        with pytest.raises(WhenError, match=message):
            evaluate_when(text)


def _writes(value: str) -> dict:
    """A container template that writes ``value`` to its output parameter ``out`` (declared default: "none")."""
    return {"container": {"image": "x", "command": [sys.executable, "-c",
                                                     f"open('/tmp/out', 'w').write({value!r})"]},
            "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out", "default": "none"}}]}}


def _run_dag(tasks: list[dict], templates: list[dict]) -> ArgoRunner:
    document = {"spec": {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates]}}
    runner = ArgoRunner(document, "wf-model")
    runner.run()
    return runner


class TestSkippedAndOmitted:
    """dag.go: a false ``when`` skips a task (Skipped); a ``depends`` that does not hold omits it (Omitted); a
    skipped or omitted task's declared outputs read as their ``valueFrom.default`` (scope.go)."""

    def test_when_skips_depends_omits_and_defaults_stand_in(self):
        templates = [{"name": "a", **_writes("left")}, {"name": "b", **_writes("b")}, {"name": "c", **_writes("c")},
                     {"name": "d", **_writes("d")}]
        runner = _run_dag([
            {"name": "a", "template": "a"},
            {"name": "b", "template": "b", "depends": "a.Succeeded",
             "when": "'{{tasks.a.outputs.parameters.out}}' == 'right'"},
            {"name": "c", "template": "c", "depends": "b.Succeeded"},
            {"name": "d", "template": "d", "depends": "(b.Succeeded || b.Skipped) && (c.Succeeded || c.Omitted)",
             "when": "'{{tasks.b.status}}' == 'Skipped' && '{{tasks.c.outputs.parameters.out}}' == 'none' && "
                     "'{{tasks.c.status}}' == 'Omitted'"},
        ], templates)
        assert [pod.template for pod in runner.pods] == ["a", "d"]

    def test_an_output_without_a_default_never_resolves(self):
        plain = {"container": {"image": "x", "command": [sys.executable, "-c", "open('/tmp/out', 'w').write('x')"]},
                 "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/tmp/out"}}]}}
        with pytest.raises(ArgoRunError, match="when never resolves"):
            _run_dag([{"name": "a", "template": "a", "when": "'x' == 'y'"},
                      {"name": "b", "template": "a", "depends": "a.Skipped",
                       "when": "'{{tasks.a.outputs.parameters.out}}' == 'x'"}], [{"name": "a", **plain}])


def test_templates_nested_100_deep_fail_the_workflow():
    """operator.go executeTemplate: a call at maxAllowedStackDepth (100) errors: Maximum recursion depth."""
    again = {"name": "again", "template": "again"}
    document = {"spec": {"entrypoint": "again", "templates": [{"name": "again", "steps": [[again]]}]}}
    with pytest.raises(ArgoRunError, match=r"Maximum recursion depth exceeded \(100\)"):
        ArgoRunner(document, "wf-deep").run()
