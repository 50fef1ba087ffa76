"""Subjects of the event log: every host and VM name maps to one valid, reversible token."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import HostJoined, NtolSet, PlanComputed, VMStarted
from services.common.subjects import decode_token, encode_token, subject_for
from tests.fixtures.events import make

TOKEN = re.compile(r"^[A-Za-z0-9_%-]+$")


@given(st.text(min_size=1))
def test_any_name_encodes_to_a_valid_reversible_token(name: str) -> None:
    """Any non-empty name (spaces, dots, wildcards, unicode) gives a token of safe characters
    that decodes back to the name."""
    token = encode_token(name)
    assert TOKEN.match(token)
    assert decode_token(token) == name


@given(st.text(min_size=1), st.text(min_size=1))
def test_distinct_names_get_distinct_tokens(a: str, b: str) -> None:
    """Two different names never share a subject."""
    if a != b:
        assert encode_token(a) != encode_token(b)


def test_documented_examples() -> None:
    """The examples of the subjects module's documentation hold."""
    assert encode_token("Minion 1") == "Minion%201"
    assert encode_token("web.01") == "web%2E01"
    assert encode_token("lab1") == "lab1"


def test_subjects_per_aggregate() -> None:
    """Pool events go to ha.evt.pool, plans to ha.evt.plan, host and VM events to their own
    subject."""
    assert subject_for(make(NtolSet, host_failures_to_tolerate=1)) == "ha.evt.pool"
    # Planner results alone on their own subject: NATS lets planners publish only there.
    plan = make(PlanComputed, based_on_seq=1, max_host_failures_to_tolerate=1, upper_bound=1,
                exact=True, host_failures_to_tolerate=1)  # fmt: skip
    assert subject_for(plan) == "ha.evt.plan"
    assert subject_for(make(HostJoined, host="h 3", incarnation="b")) == "ha.evt.host.h%203"
    vm = make(VMStarted, vm="Minion 1", host="lab2", incarnation="b", instance="i")
    assert subject_for(vm) == "ha.evt.vm.Minion%201"
