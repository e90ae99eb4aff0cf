"""Kubernetes names: one line per input -> output."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, strategies as st

from conftest import FLOWS
from flowship.flowfile import check_flow_file
from flowship.compiler.naming import k8s_name, stable_hash, unique_k8s_names

RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize("name, expected", [
    ("start", "start"),
    ("train_model", "train-model"),
    ("trainModel", "train-model"),
    ("TrainModel", "train-model"),
    ("trainmodel", "trainmodel"),
    ("_private", "private"),
    ("__x__", "x"),
    ("step2", "step2"),
    ("_2fast", "x-2fast"),
    ("HTTPServer", "httpserver"),
    ("a" * 80, "a" * 56 + "-" + stable_hash("a" * 80)),
])
def test_k8s_name(name, expected):
    assert k8s_name(name) == expected


def test_collisions_stay_distinct_and_readable():
    names = unique_k8s_names(["train_model", "trainModel", "trainmodel", "start"])
    assert names == {
        "train_model": f"train-model-{stable_hash('train_model')}",
        "trainModel": f"train-model-{stable_hash('trainModel')}",
        "trainmodel": "trainmodel",
        "start": "start",
    }


def test_ir_carries_disambiguated_names():
    result = check_flow_file(str(FLOWS / "behaviour" / "colliding.py"))
    names = [s.k8s_name for s in result.ir.steps]
    assert len(set(names)) == len(names) and all(n.startswith("train-model-") for n in names[1:3])


@given(st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,90}", fullmatch=True), unique=True, max_size=30))
def test_any_identifiers_map_to_distinct_valid_names(identifiers):
    names = unique_k8s_names(identifiers)
    assert len(set(names.values())) == len(identifiers)
    assert all(RFC1123.match(n) and len(n) <= 63 for n in names.values())
