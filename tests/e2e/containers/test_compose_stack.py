"""The compose stack in real containers (podman, podman-compose): built from this checkout,
started from docker-compose.yml as the README says, then a host's power pulled and a NATS
node and the leading arbiter killed. Skipped, in one line, where podman is not installed;
in CI (.ci/run installs it) it must run."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import pytest

from tests.e2e.containers.engine import SERVICES, Stack, built_image, missing, running_stack

X = TypeVar("X")
DEATHS = ("host_suspected", "host_fenced", "host_declared_dead")


@pytest.fixture
def engine() -> None:
    why = missing()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the container e2e cannot run on this CI machine: {why}")
        pytest.skip(why)


def eventually(probe: Callable[[], X | None], timeout_s: float, what: str) -> X:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s:g} s: {what} (last: {last})")


def hosts(status: dict[str, Any]) -> dict[str, str]:
    return {h["name"]: h["state"] for h in status["hosts"]}


def all_live(stack: Stack) -> dict[str, Any] | None:
    status = stack.status()
    if status is None or set(hosts(status).values()) != {"live"}:
        return None
    return status


def find(data: Any, key: str) -> Any:
    """The first value of `key` anywhere in nested data, else None."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        data = list(data.values())
    if isinstance(data, list):
        for item in data:
            found = find(item, key)
            if found is not None:
                return found
    return None


def brief(events: list[dict[str, Any]]) -> str:
    """Events in a line each, with what says who and why (a failure's message)."""
    keep = ("seq", "type", "at", "host", "epoch", "reason", "leader", "incarnation")
    return "\n".join(json.dumps({k: e[k] for k in keep if k in e}) for e in events)


def at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()


@pytest.mark.timeout(1200)
def test_the_compose_stack_survives_power_loss_and_node_loss_in_containers(engine: None) -> None:
    """The image built once; the stack run from it twice, as shipped and with the TLS profile
    (deploy/compose.tls.yml: every NATS connection and route over TLS), each time through
    the scenario below; the plain stack then upgraded to a new image, one service at a time
    (rolling_upgrade)."""
    timings: dict[str, float] = {}
    with built_image(timings) as (image, base):
        print(f"container e2e image timings (s): {timings}", file=sys.stderr)
        for tls in (False, True):
            with running_stack(image, base, tls=tls) as stack:
                try:
                    scenario(stack)
                    if not tls:
                        rolling_upgrade(stack)
                except BaseException:
                    print(f"the {'TLS' if tls else 'plain'} stack failed; its logs:\n"
                          f"{stack.logs()}", file=sys.stderr)  # fmt: skip
                    raise
                finally:
                    print(f"container e2e timings, {'TLS' if tls else 'plain'} stack (s): "
                          f"{stack.timings}", file=sys.stderr)  # fmt: skip


