"""The step command: one spelling, read back exactly, whatever the values hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import REPO
from flowship.errors import FlowshipError
from flowship.step_command import ENCODED_JSON_PREFIX, ENCODED_PREFIX, RunContext, StepCommand, encode_stored_value

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
ANY_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1)


@st.composite
def commands(draw) -> StepCommand:
    package = draw(st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True))
    return StepCommand(
        flow_file=draw(st.from_regex(r"[a-z][a-z0-9_/]{0,20}\.py", fullmatch=True)),
        step=draw(NAMES),
        run_id=draw(ANY_TEXT),
        task_id=draw(ANY_TEXT),
        retry_count=draw(ANY_TEXT),
        datastore=draw(ANY_TEXT),
        package=package,
        flow_name=draw(NAMES) if package else None,
        splits_file=draw(st.none() | ANY_TEXT),
        context=RunContext(*(draw(st.none() | ANY_TEXT) for _ in range(4)), tuple(draw(st.lists(ANY_TEXT, max_size=2)))),
        params=tuple(draw(st.lists(st.tuples(NAMES, st.text()), max_size=3))),
    )


class TestValid:
    @given(commands())
    def test_argv_reads_back_as_the_same_command(self, command):
        argv = command.to_argv()
        assert argv[:2] == ["flow", "step"]
        assert StepCommand.from_argv(argv[2:]) == command

    def test_values_that_look_like_options_stay_values(self):
        command = StepCommand("flow.py", "start", "--task-id=9", "0", "0", "/s", params=(("x", "--datastore=/evil"),))
        assert StepCommand.from_argv(command.to_argv()[2:]) == command

    @given(st.text(st.characters(blacklist_categories=["Cs"])))
    def test_base64_parameters_read_back_as_their_text(self, text):
        import base64

        stored = [encode_stored_value(text)] + ([] if text.startswith((ENCODED_PREFIX, ENCODED_JSON_PREFIX)) else [text])
        for value in stored:  # as flowship keeps it in Argo's spec, or as a user gave it to Argo
            encoded = base64.b64encode(value.encode()).decode()
            command = StepCommand("flow.py", "start", "r", "0", "0", "/s", params=(("x", encoded),), params_base64=True)
            assert StepCommand.from_argv(command.to_argv()[2:]).params == (("x", text),)

    def test_an_argument_argo_handed_over_as_a_file_is_read_from_it(self, tmp_path):
        command = StepCommand("flow.py", "start", "r", "0", "0", "/s", params=(("x", "y" * 200_000),))
        argv = command.to_argv()[2:]
        (tmp_path / "argo_arg_7.txt").write_text(argv[-1])
        assert StepCommand.from_argv(argv[:-1] + [f"@{tmp_path}/argo_arg_7.txt"]) == command

    def test_stored_values_are_encoded_only_when_a_scheduler_would_read_them(self):
        assert encode_stored_value(ENCODED_JSON_PREFIX + "x").startswith(ENCODED_PREFIX)
        assert [encode_stored_value(v)[:16] for v in ("plain", "a {{b}}", "flowship-base64:x")] == [
            "plain", "flowship-base64:", "flowship-base64:"]

    def test_task_id_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("FLOWSHIP_TASK_ID", "0.3")
        command = StepCommand("flow.py", "body", "r", None, "0", "/s")
        assert "--task-id" not in " ".join(command.to_argv())
        assert StepCommand.from_argv(command.to_argv()[2:]).task_id == "0.3"


class TestInvalid:
    @pytest.mark.parametrize("argv, message", [
        (["flow.py", "start", "--run-id=r", "--datastore=/s"], "flow step needs --task-id (or FLOWSHIP_TASK_ID in the environment)"),
        (["flow.py", "start", "--run-id=r", "--task-id=0", "--datastore=/s", "--package=abc"],
         "flow step --package needs --flow-name, to find it in the store"),
        (["flow.py", "start", "--run-id=r", "--task-id=0"],
         "flow step: the following arguments are required: --datastore (see `flow step --help`)"),
        (["flow.py", "start", "--run=r", "--task-id=0", "--datastore=/s"],
         "flow step: the following arguments are required: --run-id (see `flow step --help`)"),
    ])
    def test_message(self, argv, message, monkeypatch):
        monkeypatch.delenv("FLOWSHIP_TASK_ID", raising=False)
        with pytest.raises(FlowshipError) as info:
            StepCommand.from_argv(argv)
        assert str(info.value) == message

    def test_a_base64_parameter_that_is_not_base64_says_so(self):
        with pytest.raises(FlowshipError, match=r"--param-base64=x=...: not the base64 of UTF-8 text \('%%%'\)"):
            StepCommand.from_argv(["f.py", "start", "--run-id=r", "--task-id=0", "--datastore=/s",
                                   "--param-base64=x=%%%"])

    def test_a_missing_argument_file_says_so(self, tmp_path):
        with pytest.raises(FlowshipError, match="cannot read the argument file .*argo_arg_1.txt"):
            StepCommand.from_argv(["f.py", "start", f"@{tmp_path}/argo_arg_1.txt"])

    def test_attempt_must_be_a_number(self):
        with pytest.raises(FlowshipError, match="--retry-count=x: not a whole number"):
            _ = StepCommand("f.py", "s", "r", "0", "x", "/s").attempt


def test_the_step_command_is_spelled_only_in_its_module():
    """Every scheduler builds a StepCommand; none spells the options itself."""
    options = ("--run-id", "--task-id", "--retry-count", "--splits-file", "--flow-name", "--promoted-from")
    spelled = [f"{path.relative_to(REPO)}: {option}" for path in sorted((REPO / "flowship").rglob("*.py"))
               if path.name != "step_command.py" for option in options if option in path.read_text()]
    assert spelled == []


def test_trigger_events_read_back_from_every_form_a_scheduler_sends():
    """Airflow hands the start task a JSON list as base64; an Argo Events sensor one event body per dependency, as
    flowship-json-base64: (what sprig's toJson | b64enc makes) inside Argo's toBase64; "" is no event."""
    import base64
    import json

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    listed = b64(json.dumps([{"name": "a", "type": "event", "payload": {"x": "{{ 7*7 }}"}}]))
    body = b64("flowship-json-base64:" + b64(json.dumps({"name": "b", "payload": {"y": 1}})))
    argv = ["flow.py", "start", "--run-id=r", "--task-id=0", "--datastore=/s",
            f"--trigger-base64={listed}", f"--trigger-base64={body}", "--trigger-base64="]
    command = StepCommand.from_argv(argv)
    assert command.trigger == [{"name": "a", "type": "event", "payload": {"x": "{{ 7*7 }}"}},
                               {"name": "b", "payload": {"y": 1}}]
    assert StepCommand.from_argv(command.to_argv()[2:]).trigger == command.trigger
    param = b64("flowship-json-base64:" + b64(json.dumps("it's {{x}}")))
    number = b64("flowship-json-base64:" + b64(json.dumps(3)))
    assert StepCommand.from_argv(["flow.py", "start", "--run-id=r", "--task-id=0", "--datastore=/s",
                                  f"--param-base64=p={param}", f"--param-base64=n={number}"]).params == (
        ("p", "it's {{x}}"), ("n", "3"))
    with pytest.raises(FlowshipError, match="--trigger-base64: not JSON events"):
        _ = StepCommand.from_argv(["flow.py", "start", "--run-id=r", "--task-id=0", "--datastore=/s",
                                   f"--trigger-base64={b64('[1]')}"]).trigger
