"""Certificates for the compose stack's TLS profile (`haplan deploy certs`, README, Running the
compose stack): a CA of the stack's own and one certificate, signed by it, that names every
NATS node (and the host's loopback, where nats-1's port is published), used by every node for
clients and routes as deploy/nats/haplan-tls.conf expects. Files already there are kept.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.private_file import write_private

CA, CERT, KEY = "ca.pem", "server.pem", "server-key.pem"
VALID = datetime.timedelta(days=825)
LOOPBACK = ("localhost", "127.0.0.1")
# One certificate for both ends of a route: a node serves it and presents it.
USAGES = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _alt_names(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys([*names, *LOOPBACK]):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_certs(directory: Path, names: list[str], now: datetime.datetime,
               owner: tuple[int, int] | None = None) -> bool:  # fmt: skip
    """CA, certificate and key in `directory` unless the certificate is already there; True
    when they were made. Only the key is private (0600, handed to `owner`)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / CERT).exists():
        return False
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("haplan compose CA"))
        .issuer_name(_name("haplan compose CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + VALID)
        .add_extension(_alt_names(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(USAGES), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    # The CA's key is not kept: nothing else is ever signed with it.
    write_private(directory / KEY, _key_pem(key))
    (directory / CA).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for public in (CA, CERT):
        (directory / public).chmod(0o644)
    if owner is not None:
        for item in (directory, directory / KEY, directory / CA, directory / CERT):
            os.chown(item, *owner)
    return True
