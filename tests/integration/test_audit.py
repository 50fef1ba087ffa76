"""`haplan audit` against a real nats-server: the log exported and audited offline gives the
same answers as online, and a copy with ONE decision tampered with fails verify, naming it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from services.audit import Entry
from services.common.bus import connect
from services.common.eventstore import JetStreamEventStore
from services.common.natsserver import NatsServer, free_port
from services.common.settings import BusSettings
from tests.unit.audit.logs import every_decision_log, failover_log


def haplan(*args: str | Path, url: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NATS_URL": url, "HAPLAN_CONNECT_TIMEOUT_S": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def record(url: str, entries: list[Entry]) -> None:
    """Append the entries to the server's event log, at the sequences they carry."""

    async def run() -> None:
        nc = await connect(BusSettings(nats_url=url), name="test", initial_timeout_s=5)
        try:
            store = await JetStreamEventStore.open(nc)
            for entry in entries:
                assert await store.append([entry.event], entry.seq - 1) == entry.seq
        finally:
            await nc.close()

    asyncio.run(run())


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_export_then_verify_offline_agrees_with_verify_online(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The exported file holds every event with its sequence; verify --file and verify on
    NATS give the same report, every decision agreeing (exit 0)."""
    log = every_decision_log()
    record(nats_server.url, log.entries)
    export = tmp_path / "ha.jsonl"
    exported = haplan("audit", "export", export, "--json", url=nats_server.url)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == {
        "file": str(export), "events": 17, "last_seq": 17, "malformed": 0,
    }  # fmt: skip
    lines = export.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, 18))
    offline = haplan("audit", "verify", "--file", export, "--json", url="nats://127.0.0.1:9")
    online = haplan("audit", "verify", "--json", url=nats_server.url)
    assert offline.returncode == online.returncode == 0, (offline.stderr, online.stderr)
    assert json.loads(offline.stdout) == json.loads(online.stdout)
    assert json.loads(offline.stdout)["decisions"] == 14  # 12 and the 2 joins


def test_one_tampered_decision_in_a_copy_fails_verify_naming_it(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """In a copy of the exported log, the first plan claims the tight pool tolerates one
    failure: verify --file exits 1 naming sequence 4; the untampered export still exits 0."""
    record(nats_server.url, every_decision_log().entries)
    export = tmp_path / "ha.jsonl"
    assert haplan("audit", "export", export, url=nats_server.url).returncode == 0
    lines = export.read_text().splitlines()
    plan = json.loads(lines[3])
    assert plan["type"] == "plan_computed"
    plan.update(max_host_failures_to_tolerate=1, upper_bound=1, worst_failure_set=None)
    copy = tmp_path / "tampered.jsonl"
    copy.write_text("\n".join([*lines[:3], json.dumps(plan), *lines[4:]]) + "\n")

    tampered = haplan("audit", "verify", "--file", copy, "--json", url="nats://127.0.0.1:9")
    assert tampered.returncode == 1
    differences = json.loads(tampered.stdout)["differences"]
    assert differences[0]["seq"] == 4 and differences[0]["type"] == "plan_computed"
    assert "records 1, the replayed planner gives 0" in differences[0]["problem"]
    table = haplan("audit", "verify", "--file", copy, url="nats://127.0.0.1:9")
    assert table.returncode == 1 and "would not be made again" in table.stdout
    assert haplan("audit", "verify", "--file", export, url="nats://127.0.0.1:9").returncode == 0


def test_timeline_and_explain_read_nats(nats_server: NatsServer) -> None:
    """Without --file the audit reads the stream: the timeline of lab1 and why Minion 1 is
    on lab2."""
    record(nats_server.url, failover_log(fenced=True).entries)
    timeline = haplan("audit", "timeline", "--host", "lab1", "--json", url=nats_server.url)
    assert timeline.returncode == 0, timeline.stderr
    types = [json.loads(line)["type"] for line in timeline.stdout.splitlines()]
    assert types == ["pool_created", "host_joined", "host_suspected", "host_fenced",
                     "host_declared_dead"]  # fmt: skip
    explained = haplan("audit", "explain", "Minion 1", "--json", url=nats_server.url)
    assert explained.returncode == 0, explained.stderr
    data = json.loads(explained.stdout)
    assert data["host"] == "lab2"
    assert [s["role"] for s in data["chain"]][:3] == ["suspected", "fenced", "declared dead"]


def test_an_unreadable_message_on_the_bus_is_counted_not_fatal(nats_server: NatsServer) -> None:
    """A foreign message in the stream is skipped by export and verify and reported."""
    entries = failover_log().entries
    record(nats_server.url, entries[:3])

    async def garbage() -> None:
        nc = await connect(BusSettings(nats_url=nats_server.url), name="t", initial_timeout_s=5)
        await nc.request("ha.evt.pool", b"garbage", timeout=5)
        await nc.close()

    asyncio.run(garbage())
    result = haplan("audit", "verify", "--json", url=nats_server.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["malformed"] == 1
    assert "1 unreadable message(s) skipped" in result.stderr


def test_unreachable_nats_is_exit_69_for_every_audit(tmp_path: Path) -> None:
    """With no NATS listening each audit that reads the bus says so in one line (exit 69);
    an export that cannot be written is exit 2 and leaves no file behind."""
    url = f"nats://127.0.0.1:{free_port()}"
    for args in (("timeline",), ("explain", "Minion 1"), ("verify",),
                 ("export", str(tmp_path / "x.jsonl"))):  # fmt: skip
        result = haplan("audit", *args, url=url)
        assert result.returncode == 69, (args, result.stderr)
        assert f"cannot reach NATS at {url}" in one_line_error(result)
    assert list(tmp_path.iterdir()) == []


def test_export_to_an_unwritable_place_is_one_line(nats_server: NatsServer, tmp_path: Path) -> None:
    """A FILE in a directory that does not exist: exit 2, one line naming it."""
    record(nats_server.url, failover_log().entries[:1])
    target = tmp_path / "missing" / "ha.jsonl"
    result = haplan("audit", "export", target, url=nats_server.url)
    assert result.returncode == 2
    assert f"{target}: cannot write the export" in one_line_error(result)
