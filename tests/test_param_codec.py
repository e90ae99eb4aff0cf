"""One codec for parameter values: text <-> value for every type, the same in run, step, compile, trigger, promote."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowship.compiler.ir import ParameterIR
from flowship.errors import ParameterError
from flowship.param_codec import default_text, drop_unset, format_text, parse_text, parse_value, resolve_values


def parameter(kind: str, separator: str | None = None, default=None, required: bool = False) -> ParameterIR:
    return ParameterIR("p", "p", kind, default, required, "", 1, separator=separator)  # type: ignore[arg-type]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)
DECLARED = {
    "str": st.text(),
    "int": st.integers(),
    "float": st.floats(allow_nan=False),
    "bool": st.booleans(),
    "json": JSON,
}


class TestRoundTrip:
    @pytest.mark.parametrize("kind", sorted(DECLARED))
    def test_text_of_a_value_reads_back_as_the_value(self, kind):
        @given(DECLARED[kind])
        def round_trip(value):
            p = parameter(kind)
            assert parse_text(p, format_text(p, value)) == value

        round_trip()

    def test_nan_reads_back_as_nan(self):
        p = parameter("float")
        assert math.isnan(parse_text(p, format_text(p, float("nan"))))

    @given(st.sampled_from([",", ";", "|", "::"]).flatmap(
        lambda sep: st.tuples(st.just(sep), st.lists(st.text().filter(lambda t: sep not in t), min_size=1))))
    def test_separated_values_split_back_into_their_items(self, case):
        separator, items = case
        p = parameter("str", separator)
        text = format_text(p, separator.join(items))
        assert parse_value(p, text) == (items if text else text)  # Metaflow: an empty value is not split


class TestValid:
    @pytest.mark.parametrize("kind, separator, text, value", [
        ("str", None, "it's {{ x }} $(y)", "it's {{ x }} $(y)"),
        ("int", None, "-3", -3),
        ("float", None, "1e-3", 0.001),
        ("bool", None, "Yes", True),
        ("bool", None, "off", False),
        ("json", None, '{"a": [1, null]}', {"a": [1, None]}),
        ("str", ",", "a,b,,c", ["a", "b", "", "c"]),
        ("str", ",", "", ""),
    ])
    def test_text_to_step_value(self, kind, separator, text, value):
        assert parse_value(parameter(kind, separator), text) == value

    def test_defaults_are_split_like_given_values(self):
        p = parameter("str", ",", default="x,y")
        assert resolve_values([p], {}) == {"p": ["x", "y"]}
        assert resolve_values([p], {"p": "z"}) == {"p": ["z"]}

    @pytest.mark.parametrize("declared, text", [
        (parameter("json", default={"b": 1, "a": [True]}), '{"a": [true], "b": 1}'),
        (parameter("bool", default=False), "false"),
        (parameter("float", default=2.0), "2.0"),
        (parameter("str"), ""),
        (parameter("str", required=True), None),
    ])
    def test_default_as_text(self, declared, text):
        assert default_text(declared) == text

    def test_deployed_empty_text_means_unset_only_without_default(self):
        optional, defaulted = parameter("str"), ParameterIR("q", "q", "str", "d", False, "", 2)
        assert drop_unset([optional, defaulted], {"p": "", "q": ""}) == {"q": ""}


class TestInvalid:
    @pytest.mark.parametrize("kind, text, message", [
        ("int", "1.5", "--p: '1.5' is not a valid int (invalid literal for int() with base 10: '1.5')"),
        ("float", "x", "--p: 'x' is not a valid float (could not convert string to float: 'x')"),
        ("bool", "maybe", "--p: 'maybe' is not a boolean; use true or false"),
        ("json", "{", "--p: '{' is not a valid json (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    ])
    def test_message(self, kind, text, message):
        with pytest.raises(ParameterError) as info:
            parse_text(parameter(kind), text)
        assert str(info.value) == message

    def test_unknown_and_missing(self):
        with pytest.raises(ParameterError, match=r"unknown parameter\(s\) --q; the flow has --p"):
            resolve_values([parameter("str")], {"q": "1"})
        with pytest.raises(ParameterError, match="--p is required"):
            resolve_values([parameter("str", required=True)], {})


def test_json_text_is_canonical():
    assert json.loads(format_text(parameter("json"), {"é": 1})) == {"é": 1}
