"""docker-compose.yml is a valid compose file (checked by the compose-spec package, plus the
references it leaves unchecked), and the check fails on a broken copy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.deploy.compose import COMPOSE_FILE, load


def check(text: str) -> dict[str, Any]:
    """compose-spec's validation, then what it does not look at: every depends_on names a
    service, every named volume a service mounts is declared."""
    spec = load(text)
    services = spec["services"]
    declared = set(spec.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            if dependency not in services:
                raise ValueError(f"{name} depends on {dependency!r}, which is no service")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if not source.startswith((".", "/")) and source not in declared:
                raise ValueError(f"{name} mounts volume {source!r}, which is not declared")
    return spec


def test_the_compose_file_is_valid_and_complete() -> None:
    """The shipped file passes, with the topology the issue asks for: 3 NATS nodes, 2
    arbiters reading the store volume, 2 planners, 3 collectors on the sim driver sharing it, each
    service with a healthcheck and a restart policy, and its own NATS user."""
    services = check(COMPOSE_FILE.read_text())["services"]
    commands = {name: s.get("command", []) for name, s in services.items()}
    assert sorted(n for n in services if n.startswith("nats-")) == ["nats-1", "nats-2", "nats-3"]
    assert sorted(n for n, c in commands.items() if c[:1] == ["arbiter"]) == [
        "arbiter-1", "arbiter-2",
    ]  # fmt: skip
    assert sorted(n for n, c in commands.items() if c[:1] == ["planner"]) == [
        "planner-1", "planner-2",
    ]  # fmt: skip
    for name in ("arbiter-1", "arbiter-2"):
        # The leader reads the heartbeat store itself (read-only is enough).
        assert commands[name][commands[name].index("--store") + 1] == "/srv/haplan"
        assert "store:/srv/haplan:ro" in services[name]["volumes"]
    collectors = sorted(n for n, c in commands.items() if c[:1] == ["collector"])
    assert collectors == ["lab1", "lab2", "lab3"]
    for name in collectors:
        command = commands[name]
        assert command[command.index("--vm-driver") + 1] == "sim"
        assert "store:/srv/haplan" in services[name]["volumes"]
        # A fenced collector exits 75: the policy must start it again.
        assert services[name]["restart"] in ("unless-stopped", "always", "on-failure")
    for name, service in services.items():
        if name in ("cli", "pool-create"):
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert service["restart"] == "unless-stopped", name
    users = [s["environment"].get("HAPLAN_NATS_USER") for s in services.values()]
    assert users.count("arbiter") == 2 and "collector-lab2" in users and "admin" in users


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("restart: unless-stopped\n  init: true", "restart: sometimes\n  init: true",
         "sometimes"),
        ("interval: 10s", "interval: often", "often"),
        ('volumes: ["store:/srv/haplan"]', 'volumes: ["stor:/srv/haplan"]', "stor"),
        ("nats-1: {condition: service_healthy}", "nats-9: {condition: service_healthy}",
         "nats-9"),
        ("    command: [\"arbiter\"", "    comand: [\"arbiter\"", "comand"),
    ],
)  # fmt: skip
def test_a_broken_copy_is_refused(old: str, new: str, problem: str) -> None:
    """A wrong restart policy, an unparsable duration, an undeclared volume, a dependency on
    no service and a misspelt key each make the check fail, naming the problem."""
    text = COMPOSE_FILE.read_text()
    assert old in text
    with pytest.raises(ValueError, match=problem):
        check(text.replace(old, new, 1))