def scenario(stack: Stack) -> None:
    """Every container's healthcheck turns healthy; `cli status` (the compose `cli` service,
    as the operator) shows the pool live with signed hosts' keys registered; lab1's container
    killed, Minion 1 starts on another host within T_dead + 5 s of the kill (by the log's
    clock, the host's); lab1 started again rejoins as a new incarnation; one NATS node and
    the leading arbiter killed, another arbiter leads, no host is suspected, fenced or
    declared dead for T_dead + 5 s after, and `haplan audit verify` passes the whole log, whose
    sequence has no gap."""
    began = time.monotonic()
    eventually(lambda: all(stack.healthy(s) for s in SERVICES), 240,
               "every service's healthcheck healthy")  # fmt: skip
    stack.timings["healthy"] = time.monotonic() - began

    # The pool loaded by the one-shot pool-create, which waits for JetStream itself.
    loaded = stack.exit_code("pool-create", timeout=240)
    assert loaded == 0, f"pool-create exited {loaded}"
    # The operator's commands through the compose file's own cli service, asked once.
    # (podman-compose runs a service of a profile only with that profile named.)
    cli = stack.compose("--profile", "cli", "run", "--rm", "cli", "status", "--json")
    status = json.loads(cli.stdout[cli.stdout.index("{"):])
    assert status["pool"] == "Compose pool"
    live = eventually(lambda: all_live(stack), 120, "three live hosts")
    assert {v["name"]: v["host"] for v in live["vms"]}["Minion 1"] == "lab1"
    # Each host's signing key is registered: the pool-create service loaded the keyed pool.
    created = next(e for e in stack.events() if e["type"] == "pool_created")
    keys = {h["name"]: h.get("key") for h in find(created, "hosts")}
    assert all(str(k).startswith("ed25519:") for k in keys.values()), keys
    assert len(set(keys.values())) == 3

    # Pull lab1's power.
    before = stack.events()[-1]["seq"]
    stack.compose("kill", "lab1")
    killed_at = stack.finished_at("lab1")  # the instant its processes died, not the command's

    def restarted() -> dict[str, Any] | None:
        return next((e for e in stack.events() if e["seq"] > before
                     and e["type"] == "vm_started" and e["vm"] == "Minion 1"
                     and e["host"] != "lab1"), None)  # fmt: skip

    started = eventually(restarted, 120, "Minion 1 started on another host")
    declared = next(e for e in stack.events()
                    if e["type"] == "host_declared_dead" and e["host"] == "lab1")  # fmt: skip
    t_dead = float(find(declared, "t_dead_s"))
    took = at(started) - killed_at
    stack.timings["power_to_restart"] = took
    steps = ", ".join(f"{e['type']} +{at(e) - killed_at:.1f}" for e in stack.events()
                      if e["seq"] > before and e["type"] != "plan_computed")  # fmt: skip
    print(f"lab1 killed: Minion 1 started on {started['host']} {took:.1f} s later "
          f"(T_dead {t_dead:g} s): {steps}", file=sys.stderr)
    assert took <= t_dead + 5, f"Minion 1 restarted {took:.1f} s after the kill"

    # Power back: lab1 joins again, as a new incarnation.
    old = find(declared, "incarnation")
    assert old
    stack.compose("start", "lab1")
    eventually(lambda: (s := stack.status()) and hosts(s)["lab1"] == "live", 120,
               "lab1 live again")  # fmt: skip
    joins = [e for e in stack.events() if e["type"] == "host_joined" and e["host"] == "lab1"]
    assert joins[-1]["incarnation"] != old

    # One NATS node and the leading arbiter gone.
    leader = eventually(lambda: (s := stack.status()) and s.get("leader"), 60, "a leader")
    before = stack.events()[-1]["seq"]
    stack.compose("kill", "nats-3")
    stack.compose("kill", leader)
    eventually(lambda: (s := stack.status()) and s.get("leader") not in (None, leader), 120,
               "another arbiter leading")  # fmt: skip
    quiet_until = time.monotonic() + t_dead + 5
    while time.monotonic() < quiet_until:
        status_now = stack.status()
        if status_now is not None:
            assert set(hosts(status_now).values()) == {"live"}, status_now["hosts"]
        time.sleep(1)
    events = stack.events()
    deaths = [e for e in events if e["seq"] > before and e["type"] in DEATHS]
    assert deaths == [], brief(deaths)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    verify = stack.operator("audit", "verify", timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    stack.timings["scenario"] = time.monotonic() - began


def rolling_upgrade(stack: Stack) -> None:
    """The README's rolling upgrade with the stack running: the NATS node and the arbiter the
    scenario killed started again and healthy, then a new image (a new tag) and arbiter-1,
    planner-1 and nats-1 recreated from it one at a time (`up -d --no-deps SERVICE`), each
    healthy before the next. Each runs the new image; every host stays live throughout and
    for T_dead + 5 s after the last, no host is suspected, fenced or declared dead, the log's
    sequence has no gap and `status` answers."""
    began = time.monotonic()
    t_dead = float(find(next(e for e in reversed(stack.events())
                             if e["type"] == "host_declared_dead"), "t_dead_s"))  # fmt: skip
    stopped = [s for s in SERVICES if not stack.healthy(s)]
    if stopped:
        stack.compose("start", *stopped)
        eventually(lambda: all(stack.healthy(s) for s in stopped), 120,
                   f"{stopped} healthy again")  # fmt: skip
    before = stack.events()[-1]["seq"]
    new = stack.upgrade_image()
    for service in ("arbiter-1", "planner-1", "nats-1"):
        stack.compose("up", "-d", "--no-deps", service)
        assert stack.image_of(service) == new, service
        eventually(partial(stack.healthy, service), 120, f"{service} healthy on the new image")
        status_now = stack.status()
        if status_now is not None:
            assert set(hosts(status_now).values()) == {"live"}, (service, status_now["hosts"])
    quiet_until = time.monotonic() + t_dead + 5
    while time.monotonic() < quiet_until:
        status_now = stack.status()
        if status_now is not None:
            assert set(hosts(status_now).values()) == {"live"}, status_now["hosts"]
        time.sleep(1)
    assert all_live(stack), "status after the upgrade"
    events = stack.events()
    deaths = [e for e in events if e["seq"] > before and e["type"] in DEATHS]
    assert deaths == [], brief(deaths)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stack.timings["rolling_upgrade"] = time.monotonic() - began
