"""Which NATS account each user lives in, and what crosses between accounts.

Each host's collector is alone in an account of its own, so that the server can bound what one
host's credential takes: its connections are counted for its account only (a user has no
connection limit; docs/protocol.md, Per-credential limits). Arbiters, planners, operators and
the admin share the core account, which holds JetStream (the event log and the leases).

Accounts isolate subjects, so every subject a collector uses today crosses by one export and
one import, derived here from the collector's own permissions (services.deploy.permissions) so
that the two cannot drift, and exactly: an import per subject, no wildcard wider than the
permission it serves.
- what it publishes on its own subjects (heartbeat, store observation, fenced notice, join
  request, report) goes to the core account; its heartbeat also to every other host, each
  importing it from that host (the core account cannot pass imports on: "import forms a cycle");
- what it asks of JetStream (the JetStream API subjects and its own lease key) is a service of
  the core account, whose answers come back through the import;
- what it hears from the core account (beacons, its orders, and its consumers' messages on its
  own inbox) is a stream that account exports to it alone, and its status requests are a
  service it exports to the core account (so that it may answer them).
A subject of the collector's permissions that fits none of these raises, rather than being left
unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.common import wire
from services.deploy.permissions import SERVICE_ROLES, Role, collector, host_token, inbox

CORE = "HAPLAN"
# A collector keeps one connection; a restarted one may overlap its predecessor for a moment,
# and `haplan` commands run with the host's credential need one each.
HOST_CONNECTIONS = 4

Kind = Literal["stream", "service"]


@dataclass(frozen=True, slots=True)
class Export:
    kind: Kind
    subject: str
    to: tuple[str, ...]  # the accounts that may import it


@dataclass(frozen=True, slots=True)
class Import:
    kind: Kind
    subject: str
    source: str  # the account that exports it


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    users: tuple[Role, ...]
    exports: tuple[Export, ...] = ()
    imports: tuple[Import, ...] = ()
    jetstream: bool = False
    max_connections: int | None = None


def host_account(host: str) -> str:
    """`lab1` -> `HOST_LAB1`: one-to-one, as the password variables (permissions.host_token)."""
    return f"HOST_{host_token(host)}"


def _host(host: str, hosts: list[str]) -> tuple[Account, list[Export], list[Import]]:
    """`host`'s account, and what the core account must export to it and import from it."""
    role = collector(host)
    name = host_account(host)
    peers = [p for p in hosts if p != host]
    exports: list[Export] = []
    imports: list[Import] = []
    core_exports: list[Export] = []
    core_imports: list[Import] = []
    for subject in role.publish:
        if subject.startswith(("$JS.", "$KV.")):
            imports.append(Import("service", subject, CORE))
            core_exports.append(Export("service", subject, (name,)))
        elif subject == wire.heartbeat_subject(host):
            exports.append(Export("stream", subject, (CORE, *map(host_account, peers))))
            core_imports.append(Import("stream", subject, name))
        elif subject in _reported(host):
            exports.append(Export("stream", subject, (CORE,)))
            core_imports.append(Import("stream", subject, name))
        else:
            raise ValueError(f"no account layout for {role.user}'s publish subject {subject}")
    for subject in role.subscribe:
        if subject == wire.HEARTBEATS:
            for peer in peers:
                imports.append(Import("stream", wire.heartbeat_subject(peer), host_account(peer)))
        elif subject == wire.status_subject(host):
            exports.append(Export("service", subject, (CORE,)))
            core_imports.append(Import("service", subject, name))
        elif subject in (inbox(role.user), wire.BEACON, wire.command_subject(host)):
            imports.append(Import("stream", subject, CORE))
            core_exports.append(Export("stream", subject, (name,)))
        else:
            raise ValueError(f"no account layout for {role.user}'s subscribe subject {subject}")
    account = Account(
        name, (role,), tuple(exports), tuple(imports), max_connections=HOST_CONNECTIONS
    )
    return account, core_exports, core_imports


def _reported(host: str) -> tuple[str, ...]:
    return (
        wire.observation_subject(host),
        wire.fenced_subject(host),
        wire.join_subject(host),
        wire.report_subject(host),
    )


def _merged(exports: list[Export]) -> tuple[Export, ...]:
    """One export per subject, to every account that needs it (in first-seen order)."""
    merged: dict[tuple[Kind, str], list[str]] = {}
    for export in exports:
        merged.setdefault((export.kind, export.subject), []).extend(export.to)
    return tuple(Export(kind, subject, tuple(to)) for (kind, subject), to in merged.items())


def accounts(hosts: list[str]) -> list[Account]:
    """The accounts of a pool with these hosts: the core account first."""
    host_accounts: list[Account] = []
    core_exports: list[Export] = []
    core_imports: list[Import] = []
    for host in hosts:
        account, exports, imports = _host(host, hosts)
        host_accounts.append(account)
        core_exports += exports
        core_imports += imports
    core = Account(CORE, SERVICE_ROLES, _merged(core_exports), tuple(core_imports), jetstream=True)
    return [core, *host_accounts]
