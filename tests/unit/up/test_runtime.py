"""Finding `haplan up` from another command: where its runtime file lives, when the file
counts as a live `up` (its pid runs and started when the file says) and when as stale, and
the settings every command derives from it (explicit choices win)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.events import bus_settings
from services.cli.output import UserError
from services.common.settings import DEFAULT_NATS_URL
from services.up.credentials import OPERATOR, generate, read_credential
from services.up.runtime import (
    RUNTIME_FILE,
    UNKNOWN,
    HostControls,
    RuntimeFileError,
    UpRecord,
    find_live,
    is_live,
    proc_start_time,
    read_record,
    runtime_dir,
    write_record,
)


def record(
    pid: int = 4242,
    started: str | None = "1000",
    url: str = "nats://127.0.0.1:4999",
    operator: str = "/run/user/1/haplan/credentials/operator.json",
) -> UpRecord:
    return UpRecord(
        pid=pid,
        started=started,
        nats_url=url,
        operator=operator,
        control="/run/user/1/haplan/control.sock",
        pool="Lab pool",
        timeout_s=5.0,
        logs="/run/user/1/haplan/logs",
        run=f"{pid}-abc",
        hosts={"lab1": HostControls("/s/lab1", "127.0.0.1:1", "/l/lab1.log")},
    )


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_runtime_directory_is_under_xdg_runtime_dir_else_per_user_in_tmp() -> None:
    """$XDG_RUNTIME_DIR/haplan when set (and not blank), /tmp/haplan-<uid> otherwise."""
    assert runtime_dir({"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000) == Path("/run/user/1000/haplan")
    assert runtime_dir({}, 1000) == Path("/tmp/haplan-1000")
    assert runtime_dir({"XDG_RUNTIME_DIR": "  "}, 7) == Path("/tmp/haplan-7")


def test_a_record_is_live_only_while_its_pid_runs_with_the_recorded_start_time() -> None:
    """Same pid and start time: live. No such process: stale. The pid reused by a process
    that started at another time: stale. A running pid whose start time cannot be read, or a
    record without one: live."""
    rec = record(started="1000")
    assert is_live(rec, lambda pid: "1000")
    assert not is_live(rec, lambda pid: None)
    assert not is_live(rec, lambda pid: "2000")
    assert is_live(rec, lambda pid: UNKNOWN)
    assert is_live(record(started=None), lambda pid: "2000")


def test_this_process_is_live_and_a_reaped_one_is_not() -> None:
    """The /proc probe: our own pid has a start time that stays the same; a reaped child's
    pid has none."""
    mine = proc_start_time(os.getpid())
    assert mine is not None and mine == proc_start_time(os.getpid())
    assert proc_start_time(dead_pid()) is None


def test_a_record_survives_the_round_trip_through_its_file(tmp_path: Path) -> None:
    """What `up` writes is what commands read back, and no temporary file stays behind."""
    rec = record()
    write_record(tmp_path, rec)
    assert read_record(tmp_path) == rec
    assert [p.name for p in tmp_path.iterdir()] == [RUNTIME_FILE]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": 1}', '{"format": 99, "pid": 1}'])
def test_a_torn_or_foreign_file_is_unreadable_and_finds_no_up(tmp_path: Path, text: str) -> None:
    """A file that is not a complete record of this format raises RuntimeFileError when read,
    and discovery treats it as no `up` at all."""
    (tmp_path / RUNTIME_FILE).write_text(text)
    with pytest.raises(RuntimeFileError):
        read_record(tmp_path)
    assert find_live(tmp_path) is None


def test_discovery_finds_a_live_up_and_ignores_a_stale_file(tmp_path: Path) -> None:
    """No file: nothing. A file whose process runs (this one): found. A file left by a
    process that died: nothing."""
    assert find_live(tmp_path) is None
    live = record(pid=os.getpid(), started=proc_start_time(os.getpid()))
    write_record(tmp_path, live)
    assert find_live(tmp_path) == live
    write_record(tmp_path, record(pid=dead_pid(), started="1"))
    assert find_live(tmp_path) is None


@pytest.fixture
def up_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runtime directory of this user, the environment naming no NATS server."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("HAPLAN_NATS_URL", raising=False)
    (tmp_path / "haplan").mkdir()
    return tmp_path / "haplan"


def test_commands_use_a_live_ups_server_when_nothing_names_one(
    up_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --nats and NATS_URL, a command's bus settings point at the live `up`'s
    private server, as up's operator user (the credential file its runtime file names),
    whatever user the shell names; with a stale file, at the default server."""
    url = "nats://127.0.0.1:4999"
    operator = generate(up_dir / "credentials", ["lab1"]).file(OPERATOR)
    monkeypatch.setenv("HAPLAN_NATS_USER", "someone-else")
    monkeypatch.setenv("HAPLAN_NATS_PASSWORD", "their-password")
    live = record(pid=os.getpid(), started=proc_start_time(os.getpid()), url=url,
                  operator=str(operator))  # fmt: skip
    write_record(up_dir, live)
    settings = bus_settings(None)
    assert settings.nats_url == url and settings.nats_user == "operator"
    assert settings.nats_password is not None
    assert settings.nats_password.get_secret_value() == read_credential(operator).password
    write_record(up_dir, record(pid=dead_pid(), url=url))
    settings = bus_settings(None)
    assert settings.nats_url == DEFAULT_NATS_URL and settings.nats_user == "someone-else"


def test_a_live_up_whose_operator_credential_is_unreadable_is_one_line(up_dir: Path) -> None:
    """A live `up` whose runtime file names a credential file that cannot be read: a
    UserError naming the file, not a connection without credentials."""
    missing = up_dir / "credentials" / "operator.json"
    write_record(up_dir, record(pid=os.getpid(), started=proc_start_time(os.getpid()),
                                operator=str(missing)))  # fmt: skip
    with pytest.raises(UserError, match=r"cannot read .*operator\.json"):
        bus_settings(None)


def test_nats_url_and_the_nats_flag_win_over_a_live_up(
    up_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit server (NATS_URL, or --nats over everything) is used even while `up` runs."""
    write_record(up_dir, record(pid=os.getpid(), started=proc_start_time(os.getpid())))
    assert bus_settings("nats://127.0.0.1:5111").nats_url == "nats://127.0.0.1:5111"
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:5222")
    assert bus_settings(None).nats_url == "nats://127.0.0.1:5222"
    assert bus_settings("nats://127.0.0.1:5111").nats_url == "nats://127.0.0.1:5111"
