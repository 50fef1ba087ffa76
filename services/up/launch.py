"""What `haplan up` runs: the command line and environment of each process of the pool.

Every process is `haplan` itself (the interpreter running this code, so the children import the
same haplan wherever `up` was started from), told its NATS server by NATS_URL: a collector gets
its host's proxy (its network cable), the arbiter and the planner the server itself. Each gets
its own NATS user and nobody else's (services.up.credentials): the server enforces the roles'
permissions as in the compose stack.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import services
from services.common.settings import IDENTITY_VARIABLES
from services.up.credentials import ARBITER, PLANNER, Credentials, collector_user
from services.up.journal import Journal
from services.up.keys import key_path
from services.up.member import Member
from services.up.topology import Layout

ENTRY = (sys.executable, "-m", "services.cli.main")
ARBITER_ID = "up-arbiter"
# Variables of the operator's shell that would point a child elsewhere than this run's bus, or
# give it credentials or TLS other than this run's (its private server speaks no TLS).
_OVERRIDDEN = ("NATS_URL", "HAPLAN_NATS_URL", "HAPLAN_STREAM_REPLICAS", *IDENTITY_VARIABLES)


def child_env(nats_url: str, credentials: Credentials, user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _OVERRIDDEN}
    env.update(credentials[user].env())
    root = str(Path(services.__file__).resolve().parents[1])
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = root if not path else f"{root}{os.pathsep}{path}"
    env.update(NATS_URL=nats_url, HAPLAN_STREAM_REPLICAS="1", PYTHONUNBUFFERED="1")
    return env


def collector(
    host: str, proxy_port: int, layout: Layout, scope: str, journal: Journal, cred: Credentials
) -> Member:
    argv = (
        *ENTRY, "collector", "--host", host, "--store", str(layout.host_store(host)),
        # The shared storage is a directory of the runtime directory, not a mount point.
        "--store-local", "--vm-driver", "process", "--watchdog", "process",
        "--key", str(key_path(layout.root, host)),
    )  # fmt: skip
    env = child_env(f"nats://127.0.0.1:{proxy_port}", cred, collector_user(host))
    log = layout.log(f"collector-{host}")
    return Member(host, argv, env, log, scope, journal, is_host=True)


def arbiter(
    nats_url: str, layout: Layout, scope: str, journal: Journal, cred: Credentials
) -> Member:
    # The arbiter reads the shared storage itself (the leader's own reading of the slots),
    # never through a host's mount: `haplan fault` pulling a host's cable leaves it alone.
    argv = (*ENTRY, "arbiter", "--id", ARBITER_ID, "--store", str(layout.shared), "--store-local")
    env = child_env(nats_url, cred, ARBITER)
    return Member("arbiter", argv, env, layout.log("arbiter"), scope, journal)


def planner(
    nats_url: str, layout: Layout, scope: str, journal: Journal, cred: Credentials
) -> Member:
    argv = (*ENTRY, "planner")
    env = child_env(nats_url, cred, PLANNER)
    return Member("planner", argv, env, layout.log("planner"), scope, journal)
