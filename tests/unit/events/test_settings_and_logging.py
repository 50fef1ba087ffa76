"""Bus settings from the environment, and the structured logging every service uses."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog
from pydantic import ValidationError

from services.common.logging import configure_logging, get_logger, log_context
from services.common.settings import DEFAULT_NATS_URL, BusSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NATS_URL", "HAPLAN_NATS_URL", "HAPLAN_STREAM_REPLICAS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_point_at_a_local_server() -> None:
    """With nothing set: nats://127.0.0.1:4222, one replica."""
    settings = BusSettings()
    assert settings.nats_url == DEFAULT_NATS_URL == "nats://127.0.0.1:4222"
    assert settings.servers == ["nats://127.0.0.1:4222"]
    assert settings.stream_replicas == 1


def test_nats_url_lists_servers_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """NATS_URL may list several servers; bare host:port gets the nats:// scheme."""
    monkeypatch.setenv("NATS_URL", "nats://a:4222, b:4223 ,")
    assert BusSettings().servers == ["nats://a:4222", "nats://b:4223"]


def test_an_explicit_url_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """--nats (passed as nats_url) wins over NATS_URL."""
    monkeypatch.setenv("NATS_URL", "nats://env:4222")
    assert BusSettings(nats_url="nats://flag:4222").servers == ["nats://flag:4222"]


def test_haplan_variables_set_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    """HAPLAN_STREAM_REPLICAS and friends come from the environment, validated."""
    monkeypatch.setenv("HAPLAN_STREAM_REPLICAS", "3")
    monkeypatch.setenv("HAPLAN_CONNECT_TIMEOUT_S", "0.5")
    settings = BusSettings()
    assert (settings.stream_replicas, settings.connect_timeout_s) == (3, 0.5)
    monkeypatch.setenv("HAPLAN_STREAM_REPLICAS", "0")
    with pytest.raises(ValidationError, match="stream_replicas"):
        BusSettings()


def test_an_empty_server_list_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NATS_URL naming no server is an error that says what to give."""
    monkeypatch.setenv("NATS_URL", " , ")
    with pytest.raises(ValidationError, match="names no server"):
        BusSettings()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("info", stream=out, tty=False)
    yield out
    structlog.reset_defaults()


@pytest.mark.parametrize(
    "url", ["bad url::", "nats://127.0.0.1:notaport", "http://127.0.0.1:4222", "nats://:4222"]
)
def test_a_server_that_is_not_a_nats_url_is_refused(url: str) -> None:
    """A URL the NATS client cannot use is refused up front, naming it, not deep in connect."""
    with pytest.raises(ValidationError, match="is not a URL like nats://HOST:PORT"):
        BusSettings(nats_url=f"nats://127.0.0.1:4222,{url}")


def test_off_a_tty_logs_are_json_lines_with_bound_context(json_log: io.StringIO) -> None:
    """Each log call is one JSON object carrying level, timestamp and the subject/sequence/
    host bound around it; the binding ends with its block."""
    log = get_logger("test")
    with log_context(subject="ha.evt.pool", sequence=7, host="lab1"):
        log.warning("something odd", detail="x")
    log.info("after")
    first, second = (json.loads(line) for line in json_log.getvalue().splitlines())
    assert first["event"] == "something odd" and first["level"] == "warning"
    assert (first["subject"], first["sequence"], first["host"]) == ("ha.evt.pool", 7, "lab1")
    assert first["timestamp"].endswith("Z")
    assert "sequence" not in second


def test_the_level_filters_lower_messages(json_log: io.StringIO) -> None:
    """Below the configured level nothing is written."""
    configure_logging("warning", stream=json_log, tty=False)
    get_logger("test").info("hidden")
    get_logger("test").warning("shown")
    assert [json.loads(line)["event"] for line in json_log.getvalue().splitlines()] == ["shown"]


def test_on_a_tty_logs_are_for_people() -> None:
    """On a terminal the console renderer writes readable lines, not JSON."""
    out = io.StringIO()
    configure_logging("info", stream=out, tty=True)
    try:
        get_logger("test").info("hello", host="lab1")
    finally:
        structlog.reset_defaults()
    line = out.getvalue()
    assert "hello" in line and "lab1" in line
    assert not line.lstrip().startswith("{")
