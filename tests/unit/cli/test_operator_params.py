"""xe-style KEY=VALUE parameters of `haplan pool set` and `haplan vm set`: every accepted form
becomes the request the leader receives, and every bad one is a one-line error with exit 2
before anything is sent (these tests point --nats at a port nobody listens on: reaching for the
bus would exit 69, not 2)."""

from __future__ import annotations

import sys

import pytest

from schemas.ops import PoolSet, VMSet
from services.cli.main import main
from services.cli.output import UserError
from services.cli.xe_params import pool_set_request, vm_set_request

NOBODY = "nats://127.0.0.1:9"  # discard port: nothing answers there


def haplan(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run `haplan ARGS` in this process as the console script does: (status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["haplan", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


@pytest.mark.parametrize(
    ("pairs", "fields"),
    [
        (["ha-host-failures-to-tolerate=0"], {"host_failures_to_tolerate": 0}),
        (["ha-host-failures-to-tolerate=3"], {"host_failures_to_tolerate": 3}),
        (["ha-allow-overcommit=true"], {"allow_overcommit": True}),
        (["ha-allow-overcommit=FALSE"], {"allow_overcommit": False}),
        (
            ["ha-host-failures-to-tolerate=2", "ha-allow-overcommit=false"],
            {"host_failures_to_tolerate": 2, "allow_overcommit": False},
        ),
    ],
)
def test_pool_set_forms(pairs: list[str], fields: dict[str, object]) -> None:
    """Each pool parameter, alone or with the other, sets exactly its field of PoolSet."""
    assert pool_set_request(pairs) == PoolSet(**fields)


@pytest.mark.parametrize(
    ("pairs", "fields"),
    [
        (["ha-restart-priority=restart"], {"ha_restart_priority": "restart"}),
        (["ha-restart-priority=best-effort"], {"ha_restart_priority": "best-effort"}),
        (["ha-restart-priority="], {"ha_restart_priority": ""}),
        (['ha-restart-priority=""'], {"ha_restart_priority": ""}),
        (["order=0"], {"order": 0}),
        (["order=12"], {"order": 12}),
        (["start-delay=0"], {"start_delay_s": 0.0}),
        (["start-delay=2.5"], {"start_delay_s": 2.5}),
        (
            ["ha-restart-priority=restart", "order=2", "start-delay=10"],
            {"ha_restart_priority": "restart", "order": 2, "start_delay_s": 10.0},
        ),
    ],
)
def test_vm_set_forms(pairs: list[str], fields: dict[str, object]) -> None:
    """Each VM parameter (the empty priority in xe's `ha-restart-priority=` form and quoted)
    sets exactly its field of VMSet; fields not given stay unset (the leader keeps them)."""
    request = vm_set_request("Minion 1", pairs)
    assert request == VMSet(vm="Minion 1", **fields)
    assert set(request.model_dump(exclude_none=True)) == {"verb", "vm", *fields}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("pool", "set", "ha-host-failures-to-tolerate=-1"), "must be a whole number"),
        (("pool", "set", "ha-host-failures-to-tolerate=1.5"), "must be a whole number"),
        (("pool", "set", "ha-host-failures-to-tolerate="), "must be a whole number"),
        (("pool", "set", "ha-allow-overcommit=yes"), "must be true or false"),
        (("pool", "set", "ha-host-failures-to-tolerate"), "is not KEY=VALUE"),
        (("pool", "set", "ntol=1"), "unknown parameter 'ntol'"),
        (
            ("pool", "set", "ha-allow-overcommit=true", "ha-allow-overcommit=false"),
            "given twice",
        ),
        (("vm", "set", "Minion 1", "ha-restart-priority=always"), "restart, best-effort or empty"),
        (("vm", "set", "Minion 1", "order=first"), "order must be a whole number"),
        (("vm", "set", "Minion 1", "start-delay=-2"), "a number of seconds, 0 or more"),
        (("vm", "set", "Minion 1", "start-delay=nan"), "a number of seconds, 0 or more"),
        (("vm", "set", "Minion 1", "start-delay=inf"), "a number of seconds, 0 or more"),
        (("vm", "set", "Minion 1", "memory=4096"), "unknown parameter 'memory'"),
        (("vm", "set", "", "order=1"), "the VM name is empty"),
        (("vm", "set", "Minion 1"), "Missing argument"),
        (("vm", "start", " "), "the VM name is empty"),
        (("vm", "start", "Minion 1", "--on", ""), "the host name is empty"),
        (("vm", "shutdown", ""), "the VM name is empty"),
        (("host", "evacuate", ""), "the host name is empty"),
        (("host", "enable", ""), "the host name is empty"),
        (("host", "status", ""), "the host name is empty"),
        (("pool", "set"), "Missing argument"),
    ],
)
def test_invalid_values_are_one_line_with_exit_2_before_sending(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    says: str,
) -> None:
    """A bad value or name exits 2 with exactly one stderr line saying what is wrong, and
    nothing on stdout; NATS is never reached (that would be exit 69)."""
    code, out, err = haplan(capsys, monkeypatch, *args, "--nats", NOBODY)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("haplan: error: ") and says in lines[0], lines[0]
    assert out == ""


def test_an_unknown_key_lists_the_known_ones() -> None:
    """The error for an unknown parameter names every parameter the command takes."""
    with pytest.raises(UserError) as err:
        vm_set_request("Minion 1", ["priority=restart"])
    assert err.value.hint is not None
    for key in ("ha-restart-priority", "order", "start-delay"):
        assert key in err.value.hint
