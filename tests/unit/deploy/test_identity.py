"""Who a process is to NATS: credentials and TLS from HAPLAN_NATS_*, checked when read, and
turned into nats-py's connect arguments; refusals told apart from a server not up yet."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.cli.events import bus_settings
from services.cli.output import UserError
from services.common.identity import identity, permission_refused, refusal
from services.common.settings import IDENTITY_VARIABLES, BusSettings
from tests.fixtures.tls import make_tls_files


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_no_credentials_means_no_connect_arguments() -> None:
    """Without HAPLAN_NATS_* nothing is sent: the private server of `haplan up` needs none."""
    assert identity(BusSettings()) == {}


def test_a_user_and_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """HAPLAN_NATS_USER / _PASSWORD become the connect's user and password, and the user's
    replies come back on its own inbox prefix (what deploy/nats/auth.conf lets it read)."""
    monkeypatch.setenv("HAPLAN_NATS_USER", "collector-lab1")
    monkeypatch.setenv("HAPLAN_NATS_PASSWORD", "s3cret")
    settings = BusSettings()
    assert "s3cret" not in repr(settings)  # settings are logged: the password never shows
    assert identity(settings) == {
        "user": "collector-lab1", "password": "s3cret", "inbox_prefix": "_INBOX.collector-lab1",
    }  # fmt: skip


def test_a_password_without_a_user_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password alone is refused by the CLI's settings with the variable's name."""
    monkeypatch.setenv("HAPLAN_NATS_PASSWORD", "s3cret")
    with pytest.raises(UserError, match="invalid HAPLAN_NATS_PASSWORD: a password without"):
        bus_settings(None)


def test_user_and_creds_file_exclude_each_other(tmp_path: Path) -> None:
    """One identity at a time: a user and a creds file together are refused."""
    creds = tmp_path / "x.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\n")
    with pytest.raises(ValidationError, match="not both"):
        BusSettings(nats_user="u", nats_creds=creds)
    assert identity(BusSettings(nats_creds=creds)) == {"user_credentials": str(creds)}


def test_tls_files_must_exist_and_a_cert_needs_its_key(tmp_path: Path) -> None:
    """A CA that is not a file, or a client certificate without its key, is refused."""
    with pytest.raises(ValidationError, match="is not a readable file"):
        BusSettings(nats_tls_ca=tmp_path / "missing.pem")
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ValidationError, match="go together"):
        BusSettings(nats_tls_cert=cert)


def test_tls_starts_first_with_the_given_ca(tmp_path: Path) -> None:
    """With a CA, the client does TLS before anything else (no server can talk it out of
    TLS) and verifies the servers against that CA; a client certificate is loaded too."""
    files = make_tls_files(tmp_path)
    kwargs = identity(BusSettings(nats_tls_ca=files.ca))
    assert kwargs["tls_handshake_first"] is True
    context = kwargs["tls"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode is ssl.CERT_REQUIRED
    assert context.get_ca_certs()[0]["subject"] == ((("commonName", "haplan test CA"),),)
    mutual = identity(BusSettings(nats_tls_ca=files.ca, nats_tls_cert=files.cert,
                                  nats_tls_key=files.key))  # fmt: skip
    assert isinstance(mutual["tls"], ssl.SSLContext)


def test_private_settings_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`haplan up`'s own server: no credentials or TLS even when the shell has them."""
    monkeypatch.setenv("HAPLAN_NATS_USER", "operator")
    monkeypatch.setenv("HAPLAN_NATS_PASSWORD", "pw")
    private = BusSettings.private("nats://127.0.0.1:4222")
    assert identity(private) == {} and private.nats_url == "nats://127.0.0.1:4222"


def test_refusals_are_told_apart_from_outages() -> None:
    """An authorization violation or a TLS failure is a refusal naming what to check; a
    connection refused (server not up) is not."""
    settings = BusSettings(nats_user="arbiter", nats_password="x")
    said = refusal(Exception("nats: 'Authorization Violation'"), settings)
    assert said is not None and "refused user 'arbiter'" in said and "HAPLAN_NATS_PASSWORD" in said
    tls = refusal(ssl.SSLCertVerificationError(1, "certificate verify failed"), settings)
    assert tls is not None and "HAPLAN_NATS_TLS_CA" in tls
    assert refusal(ConnectionRefusedError(111, "Connection refused"), settings) is None
    denied = permission_refused(Exception("nats: 'Permissions Violation for Publish to \"x\"'"))
    assert denied == 'Permissions Violation for Publish to "x"'
    assert permission_refused(Exception("nats: timeout")) is None
