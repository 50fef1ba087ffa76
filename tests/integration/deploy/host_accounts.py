"""The account-per-host layout evaluated for bounding one host's connections
(docs/protocol.md, Per-credential limits): not the product's model, the candidate that
test_host_accounts.py and bench/host_accounts.py run on a real nats-server.

Account CORE holds the arbiter (and would hold planners, operators, JetStream); each host's
collector is alone in account HOST_<host> with `limits { max_connections }`. Every subject a
collector uses today crosses the boundary through one export/import pair, exactly:
- its heartbeat goes to CORE and to every other host (a stream export per host, one import
  per pair: CORE cannot pass them on, test_host_accounts shows why);
- the beacon and its own commands come from CORE (stream imports); its status requests come
  from CORE (a service exported by the host, so that it can answer);
- the JetStream calls it makes (log reads by ordered consumer, lease reads, its own lease key)
  are services of CORE, one import per API subject; its consumers deliver to its own inbox,
  a stream CORE exports to that host only.
Passwords are the user names (a throwaway server).
"""

from __future__ import annotations

STREAM_API = (
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.HA_EVENTS",
    "$JS.API.CONSUMER.CREATE.HA_EVENTS",
    "$JS.API.CONSUMER.CREATE.HA_EVENTS.>",
    "$JS.FC.HA_EVENTS.>",
    "$JS.API.STREAM.INFO.KV_ha_leases",
    "$JS.API.STREAM.MSG.GET.KV_ha_leases",
)
CORE_USER = "arbiter"


def account(host: str) -> str:
    return f"HOST_{host}"


def user(host: str) -> str:
    return f"collector-{host}"


def _list(items: list[str]) -> str:
    return "[\n" + "".join(f"      {i}\n" for i in items) + "    ]"


def _core(hosts: list[str]) -> str:
    all_hosts = ", ".join(account(h) for h in hosts)
    exports = [f'{{service: "{s}", accounts: [{all_hosts}]}}' for s in STREAM_API]
    exports.append(f'{{stream: "ha.arb.beacon", accounts: [{all_hosts}]}}')
    for h in hosts:
        exports += [
            f'{{stream: "ha.cmd.{h}", accounts: [{account(h)}]}}',
            f'{{stream: "_INBOX.{user(h)}.>", accounts: [{account(h)}]}}',
            f'{{service: "$KV.ha_leases.host.{h}", accounts: [{account(h)}]}}',
        ]
    imports = []
    for h in hosts:
        imports += [
            f'{{stream: {{account: {account(h)}, subject: "ha.hb.{h}"}}}}',
            f'{{service: {{account: {account(h)}, subject: "ha.status.{h}"}}}}',
        ]
    return (
        "  CORE: {\n    jetstream: enabled\n"
        f'    users: [ {{user: "{CORE_USER}", password: "{CORE_USER}"}} ]\n'
        f"    exports: {_list(exports)}\n    imports: {_list(imports)}\n  }}\n"
    )


def _host(host: str, hosts: list[str], max_connections: int) -> str:
    peers = [p for p in hosts if p != host]
    hearers = ", ".join(["CORE", *(account(p) for p in peers)])
    exports = [
        f'{{stream: "ha.hb.{host}", accounts: [{hearers}]}}',
        f'{{service: "ha.status.{host}", accounts: [CORE]}}',
    ]
    imports = [f'{{stream: {{account: {account(p)}, subject: "ha.hb.{p}"}}}}' for p in peers]
    imports += [
        '{stream: {account: CORE, subject: "ha.arb.beacon"}}',
        f'{{stream: {{account: CORE, subject: "ha.cmd.{host}"}}}}',
        f'{{stream: {{account: CORE, subject: "_INBOX.{user(host)}.>"}}}}',
        f'{{service: {{account: CORE, subject: "$KV.ha_leases.host.{host}"}}}}',
        *(f'{{service: {{account: CORE, subject: "{s}"}}}}' for s in STREAM_API),
    ]
    return (
        f"  {account(host)}: {{\n"
        f'    users: [ {{user: "{user(host)}", password: "{user(host)}"}} ]\n'
        f"    limits: {{ max_connections: {max_connections} }}\n"
        f"    exports: {_list(exports)}\n    imports: {_list(imports)}\n  }}\n"
    )


def render(hosts: list[str], max_connections: int = 2) -> str:
    """A server configuration (accounts only; ports and JetStream from the command line)."""
    body = _core(hosts) + "".join(_host(h, hosts, max_connections) for h in hosts)
    return f"accounts {{\n{body}}}\n"


# The one layout that would share heartbeats in O(hosts) imports: every host's heartbeat
# into CORE, and CORE's `ha.hb.*` out to every host.
def render_relayed_heartbeats(hosts: list[str]) -> str:
    all_hosts = ", ".join(account(h) for h in hosts)
    core_imports = "".join(
        f'      {{stream: {{account: {account(h)}, subject: "ha.hb.{h}"}}}}\n' for h in hosts
    )
    body = (
        f'  CORE: {{ users: [ {{user: "{CORE_USER}", password: "{CORE_USER}"}} ]\n'
        f'    exports: [ {{stream: "ha.hb.*", accounts: [{all_hosts}]}} ]\n'
        f"    imports: [\n{core_imports}    ] }}\n"
    )
    for h in hosts:
        body += (
            f'  {account(h)}: {{ users: [ {{user: "{user(h)}", password: "{user(h)}"}} ]\n'
            f'    exports: [ {{stream: "ha.hb.{h}", accounts: [CORE]}} ]\n'
            '    imports: [ {stream: {account: CORE, subject: "ha.hb.*"}} ] }\n'
        )
    return f"accounts {{\n{body}}}\n"
