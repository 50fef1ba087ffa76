"""A real `haplan up` for tests: a subprocess in a private runtime directory, and what tests
read from it (its JSON-lines output, `haplan status --json`, the VM disk logs).

Everything it started is gone after `close()`, pass or fail: up is stopped with SIGINT, then
SIGKILLed if it does not stop, and any process of its run (found by its scope, or by the
runtime directory in its command line) is killed before the directory is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from services.common.lifetime import die_with_parent
from services.up.procs import scopes
from services.up.runtime import UpRecord, read_record
from tests.fixtures.disks import overlaps, writers

ROOT = Path(__file__).resolve().parents[3]
T = 3.0  # the pool's HA timeout: interval 0.3 s, T_dead 4.2 s
START_S = 40.0  # generous: four Python services start at once on a 2-core CI machine
X = TypeVar("X")
__all__ = ["Up", "haplan", "overlaps", "private_env", "short_tmp", "writers"]


def haplan(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def private_env(runtime_parent: Path) -> dict[str, str]:
    """This environment with a runtime directory of its own and no NATS server named: what
    a user's second terminal looks like."""
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "HAPLAN_NATS_URL")}
    env["XDG_RUNTIME_DIR"] = str(runtime_parent)
    env["COLUMNS"] = "200"
    return env


def short_tmp() -> Path:
    # A unix socket path must stay under 108 bytes: pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="hu-", dir="/tmp"))


class Up:
    def __init__(self, timeout_s: float | None = T, pool_file: Path | None = None) -> None:
        """`haplan up [POOL] [--timeout T] --json-log`: `--timeout` only when `timeout_s` is
        given, POOL only when `pool_file` is."""
        self.parent = short_tmp()
        self.runtime = self.parent / "haplan"
        self.env = private_env(self.parent)
        self.lines: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stderr = (self.parent / "up.stderr").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "up",
             *([] if pool_file is None else [str(pool_file)]),
             *([] if timeout_s is None else ["--timeout", str(timeout_s)]), "--json-log"],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr, start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.record: UpRecord | None = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with contextlib.suppress(ValueError), self._lock:
                self.lines.append(json.loads(raw))

    # Reading ---------------------------------------------------------------------------------

    def haplan(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A command from another terminal of the same user: no flag, no NATS_URL."""
        return haplan(self.env, *args)

    def events(self, type_: str | None = None, **match: Any) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self.lines if e.get("kind") == "event"]
        return [
            e
            for e in found
            if (type_ is None or e["type"] == type_)
            and all(e.get(k) == v for k, v in match.items())
        ]

    def notes(self, member: str) -> list[dict[str, Any]]:
        with self._lock:
            return [n for n in self.lines if n.get("kind") == "up" and n.get("member") == member]

    def status(self) -> dict[str, Any]:
        done = self.haplan("status", "--json")
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    def disk(self, vm: str = "Minion 1") -> Path:
        return self.runtime / "storage" / "shared" / "disks" / f"{vm}.log"

    def log(self, member: str) -> str:
        return (self.runtime / "logs" / f"{member}.log").read_text(errors="replace")

    def eventually(self, probe: Callable[[], X | None], timeout_s: float, what: str) -> X:
        """The first truthy result of `probe`, polled until `timeout_s`; fails saying `what`
        was awaited, with up's stderr and its latest lines."""
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, (
                f"haplan up exited {self.proc.returncode}: {self.stderr()}"
            )
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                with self._lock:
                    tail = self.lines[-15:]
                raise AssertionError(f"not within {timeout_s:g} s: {what}; latest: {tail}")
            time.sleep(0.2)

    def stderr(self) -> str:
        return (self.parent / "up.stderr").read_text(errors="replace")

    # The pool --------------------------------------------------------------------------------

    def started(self) -> UpRecord:
        """The runtime file, once up has written it."""
        self.record = self.eventually(lambda: _try_read(self.runtime), START_S, "up.json")
        return self.record

    def state(self) -> tuple[dict[str, str], dict[str, tuple[str | None, str]]] | None:
        """(host -> state, VM -> (host, power state)) as `haplan status --json` says."""
        s = self.status()
        if s.get("leader") is None:
            return None
        hosts = {h["name"]: h["state"] for h in s["hosts"]}
        vms = {v["name"]: (v["host"], v["power_state"]) for v in s["vms"]}
        return hosts, vms

    def wait_state(
        self,
        hosts: dict[str, str],
        vms: dict[str, tuple[str | None, str]],
        timeout_s: float,
        what: str,
    ) -> None:
        def matches() -> bool:
            now = self.state()
            return now is not None and now[0] == hosts and now[1] == vms

        self.eventually(matches, timeout_s, f"{what} (status: {hosts} {vms})")

    def wait_live(self) -> None:
        """The article's start: both hosts live, Minion 1 running on lab1, for real: started
        by lab1's collector (the log's vm_started) and writing its disk from lab1. (The pool
        file places it there, so the status says so from the start.)"""
        self.started()
        self.wait_state(
            {"lab1": "live", "lab2": "live"}, {"Minion 1": ("lab1", "running")}, START_S,
            "the lab pool live",
        )  # fmt: skip
        self.eventually(
            lambda: self.events("vm_started", vm="Minion 1", host="lab1"), START_S,
            "Minion 1 started on lab1",
        )  # fmt: skip
        self.eventually(
            lambda: (
                self.disk().exists()
                and {h for h, _, _ in writers(self.disk()).values()} == {"lab1"}
            ),
            START_S,
            "Minion 1 writing its disk from lab1",
        )

    def fault(self, kind: str, host: str) -> dict[str, Any]:
        done = self.haplan("fault", kind, host, "--json")
        assert done.returncode == 0, done.stderr
        reply: dict[str, Any] = json.loads(done.stdout)
        return reply

    # Ending ----------------------------------------------------------------------------------

    def interrupt(self, timeout_s: float = 30.0) -> int:
        """Ctrl-C: SIGINT to up alone, as a terminal's Ctrl-C reaches it; its exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout_s)

    def leftovers(self) -> list[str]:
        """Processes of this run still alive: by scope, or naming the runtime directory."""
        run = self.record.run if self.record is not None else None
        found = []
        for pid, tag in scopes().items():
            if run is not None and tag.startswith(run + "/"):
                found.append(f"{pid} {tag}")
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    if str(self.parent) in cmd and "pytest" not in cmd:
                        found.append(f"{entry.name} {cmd}")
        return found

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
            for line in self.leftovers():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(line.split()[0]), signal.SIGKILL)
        finally:
            self._stderr.close()
            shutil.rmtree(self.parent, ignore_errors=True)


def _try_read(runtime: Path) -> UpRecord | None:
    try:
        return read_record(runtime)
    except ValueError:
        return None
