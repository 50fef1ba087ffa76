"""`haplan deploy certs` (services/deploy/certs.py): the compose TLS profile's certificates."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from services.deploy.certs import CA, CERT, KEY, make_certs

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_one_certificate_names_every_node_and_loopback_signed_by_the_ca(tmp_path: Path) -> None:
    """The certificate names each node, localhost and 127.0.0.1, is signed by the CA written
    beside it, and is valid now; only the key is private (0600)."""
    assert make_certs(tmp_path, ["nats-1", "nats-2", "nats-3"], NOW)
    ca = x509.load_pem_x509_certificate((tmp_path / CA).read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / CERT).read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {
        "nats-1", "nats-2", "nats-3", "localhost",
    }  # fmt: skip
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
    assert stat.S_IMODE((tmp_path / KEY).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / CA).stat().st_mode) == 0o644


def test_certificates_already_there_are_kept(tmp_path: Path) -> None:
    """Run again (the `certs` service on the next `compose up`), nothing is replaced: the
    running nodes and clients keep trusting the same CA."""
    assert make_certs(tmp_path, ["nats-1"], NOW)
    before = (tmp_path / CA).read_bytes()
    assert not make_certs(tmp_path, ["nats-1"], NOW)
    assert (tmp_path / CA).read_bytes() == before
