"""Who a process is to NATS, and how to tell the operator when NATS refuses it.

Credentials and TLS come from BusSettings (HAPLAN_NATS_USER / _PASSWORD, or _CREDS;
HAPLAN_NATS_TLS_CA, _CERT, _KEY). The servers enforce each user's subject permissions
(deploy/nats/, services.deploy.permissions); without credentials nothing is sent, as with the
private server of `haplan up`.
"""

from __future__ import annotations

import ssl
from typing import Any

from services.common.settings import BusSettings
from services.common.subjects import encode_token

# What nats-server says (in an -ERR line) when it refuses a connection's credentials, and when
# it refuses one message or subscription of an accepted connection.
_AUTH_REFUSED = ("authorization violation", "authentication expired", "authentication timeout")
PERMISSION_REFUSED = "permissions violation"


def identity(settings: BusSettings) -> dict[str, Any]:
    """The nats-py connect arguments that say who we are (user, creds file) and how to check
    the servers (TLS); empty without credentials."""
    kwargs: dict[str, Any] = {}
    if settings.nats_user:
        kwargs["user"] = settings.nats_user
        kwargs["inbox_prefix"] = inbox_prefix(settings.nats_user)
        if settings.nats_password is not None:
            kwargs["password"] = settings.nats_password.get_secret_value()
    if settings.nats_creds is not None:
        kwargs["user_credentials"] = str(settings.nats_creds)
    if settings.tls:
        context = ssl.create_default_context(
            cafile=None if settings.nats_tls_ca is None else str(settings.nats_tls_ca)
        )
        if settings.nats_tls_cert is not None and settings.nats_tls_key is not None:
            context.load_cert_chain(str(settings.nats_tls_cert), str(settings.nats_tls_key))
        kwargs["tls"] = context
        # TLS before anything else: nats-py would otherwise follow a server (or a man in the
        # middle) that offers no TLS and send the password in clear. The servers of
        # deploy/nats/tls.conf expect it (handshake_first).
        kwargs["tls_handshake_first"] = True
    return kwargs


def inbox_prefix(user: str) -> str:
    """Where `user`'s replies come back: each user subscribes to its own inboxes only, so
    that no role reads another's answers (`_INBOX.collector-lab1.<id>`)."""
    return f"_INBOX.{encode_token(user)}"


def who(settings: BusSettings) -> str:
    if settings.nats_user:
        return f"user {settings.nats_user!r}"
    if settings.nats_creds is not None:
        return f"the credentials in {settings.nats_creds}"
    return "a connection without credentials"


def refusal(exc: BaseException, settings: BusSettings) -> str | None:
    """A one-line reason when `exc`, met while connecting, means NATS refuses us for good
    (credentials, TLS): retrying cannot help, unlike a server that is not up yet."""
    text = str(exc).lower()
    if any(marker in text for marker in _AUTH_REFUSED):
        return (
            f"NATS at {settings.nats_url} refused {who(settings)} "
            "(check HAPLAN_NATS_USER / HAPLAN_NATS_PASSWORD, or HAPLAN_NATS_CREDS)"
        )
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc
        return (
            f"TLS with NATS at {settings.nats_url} failed: {reason} "
            "(check HAPLAN_NATS_TLS_CA, and HAPLAN_NATS_TLS_CERT / _KEY if the servers "
            "verify clients)"
        )
    return None


def permission_refused(exc: BaseException) -> str | None:
    """The server's words when `exc` (an async error of a connected client) is a refused
    publish or subscription: `Permissions Violation for Publish to "ha.evt.pool"`."""
    text = str(exc)
    if PERMISSION_REFUSED not in text.lower():
        return None
    return text.removeprefix("nats: ").strip("'")
