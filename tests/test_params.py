"""Parameter declarations: each invalid form pinned."""

from __future__ import annotations

import pytest

from conftest import check, two_step_flow


def problems_for(declaration: str) -> list[str]:
    result = check(two_step_flow(members="    " + declaration))
    return [str(p).split(": ", 1)[1] for p in result.problems]


class TestInvalid:
    @pytest.mark.parametrize("declaration, message", [
        ('x = Parameter("bad name")', "parameter name 'bad name' is invalid — use letters, digits, '_' and '-', starting with a letter"),
        ('x = Parameter("tags")', "parameter name 'tags' is reserved by flowship — rename the parameter, e.g. 'my_tags'"),
        ('index = Parameter("idx")', "parameter name 'idx' is reserved by flowship — rename the parameter, e.g. 'my_idx'"),
        ('x = Parameter("x", default=1, required=True)', "parameter 'x' is required and has a default — drop required=True or drop the default"),
        ('x = Parameter("x", default="a", type=int)', "parameter 'x': default 'a' is not of type int — give a default of type int, or change type="),
        ('x = Parameter("x", type=dict)', "Parameter 'x' has an unsupported type — use str, int, float, bool or JSONType"),
        ('x = Parameter("x", type="list")', "parameter 'x' has unsupported type 'list' — use str, int, float, bool or JSONType"),
        ('x = Parameter("x", type=JSONType, default="{not json")', "parameter 'x': Expecting property name enclosed in double quotes: line 1 column 2 (char 1) — give a default of type json, or change type="),
        ('x = Parameter("x", default=compute())', "Parameter 'x' argument(s) default are not literal values — write a number, string, list or dict; flowship reads parameters without running the file"),
        ('x = Parameter("x", colour="red")', "Parameter 'x' has unknown argument(s) colour — use: default, help, multiple, name, required, separator, show_default, type"),
        ('x = Parameter("x", 1)', "Parameter 'x' has more than one positional argument — pass everything after the name as keywords"),
        ('x = Parameter("x", default=1, separator=",")', "parameter 'x': separator= needs a str parameter and a non-empty string — drop separator=, or make the parameter a str (its value is then split into a list)"),
        ('x = Parameter("x", default="a", separator="")', "parameter 'x': separator= needs a str parameter and a non-empty string — drop separator=, or make the parameter a str (its value is then split into a list)"),
        ('start_ = Parameter("start")', ""),
    ])
    def test_message(self, declaration, message):
        assert problems_for(declaration) == ([message] if message else [])

    def test_duplicate_names(self):
        assert problems_for('a = Parameter("x")\n    b = Parameter("x")') == [
            "parameter name 'x' is already used on line 7 — give every parameter its own name"]

    def test_attribute_named_like_a_step(self):
        assert problems_for('end = Parameter("finish")')[0] == "parameter 'end' has the name of a step — rename one of them"
