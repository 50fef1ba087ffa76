"""The real-fault lab: a pool of hosts as network namespaces, each with its own bindfs mount of
one shared store, its collector, process watchdog and process VMs inside; NATS (one server
or a 3-node JetStream cluster) in namespaces of its own; arbiters and a planner in a control
namespace, where the operator's `haplan` commands run too.

    bridge ns ── br0 ──┬── nats (198.18.0.2)          nats-server
                       ├── ctl  (198.18.0.3)          arbiter(s), planner, haplan CLI
                       ├── lab1 (198.18.0.4)          collector, watchdog, VMs; store: bindfs
                       └── lab2 ...

Faults are the article's cables: power (SIGKILL every process in the host's namespace, kept
off), storage (SIGKILL the host's bindfs: ENOTCONN), network (the host's link down), hang
(SIGSTOP the collector), and heal for each; NATS servers can be killed and started again,
or frozen (SIGSTOP) and resumed.
`close()` removes every namespace, mount and process, pass or fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from schemas.pool import Pool
from schemas.pool_file import dump_pool
from services.deploy.natsconf import render_auth
from services.deploy.permissions import roles
from services.up.keys import key_path, make_host_keys
from tests.e2e.mounts import StoreMount, leftover_mounts
from tests.e2e.natsnode import NatsNode
from tests.e2e.netns import Fabric, Node, leftover_namespaces
from tests.e2e.procs import Supervised, kill_node
from tests.e2e.waiting import Waiter
from tests.fixtures.disks import overlaps, writers

ROOT = Path(__file__).resolve().parents[2]
ENTRY = (sys.executable, "-m", "services.cli.main")
Fault = Literal["power", "storage", "network", "hang"]
VM = "Minion 1"


def article_pool(hosts: tuple[str, ...], timeout_s: float) -> dict[str, Any]:
    """The article's lab pool (Minion 1 protected on lab1) on `hosts`, HA timeout T."""
    return {
        "name": "Lab pool",
        "ha": {"enabled": True, "host_failures_to_tolerate": 1, "timeout_s": timeout_s},
        "hosts": [{"name": h, "memory_mib": 32768, "reserved_mib": 2048} for h in hosts],
        "vms": [
            {"name": VM, "memory_mib": 4096, "memory_overhead_mib": 64, "host": hosts[0],
             "ha_restart_priority": "restart"},
        ],
    }  # fmt: skip


