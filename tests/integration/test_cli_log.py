"""`haplan pool create|export` and `haplan events`, run as the operator runs them, against a
real nats-server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from schemas import dump_pool, load_pool, pool_to_data
from schemas.events import HostJoined, VMStarted
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.lifetime import die_with_parent
from services.common.natsserver import NatsServer, free_port, locate_nats_server
from services.common.settings import BusSettings
from services.common.signing import HostSigner
from tests.fixtures.children import interruptible_child
from tests.fixtures.events import make, rich_pool

LAB = Path(__file__).parents[2] / "schemas" / "examples" / "lab.yaml"


def haplan(*args: str, url: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NATS_URL": url, "HAPLAN_CONNECT_TIMEOUT_S": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


async def append(url: str, events: list, expected: int) -> None:  # type: ignore[type-arg]
    nc = await connect(BusSettings(nats_url=url), name="test", initial_timeout_s=5)
    try:
        store = await JetStreamEventStore.open(nc)
        await store.append(events, expected)
    finally:
        await nc.close()


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_pool_file_round_trips_through_the_log(
    nats_server: NatsServer, tmp_path: Path, suffix: str
) -> None:
    """file -> `pool create` -> log -> `pool export FILE` -> the same pool, in YAML or JSON."""
    original = tmp_path / f"rack{suffix}"
    original.write_text(dump_pool(rich_pool(), suffix.lstrip(".")))
    created = haplan("pool", "create", str(original), "--json", url=nats_server.url)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) == {
        "pool": "Rack 7", "created": True, "seq": 1, "hosts": 3, "vms": 6,
    }  # fmt: skip
    exported = tmp_path / f"exported{suffix}"
    result = haplan("pool", "export", str(exported), url=nats_server.url)
    assert result.returncode == 0, result.stderr
    assert f"written to {exported}" in result.stdout
    assert load_pool(exported) == load_pool(original)
    assert pool_to_data(load_pool(exported)) == pool_to_data(rich_pool())


def test_export_to_stdout_follows_the_log(nats_server: NatsServer) -> None:
    """Without FILE the pool goes to stdout (YAML, or JSON with --json), as the log says it
    is now: a VM that moved is exported on its new host."""
    assert haplan("pool", "create", str(LAB), url=nats_server.url).returncode == 0
    asyncio.run(
        append(
            nats_server.url,
            [
                make(HostJoined, host="lab2", incarnation="b2"),
                make(VMStarted, vm="Minion 1", host="lab2", incarnation="b2", instance="i"),
            ],
            1,
        )
    )
    as_yaml = haplan("pool", "export", url=nats_server.url)
    assert as_yaml.returncode == 0, as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout)["vms"][0]["host"] == "lab2"
    as_json = haplan("pool", "export", "--json", url=nats_server.url)
    assert json.loads(as_json.stdout)["vms"][0]["host"] == "lab2"


def test_loading_the_same_pool_again_is_a_no_op(nats_server: NatsServer) -> None:
    """A second `pool create` of the same pool succeeds and appends nothing."""
    first = haplan("pool", "create", str(LAB), url=nats_server.url)
    assert first.returncode == 0 and "loaded into the event log" in first.stdout
    again = haplan("pool", "create", str(LAB), "--json", url=nats_server.url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] is False
    events = haplan("events", "--json", url=nats_server.url)
    assert len(events.stdout.splitlines()) == 1


def test_a_different_pool_over_an_existing_one_is_refused(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """Loading another pool where one exists: exit 2, one line saying what differs and what
    to do; the log is unchanged."""
    assert haplan("pool", "create", str(LAB), url=nats_server.url).returncode == 0
    other = tmp_path / "other.yaml"
    other.write_text(LAB.read_text().replace("memory_mib: 4096", "memory_mib: 8192"))
    result = haplan("pool", "create", str(other), url=nats_server.url)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "already holds pool 'Lab pool', which differs from" in line
    assert "in: vms" in line and "haplan pool export" in line
    assert len(haplan("events", "--json", url=nats_server.url).stdout.splitlines()) == 1


def test_a_pool_differing_in_its_ha_timeout_names_both_values_and_what_to_do(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The lab pool in the log with T = 5 s (as `haplan up` loads it) and the lab file (30 s):
    the refusal names ha.timeout_s with both values, not just "ha", and says how `haplan up`
    sets it and how to keep the file's."""
    at_5s = tmp_path / "lab-5s.yaml"
    at_5s.write_text(LAB.read_text().replace("timeout_s: 30", "timeout_s: 5"))
    assert haplan("pool", "create", str(at_5s), url=nats_server.url).returncode == 0
    result = haplan("pool", "create", str(LAB), url=nats_server.url)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "in: ha.timeout_s (5.0 in the log, 30.0 in the file)" in line
    assert "`haplan up POOL` to keep the file's" in line


