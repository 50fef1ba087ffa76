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
        if name in ("cli", "pool-create", "keys"):
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name
        assert service["restart"] == "unless-stopped", name
    users = [(s.get("environment") or {}).get("HAPLAN_NATS_USER") for s in services.values()]
    assert users.count("arbiter") == 2 and "collector-lab2" in users and "admin" in users


def test_each_collector_gets_its_own_key_and_the_pool_registers_them() -> None:
    """The one-shot `keys` service writes a key per host into a volume per host and the pool
    with the public keys for pool-create; each collector mounts its own key volume (read-only)
    and no other, and is pointed at its key; pool-create and the collectors wait for `keys`."""
    services = check(COMPOSE_FILE.read_text())["services"]
    keys = services["keys"]
    command = keys["command"]
    assert command[:2] == ["deploy", "keys"]
    out = command[command.index("--pool-out") + 1]
    assert services["pool-create"]["command"] == ["pool", "create", out]
    host_dirs = dict(a.split("=", 1) for a in command if "=" in a)
    assert sorted(host_dirs) == ["lab1", "lab2", "lab3"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in keys["volumes"]}
    for host, directory in host_dirs.items():
        collector = services[host]
        key_volumes = [v for v in collector["volumes"] if v.split(":")[0].endswith("-key")]
        assert key_volumes == [f"{mounts[directory]}:{directory}:ro"], host
        assert collector["environment"]["HAPLAN_HOST_KEY"] == f"{directory}/host.key"
        condition = collector["depends_on"]["keys"]["condition"]
        assert condition == "service_completed_successfully", host
    assert services["pool-create"]["depends_on"]["keys"]["condition"] == (
        "service_completed_successfully"
    )


def test_the_tls_profile_covers_every_service() -> None:
    """deploy/compose.tls.yml gives every NATS node the certificate (after the one-shot
    `certs` service) and every other service that connects the CA, each from the same
    volume; the file is valid over docker-compose.yml (no service it names is unknown)."""
    base = check(COMPOSE_FILE.read_text())["services"]
    tls = check((COMPOSE_FILE.parent / "deploy" / "compose.tls.yml").read_text())["services"]
    assert set(tls) - {"certs"} == set(base) - {"keys"}
    for name, service in tls.items():
        if name == "certs":
            assert service["command"][:2] == ["deploy", "certs"]
            continue
        assert service["volumes"] == ["tls:/tls:ro"], name
        env = service["environment"]
        if name.startswith("nats-"):
            assert env["HAPLAN_TLS_CERT"].startswith("/tls/"), name
            assert service["depends_on"]["certs"]["condition"] == "service_completed_successfully"
        else:
            assert env["HAPLAN_NATS_TLS_CA"] == "/tls/ca.pem", name
    conf = base["nats-1"]["command"][1]
    assert conf.endswith("${HAPLAN_NATS_CONF:-haplan.conf}")
    assert (COMPOSE_FILE.parent / "deploy" / "nats" / "haplan-tls.conf").exists()


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("restart: unless-stopped\n  init: true", "restart: sometimes\n  init: true",
         "sometimes"),
        ("interval: 10s", "interval: often", "often"),
        ('volumes: ["store:/srv/haplan", "lab1', 'volumes: ["stor:/srv/haplan", "lab1', "stor"),
        ("keys: {condition: service_completed_successfully}\n\n  arbiter-1",
         "kys: {condition: service_completed_successfully}\n\n  arbiter-1", "kys"),
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
