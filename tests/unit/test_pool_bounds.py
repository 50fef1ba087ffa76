"""Bounded input (issue 14, schemas/limits.py): the pool file and `haplan vm set` refuse absurd
orders, start delays and memory sizes, and names a host cannot store as a file, with one line
(exit 2 from the CLI); values at the bounds are accepted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from schemas import PoolError, parse_pool
from schemas.events import PoolCreated, decode_event
from schemas.limits import (
    FILE_NAME_MAX_BYTES,
    MEMORY_MAX_MIB,
    ORDER_MAX,
    START_DELAY_MAX_S,
    host_file_names,
    name_problem,
    vm_file_names,
)
from services.cli.main import main
from services.common.heartbeat_store import HeartbeatStore
from services.drivers.vm_process import ProcessVMDriver

NOBODY = "nats://127.0.0.1:9"  # nothing answers there: reaching for the bus would exit 69


def pool(vm: dict[str, object] | None = None, host: str = "a") -> str:
    hosts = [{"name": host, "memory_mib": 1000}, {"name": "b", "memory_mib": 1000}]
    vms = [{"name": "v", "memory_mib": 100, **(vm or {})}]
    return json.dumps({"name": "p", "hosts": hosts, "vms": vms})


def refusal(text: str) -> str:
    with pytest.raises(PoolError) as err:
        parse_pool(text, "p.json")
    message = str(err.value)
    assert "\n" not in message
    return message


# A name whose longest file name is exactly FILE_NAME_MAX_BYTES, and one byte more.
VM_AT_LIMIT = "v" * (FILE_NAME_MAX_BYTES - len(".log"))
# 'é' is two bytes in UTF-8: the limit is in bytes, not characters.
VM_TOO_LONG_IN_BYTES = "é" * ((FILE_NAME_MAX_BYTES - len(".log")) // 2 + 1)


@pytest.mark.parametrize(
    ("vm", "says"),
    [
        ({"order": ORDER_MAX + 1}, f"order {ORDER_MAX + 1}; it must be 0 to {ORDER_MAX}"),
        ({"start_delay_s": START_DELAY_MAX_S + 0.5}, "start_delay_s 3600.5"),
        ({"memory_mib": MEMORY_MAX_MIB + 1}, "memory_mib"),
        ({"name": VM_AT_LIMIT + "v"}, "too long"),
        ({"name": VM_TOO_LONG_IN_BYTES}, "too long"),
        ({"name": "web/01"}, "cannot name a disk file"),
        ({"name": ".."}, "cannot name a disk file"),
    ],
)
def test_a_pool_file_with_an_absurd_vm_value_is_refused_in_one_line(
    vm: dict[str, object], says: str
) -> None:
    """Each value outside its range (or a name the process driver cannot store as its disk
    log) is refused with one line that says what and why."""
    assert says in refusal(pool(vm))


def test_values_at_the_bounds_are_accepted() -> None:
    """The largest order, start delay, memory and name are still a valid pool."""
    text = pool({"name": VM_AT_LIMIT, "order": ORDER_MAX, "start_delay_s": START_DELAY_MAX_S})
    assert parse_pool(text, "p.json").vms[0].name == VM_AT_LIMIT
    big = json.loads(pool())
    big["hosts"][0]["memory_mib"] = MEMORY_MAX_MIB
    parse_pool(json.dumps(big), "p.json")


def test_a_host_name_is_bounded_by_its_longest_file_after_quoting() -> None:
    """A host name is judged on its quoted form (a space is 3 bytes in a slot's file name):
    the longest name accepted is the one whose slot temporary file is exactly the limit."""
    longest = max(len(n.encode()) for n in host_file_names("h"))
    fits = "h" * (FILE_NAME_MAX_BYTES - longest + 1)
    assert name_problem("host", fits) is None
    parse_pool(pool(host=fits), "p.json")
    assert "too long" in refusal(pool(host=fits + "h"))
    # The same number of characters with spaces quotes to three bytes each.
    assert "too long" in refusal(pool(host=" " * len(fits)))


def test_the_limits_name_the_files_the_services_write(tmp_path: Path) -> None:
    """The file names schemas/limits.py judges are those the heartbeat store and the process
    driver derive, so the bound follows them."""
    store = HeartbeatStore(tmp_path)
    assert store.slot_path("lab 1").name in host_file_names("lab 1")
    driver = ProcessVMDriver(tmp_path, "lab1")
    assert driver.disk_path("Minion 1").name in vm_file_names("Minion 1")


def test_a_name_at_the_limit_can_be_created_on_this_file_system(tmp_path: Path) -> None:
    """The bound is real: the longest accepted names' files can be created here (and one byte
    more cannot be on file systems with a 255-byte limit, which is why it is refused)."""
    for name in (*host_file_names("h" * 208), *vm_file_names(VM_AT_LIMIT)):
        assert len(name.encode()) <= FILE_NAME_MAX_BYTES
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(OSError):
        (tmp_path / ("x" * (FILE_NAME_MAX_BYTES + 1))).write_bytes(b"")


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        (f"order={ORDER_MAX + 1}", f"order must be a whole number from 0 to {ORDER_MAX}"),
        ("start-delay=3601", "start-delay must be a number of seconds from 0 to 3600"),
        ("start-delay=1e12", "start-delay must be a number of seconds from 0 to 3600"),
    ],
)
def test_vm_set_refuses_absurd_values_with_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, pair: str, says: str
) -> None:
    """`haplan vm set` refuses an order or start delay out of range in one stderr line and
    exit 2, before reaching for the bus, naming the key as the operator typed it (start-delay,
    not the request's start_delay_s) and the range it must be in."""
    monkeypatch.setattr(sys, "argv", ["haplan", "vm", "set", "Minion 1", pair, "--nats", NOBODY])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert len(err.splitlines()) == 1 and says in err, err


def test_a_logged_pool_beyond_the_bounds_stays_readable() -> None:
    """A pool_created written before the bounds, with an order of 2000, still decodes (so the
    log replays), while the same pool as a file is refused: the bounds guard input, not the
    log."""
    stored = json.dumps(
        {
            "type": "pool_created", "schema_version": 1,
            "event_id": "6f1c2e4a-0b1d-4c6e-9a57-3d2f8e1b7c90",
            "at": "2026-01-01T00:00:00Z", "epoch": 0, "pool": json.loads(pool({"order": 2000})),
        }
    )  # fmt: skip
    event = decode_event(stored)
    assert isinstance(event, PoolCreated) and event.pool.vms[0].order == 2000
    assert "order 2000" in refusal(pool({"order": 2000}))