def test_keys_registered_after_the_file_keep_it_the_same_pool(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The log's lab pool carries host keys (as `haplan up` loads it): the key-less lab file is
    the same pool (exit 0, nothing appended); a file naming another key for lab1 is not."""
    keyed = load_pool(LAB)
    keys = {h.name: HostSigner.generate().public for h in keyed.hosts}
    keyed = keyed.model_copy(
        update={"hosts": tuple(h.model_copy(update={"key": keys[h.name]}) for h in keyed.hosts)}
    )
    with_keys = tmp_path / "keyed.yaml"
    with_keys.write_text(dump_pool(keyed))
    assert haplan("pool", "create", str(with_keys), url=nats_server.url).returncode == 0
    again = haplan("pool", "create", str(LAB), "--json", url=nats_server.url)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] is False
    other_key = tmp_path / "other-key.yaml"
    rekeyed = keyed.hosts[0].model_copy(update={"key": HostSigner.generate().public})
    other_key.write_text(dump_pool(keyed.model_copy(update={"hosts": (rekeyed, keyed.hosts[1])})))
    refused = haplan("pool", "create", str(other_key), url=nats_server.url)
    assert refused.returncode == 2 and "in: hosts" in one_line_error(refused)
    assert len(haplan("events", "--json", url=nats_server.url).stdout.splitlines()) == 1


def test_unreachable_nats_is_one_line_and_exit_69(tmp_path: Path) -> None:
    """With no NATS listening, every log command says so in one line, with what to do, and
    exits 69 (EX_UNAVAILABLE)."""
    url = f"nats://127.0.0.1:{free_port()}"
    for args in (("pool", "create", str(LAB)), ("pool", "export"), ("events",)):
        result = haplan(*args, url=url)
        assert result.returncode == 69, (args, result.stderr)
        line = one_line_error(result)
        assert f"cannot reach NATS at {url}" in line
        assert "haplan up" in line and "NATS_URL" in line


def test_a_bad_pool_file_is_refused_before_touching_the_log(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """An invalid pool file exits 2 with the pool file's one-line error; nothing is appended."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(LAB.read_text().replace("host: lab1", "host: lab9"))
    result = haplan("pool", "create", str(bad), url=nats_server.url)
    assert result.returncode == 2
    assert "not in the pool" in one_line_error(result)
    assert haplan("events", "--json", url=nats_server.url).stdout == ""


def test_export_of_an_empty_log_says_to_create_a_pool(nats_server: NatsServer) -> None:
    """`pool export` with no pool in the log: exit 2, pointing at `pool create`."""
    result = haplan("pool", "export", url=nats_server.url)
    assert result.returncode == 2
    assert "haplan pool create" in one_line_error(result)


def test_events_prints_json_lines_and_a_table(nats_server: NatsServer) -> None:
    """--json prints one object per event (seq first, then the event); --since starts later;
    without --json a table shows each event's summary."""
    assert haplan("pool", "create", str(LAB), url=nats_server.url).returncode == 0
    asyncio.run(append(nats_server.url, [make(HostJoined, host="lab1", incarnation="b1")], 1))
    lines = haplan("events", "--json", url=nats_server.url).stdout.splitlines()
    objects = [json.loads(line) for line in lines]
    assert [(o["seq"], o["type"]) for o in objects] == [(1, "pool_created"), (2, "host_joined")]
    assert list(objects[0])[:3] == ["seq", "type", "schema_version"]
    assert objects[1]["host"] == "lab1" and objects[1]["epoch"] == 1
    later = haplan("events", "--json", "--since", "2", url=nats_server.url).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in later] == [2]
    table = haplan("events", url=nats_server.url)
    assert table.returncode == 0
    assert "pool_created" in table.stdout and "host_joined" in table.stdout
    assert "joined the liveset" in table.stdout


def test_events_skips_and_reports_unreadable_messages(nats_server: NatsServer) -> None:
    """A foreign message on an event subject does not stop `haplan events`: the other events
    print, and stderr says one was skipped, with its sequence in the log line."""
    assert haplan("pool", "create", str(LAB), url=nats_server.url).returncode == 0

    async def garbage() -> None:
        nc = await connect(BusSettings(nats_url=nats_server.url), name="t", initial_timeout_s=5)
        await nc.request("ha.evt.pool", b"garbage", timeout=5)
        await nc.close()

    asyncio.run(garbage())
    asyncio.run(append(nats_server.url, [make(HostJoined, host="lab1", incarnation="b1")], 2))
    result = haplan("events", "--json", url=nats_server.url)
    assert result.returncode == 0
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [1, 3]
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(e["event"], e["sequence"]) for e in logged] == [("unreadable event skipped", 2)]
    assert "1 unreadable message(s) skipped" in result.stderr


def test_events_follow_prints_new_events_until_interrupted(nats_server: NatsServer) -> None:
    """`events --follow --json` prints the log, then each new event as it is appended, and
    exits 0 on Ctrl-C."""
    assert haplan("pool", "create", str(LAB), url=nats_server.url).returncode == 0
    env = {**os.environ, "NATS_URL": nats_server.url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "events", "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=interruptible_child,
    )
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["seq"] == 1
        asyncio.run(append(nats_server.url, [make(HostJoined, host="lab2", incarnation="b")], 1))
        assert json.loads(proc.stdout.readline())["type"] == "host_joined"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_nats_without_jetstream_is_one_line_and_exit_69() -> None:
    """A NATS server that has no JetStream cannot hold the log: exit 69, one line saying so."""
    port = free_port()
    proc = subprocess.Popen(
        [str(locate_nats_server()), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,  # gone with the run, even a killed one
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        result = haplan("events", url=f"nats://127.0.0.1:{port}")
        assert result.returncode == 69
        line = one_line_error(result)
        assert "cannot open the event stream HA_EVENTS" in line and "JetStream" in line
    finally:
        proc.terminate()
        proc.wait()