@dataclass
class Lab(Waiter):
    hosts: tuple[str, ...] = ("lab1", "lab2")
    timeout_s: float = 3.0
    nats_nodes: int = 1  # 1, or 3 for a JetStream R3 cluster
    arbiters: int = 1
    pool: dict[str, Any] | None = None  # a pool file's content; None: the article's pool
    # NATS with the shipped permission model (deploy/nats: one user per role and per host),
    # every process connecting as its own user; False: no authentication.
    secured: bool = False
    # Which NATS node each process connects to (process: arbN, planner, operator, or a host
    # -> node name n1..n3); a process not named here is given every node. A process given
    # one node learns the others from the cluster (the servers advertise their client URLs)
    # and reconnects to one of them when it loses its own.
    homes: dict[str, str] = field(default_factory=dict)
    fabric: Fabric = field(default_factory=Fabric)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hpe-", dir="/tmp")))
    nats: list[NatsNode] = field(default_factory=list)
    mounts: dict[str, StoreMount] = field(default_factory=dict)
    collectors: dict[str, Supervised] = field(default_factory=dict)
    services: dict[str, Supervised] = field(default_factory=dict)  # arbiters, the planner

    # Layout ----------------------------------------------------------------------------------

    @property
    def shared(self) -> Path:
        return self.root / "shared"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def ctl(self) -> Node:
        return self.fabric.nodes["ctl"]

    def node(self, host: str) -> Node:
        return self.fabric.nodes[host]

    def disk(self, vm: str = VM) -> Path:
        return self.shared / "disks" / f"{vm}.log"

    @property
    def nats_url(self) -> str:
        return ",".join(n.url for n in self.nats)

    def env(self, user: str = "operator", home: str | None = None) -> dict[str, str]:
        """The environment of a process of the lab that connects to NATS as `user`, to the
        NATS node `home` only if given (see `homes`)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "HAPLAN_"))}
        if self.secured:
            env.update(HAPLAN_NATS_USER=user, HAPLAN_NATS_PASSWORD=f"pw-{user}")
        env.update(
            NATS_URL=self.nats_url if home is None else self.nats_server(home).url,
            HAPLAN_STREAM_REPLICAS="3" if self.nats_nodes == 3 else "1",
            PYTHONPATH=str(ROOT),
            PYTHONUNBUFFERED="1",
            XDG_RUNTIME_DIR=str(self.root),  # never finds a `haplan up` of the machine
            COLUMNS="200",
        )
        return env

    # Starting --------------------------------------------------------------------------------

    def start(self) -> None:
        self.logs.mkdir()
        (self.shared / "ha").mkdir(parents=True)
        (self.shared / "disks").mkdir()
        self.fabric.build()
        nats = [self.fabric.add(f"nats{i + 1}") for i in range(self.nats_nodes)]
        self.fabric.add("ctl")
        auth = None
        if self.secured:
            passwords = {r.password_variable: f"pw-{r.user}" for r in roles(list(self.hosts))}
            auth = (render_auth(list(self.hosts)), passwords)
        for i, node in enumerate(nats):
            peers = [p for p in nats if p is not node]
            data = self.root / f"nats{i + 1}"
            self.nats.append(NatsNode(f"n{i + 1}", node, data, peers, auth))
        for server in self.nats:
            server.start()
        for server in self.nats:
            server.wait_healthy()
        pool = self.root / "pool.yaml"
        content = self.pool or article_pool(self.hosts, self.timeout_s)
        # Each host signs its slots (docs/protocol.md): its key made and registered as
        # `haplan up` does (services/up/keys.py), replacing any key the content names.
        pool.write_text(dump_pool(make_host_keys(self.root, Pool.model_validate(content))))
        created = self.eventually(
            lambda: self.haplan("pool", "create", str(pool), user="admin").returncode == 0,
            30, "the pool loaded into the log",
        )  # fmt: skip
        assert created
        self.services["planner"] = self._service("planner", "planner", user="planner")
        for i in range(self.arbiters):
            ident = f"arb{i + 1}"
            # The arbiter reads the shared store itself (the leader's own reading of the
            # slots), from the control namespace: a host's storage fault leaves it alone.
            own = ("--store", str(self.shared), "--store-local")
            self.services[ident] = self._service(
                ident, "arbiter", "--id", ident, *own, user="arbiter"
            )
        for host in self.hosts:
            self.add_host(host)

    def _service(self, name: str, *argv: str, user: str) -> Supervised:
        log = self.logs / f"{name}.log"
        env = self.env(user, self.homes.get(name))
        proc = Supervised(name, self.ctl, [*ENTRY, *argv], env, log)
        proc.start()
        return proc

    def key_path(self, host: str) -> Path:
        return key_path(self.root, host)

    def add_host(self, host: str) -> None:
        node = self.fabric.add(host)
        mount = StoreMount(self.shared, self.root / "hosts" / host)
        mount.plug()
        self.mounts[host] = mount
        argv = [*ENTRY, "collector", "--host", host, "--store", str(mount.point),
                "--vm-driver", "process", "--watchdog", "process",
                "--key", str(self.key_path(host))]  # fmt: skip
        log = self.logs / f"collector-{host}.log"
        env = self.env(f"collector-{host}", self.homes.get(host))
        collector = Supervised(host, node, argv, env, log, is_host=True)
        self.collectors[host] = collector
        collector.start()

    # The operator's terminal -----------------------------------------------------------------

    def haplan(
        self, *args: str, user: str = "operator", timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """`haplan ARGS` from the control namespace, as an operator's shell runs it."""
        return subprocess.run(
            [*self.ctl.enter(), *ENTRY, *args],
            cwd=ROOT, env=self.env(user, self.homes.get("operator")), capture_output=True,
            text=True, timeout=timeout,
        )  # fmt: skip

    def status(self) -> dict[str, Any] | None:
        done = self.haplan("status", "--json")
        return json.loads(done.stdout) if done.returncode == 0 else None

    def _read_log(self) -> list[dict[str, Any]] | None:
        done = self.haplan("events", "--json")
        if done.returncode != 0:
            return None
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def log(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """The whole event log, read once the bus answers (a cluster electing a new stream
        leader may not, for a moment)."""
        return self.eventually(self._read_log, timeout_s, "the event log read")

    def events(self, type_: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """The log's events of `type_` with these fields; none while the bus does not answer."""
        return [
            e
            for e in self._read_log() or []
            if (type_ is None or e["type"] == type_)
            and all(e.get(k) == v for k, v in match.items())
        ]

    def host_status(self, host: str) -> dict[str, Any] | None:
        done = self.haplan("host", "status", host, "--json")
        return json.loads(done.stdout) if done.returncode == 0 else None

    # Faults ----------------------------------------------------------------------------------

    def pull(self, fault: Fault, host: str) -> None:
        if fault == "power":
            node = self.node(host)
            self.collectors[host].power_off(node.pids())
            kill_node(node)
        elif fault == "storage":
            self.mounts[host].pull()
        elif fault == "network":
            self.node(host).link(False)
        else:
            self.collectors[host].freeze()

    def heal(self, fault: Fault, host: str) -> None:
        if fault == "power":
            self.collectors[host].power_on()
        elif fault == "storage":
            self.mounts[host].plug()
        elif fault == "network":
            self.node(host).link(True)
        else:
            self.collectors[host].thaw()

    def nats_server(self, name: str) -> NatsNode:
        return next(n for n in self.nats if n.name == name)

    def kill_nats(self, name: str) -> None:
        """A NATS server crashes (SIGKILL); its JetStream directory stays."""
        self.nats_server(name).kill()

    def isolate_nats(self, name: str, isolated: bool = True) -> None:
        """A NATS node's cable pulled (True) or plugged back: it loses its routes and its
        clients at once, without a reset; every other node and client keeps its links."""
        self.nats_server(name).node.link(not isolated)

    def freeze_nats(self, name: str, frozen: bool = True) -> None:
        """A NATS server hung (True: SIGSTOP) or resumed: its clients and routes stay
        connected at the TCP level, and only pings tell them it stopped answering."""
        self.nats_server(name).freeze(frozen)

    def cut_route(self, a: str, b: str, cut: bool = True) -> None:
        """The cluster route between NATS nodes `a` and `b` cut (True) or mended: inside
        `a`'s namespace a blackhole route for `b`'s address, so nothing passes between the
        two either way (TCP needs both), while each keeps its other route and its clients."""
        self.nats_server(a).node.blackhole(self.nats_server(b).node.address, cut)

    def start_nats(self, name: str) -> None:
        server = self.nats_server(name)
        server.start()
        server.wait_healthy()

    def stream_leader(self, stream: str = "HA_EVENTS") -> str:
        """The NATS server that leads `stream`'s replicas now (the event stream's unless
        told; the lease bucket's is KV_ha_leases)."""
        return self.eventually(
            lambda: next(
                (lead for n in self.nats if n.proc and (lead := n.stream_leader(stream))), None
            ),
            30, f"{stream}'s leader",
        )  # fmt: skip

    def leader(self) -> str | None:
        status = self.status()
        return None if status is None else status.get("leader")

    # What the disks and the log say ----------------------------------------------------------

    def writers(self, vm: str = VM) -> dict[str, tuple[str, int, int]]:
        return writers(self.disk(vm)) if self.disk(vm).exists() else {}

    def split_brains(self) -> dict[str, list[tuple[str, str]]]:
        """Every VM disk with instances whose writes overlap (must be none, ever)."""
        found = {}
        for disk in sorted((self.shared / "disks").glob("*.log")):
            if pairs := overlaps(disk):
                found[disk.stem] = pairs
        return found

    def verify(self) -> dict[str, Any]:
        """`haplan audit verify` of this run's log, exported with `haplan audit export`."""
        export = self.root / "events.jsonl"
        done = self.haplan("audit", "export", str(export))
        assert done.returncode == 0, done.stderr
        checked = subprocess.run(
            [*ENTRY, "audit", "verify", "--file", str(export), "--json"],
            cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert checked.returncode in (0, 1), checked.stderr
        report: dict[str, Any] = json.loads(checked.stdout)
        return report

    def describe(self) -> str:
        """The end of every log of the run, for a failing assertion's message: the last 8
        lines, and for a host that fenced the last 40 (why it fenced comes before its new
        incarnation's start lines)."""
        out = []
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            fenced = any('"fenced: exiting' in line for line in lines)
            tail = lines[-40:] if fenced else lines[-8:]
            out.append(f"== {log.name}\n" + "\n".join(line[:300] for line in tail))
        return "\n".join(out)

    # Ending ----------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Stop and remove everything of the lab; what could not be removed (must be none)."""
        everyone = [*self.collectors.values(), *self.services.values()]
        for proc in everyone:
            proc.stop()
        for proc in everyone:
            proc.join(10)
        for node in self.fabric.nodes.values():
            kill_node(node)
        for server in self.nats:
            server.kill()
        for mount in self.mounts.values():
            mount.remove()
        problems = self.fabric.remove()
        problems += [f"namespace {n} left" for n in leftover_namespaces(self.fabric.prefix)]
        problems += [f"mount {m} left" for m in leftover_mounts(self.root)]
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
        return problems
