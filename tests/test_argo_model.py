"""The tests' model of Argo and the kubelet says what their source says: one behaviour per line.

Each case restates a fact read from Argo v4's ``util/template``,
``controller/dag.go`` and Kubernetes' ``expansion`` package (see the modules'
docstrings); a model that drifted from them would let a manifest pass here and
fail on a cluster.
"""

from __future__ import annotations

import base64
import json

import pytest
from argo.depends import DependsError, dependencies, evaluate_depends
from argo.kubelet import container_environment, expand
from argo.substitution import ArgoTemplateError, go_quote, substitute_json, substitute_text

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
