"""The account layout (services.deploy.accounts): one account per host's collector, and only
the collector's own subjects crossing between accounts."""

from __future__ import annotations

from services.common import wire
from services.deploy.accounts import CORE, HOST_CONNECTIONS, accounts, host_account
from services.deploy.permissions import SERVICE_ROLES, collector

HOSTS = ["lab1", "lab2", "lab3"]


def test_each_collector_is_alone_in_a_bounded_account() -> None:
    """The core account holds every service role and JetStream, unbounded; each host's account
    holds that host's collector only, with a connection limit."""
    core, *hosts = accounts(HOSTS)
    assert core.name == CORE and core.users == SERVICE_ROLES and core.jetstream
    assert core.max_connections is None
    assert [a.name for a in hosts] == [host_account(h) for h in HOSTS]
    for host, account in zip(HOSTS, hosts, strict=True):
        assert account.users == (collector(host),)
        assert account.max_connections == HOST_CONNECTIONS and not account.jetstream


def test_a_host_exports_its_own_subjects_and_imports_only_what_it_hears() -> None:
    """lab1 exports lab1's subjects only (its heartbeat to the core and its peers, the rest to
    the core); it imports its peers' heartbeats from them, and from the core only its own
    orders, its own inbox, the beacon, its own lease key and the JetStream API it uses."""
    _, lab1, *_ = accounts(HOSTS)
    assert all(e.subject.endswith(".lab1") for e in lab1.exports)
    beat = next(e for e in lab1.exports if e.subject == wire.heartbeat_subject("lab1"))
    assert beat.to == (CORE, host_account("lab2"), host_account("lab3"))
    assert {(i.subject, i.source) for i in lab1.imports if i.source != CORE} == {
        ("ha.hb.lab2", host_account("lab2")), ("ha.hb.lab3", host_account("lab3"))
    }  # fmt: skip
    from_core = {i.subject for i in lab1.imports if i.source == CORE}
    role = collector("lab1")
    jetstream = {s for s in role.publish if s.startswith(("$JS.", "$KV."))}
    assert from_core == jetstream | {
        "_INBOX.collector-lab1.>", wire.BEACON, wire.command_subject("lab1")
    }  # fmt: skip
    assert "$KV.ha_leases.host.lab1" in from_core
    assert not any("lab2" in s or "lab3" in s or s.endswith("*") for s in from_core)


def test_the_core_exports_each_host_its_own_subjects_only() -> None:
    """What the core exports per host (orders, inbox, lease key) goes to that host's account
    alone; what all collectors use (the beacon, the JetStream API) to every host's account."""
    core, *_ = accounts(HOSTS)
    every = tuple(host_account(h) for h in HOSTS)
    for export in core.exports:
        owner = [h for h in HOSTS if export.subject.endswith((f".{h}", f"-{h}.>"))]
        assert export.to == (tuple(host_account(h) for h in owner) or every), export
