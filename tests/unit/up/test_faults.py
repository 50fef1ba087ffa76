"""Fault requests: the kinds an operator may type, what a control request must hold, and how
each pull or heal changes the set of cables pulled on a host."""

from __future__ import annotations

import pytest

from services.up.faults import (
    FAULT_KINDS,
    FaultRequestError,
    Heal,
    Pull,
    parse_kind,
    parse_request,
    pulled_after,
)

HOSTS = ("lab1", "lab2")


@pytest.mark.parametrize(
    ("word", "kind"),
    [("power", "power"), ("Storage", "storage"), (" network ", "network"), ("HANG", "hang"),
     ("heal", "heal")],
)  # fmt: skip
def test_each_fault_kind_and_heal_parse_whatever_the_case_and_spacing(word: str, kind: str) -> None:
    """The four kinds and `heal` are recognised case-insensitively, surrounding blanks ignored."""
    assert parse_kind(word) == kind


@pytest.mark.parametrize("word", ["", "powr", "reboot", "power off", "heal lab1"])
def test_an_unknown_fault_is_invalid_and_the_hint_lists_the_kinds(word: str) -> None:
    """Anything else is an `invalid` error whose hint names every kind and heal."""
    with pytest.raises(FaultRequestError) as err:
        parse_kind(word)
    assert err.value.code == "invalid"
    for kind in (*FAULT_KINDS, "heal"):
        assert kind in err.value.hint


def test_a_request_names_a_fault_and_a_host_of_the_pool() -> None:
    """A well-formed request becomes a Pull or a Heal of that host."""
    assert parse_request({"fault": "storage", "host": "lab1"}, HOSTS) == Pull("storage", "lab1")
    assert parse_request({"fault": "heal", "host": "lab2"}, HOSTS) == Heal("lab2")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"fault": "power", "host": "lab9"}, "unknown host 'lab9'"),
        ({"fault": "power"}, "names no host"),
        ({"host": "lab1"}, "names no fault"),
        ({"fault": "zap", "host": "lab1"}, "unknown fault 'zap'"),
        (["power", "lab1"], "not a JSON object"),
        (None, "not a JSON object"),
    ],
)
def test_a_malformed_request_is_invalid_with_the_reason(raw: object, says: str) -> None:
    """Unknown hosts and faults, missing fields and non-objects are `invalid` (exit 2 in the
    CLI), each saying what is wrong; an unknown host's hint lists the pool's hosts."""
    with pytest.raises(FaultRequestError) as err:
        parse_request(raw, HOSTS)
    assert err.value.code == "invalid"
    assert says in str(err.value)
    if "host" in says:
        assert "lab1, lab2" in err.value.hint


def test_pulls_accumulate_and_heal_plugs_everything_back() -> None:
    """Cables pulled one after the other are all out; pulling one again changes nothing; a
    heal leaves none pulled."""
    pulled = pulled_after(frozenset(), Pull("storage", "lab1"))
    pulled = pulled_after(pulled, Pull("network", "lab1"))
    assert pulled == {"storage", "network"}
    assert pulled_after(pulled, Pull("network", "lab1")) == pulled
    assert pulled_after(pulled, Heal("lab1")) == frozenset()


def test_pulling_the_power_of_a_hung_host_ends_the_hang() -> None:
    """A powered-off host is no longer hung: power replaces hang, other cables stay out."""
    assert pulled_after(frozenset({"hang", "storage"}), Pull("power", "lab1")) == {
        "power",
        "storage",
    }


def test_a_powered_off_host_cannot_hang() -> None:
    """Hang on a host that is off is a `conflict` (exit 1) whose hint says to heal first."""
    with pytest.raises(FaultRequestError) as err:
        pulled_after(frozenset({"power"}), Pull("hang", "lab1"))
    assert err.value.code == "conflict"
    assert "haplan fault heal lab1" in err.value.hint
