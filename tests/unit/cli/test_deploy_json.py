"""`haplan deploy nats-auth` and `haplan deploy health` take --json like every other command."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.cli.main import main


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def healthy_url() -> Iterator[str]:
    """A loopback HTTP server answering 200, for the test's lifetime."""
    server = HTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/healthz"
    finally:
        server.shutdown()
        server.server_close()


def _run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, Any]:
    monkeypatch.setattr(sys, "argv", ["haplan", "deploy", *args, "--json"])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0), json.loads(capsys.readouterr().out)


def test_health_json_says_healthy_or_why_not_with_the_same_exit_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, healthy_url: str
) -> None:
    """A URL answering 200: exit 0 and {"healthy": true}; a port nobody listens on: exit 1 and
    {"healthy": false} with the reason; the URL asked is named either way."""
    code, answer = _run(capsys, monkeypatch, "health", healthy_url)
    assert code == 0 and answer == {"url": healthy_url, "healthy": True, "problem": None}
    code, answer = _run(capsys, monkeypatch, "health", "http://127.0.0.1:9/healthz")
    assert code == 1 and answer["healthy"] is False and "does not answer" in answer["problem"]


def test_nats_auth_json_holds_the_block_or_names_the_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """To standard output the JSON carries the authorization block; with -o the block goes to
    the file (the same text) and the JSON names it."""
    code, answer = _run(capsys, monkeypatch, "nats-auth", "lab1", "lab2")
    assert code == 0 and answer["hosts"] == ["lab1", "lab2"]
    block = answer["authorization"]
    assert "authorization" in block and "collector-lab2" in block
    target = tmp_path / "auth.conf"
    code, written = _run(capsys, monkeypatch, "nats-auth", "lab1", "lab2", "-o", str(target))
    assert code == 0 and written == {"hosts": ["lab1", "lab2"], "file": str(target)}
    assert target.read_text() == answer["authorization"]
