"""The permission model (services.deploy.permissions) and the shipped NATS configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from services.common import wire
from services.common.identity import inbox_prefix
from services.deploy.natsconf import render_auth
from services.deploy.permissions import ARBITER, OPERATOR, PLANNER, collector, roles

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_HOSTS = ["lab1", "lab2", "lab3"]


def test_the_shipped_auth_conf_is_the_model_for_the_compose_hosts() -> None:
    """deploy/nats/auth.conf is exactly what `haplan deploy nats-auth lab1 lab2 lab3` writes
    (regenerate it after changing the model), and covers the compose pool's hosts."""
    shipped = (ROOT / "deploy" / "nats" / "auth.conf").read_text()
    assert shipped == render_auth(COMPOSE_HOSTS)
    pool = yaml.safe_load((ROOT / "deploy" / "pool.yaml").read_text())
    assert [h["name"] for h in pool["hosts"]] == COMPOSE_HOSTS


def test_a_collector_speaks_for_its_own_host_only() -> None:
    """collector-lab1 publishes lab1's subjects and lease key, never a wildcard or another
    host's; it hears lab1's commands and status requests only."""
    role = collector("lab1")
    mine = {wire.heartbeat_subject("lab1"), wire.observation_subject("lab1"),
            wire.fenced_subject("lab1"), wire.join_subject("lab1"), wire.report_subject("lab1"),
            "$KV.ha_leases.host.lab1"}  # fmt: skip
    assert mine <= set(role.publish)
    own = [s for s in role.publish if not s.startswith("$JS.")]
    assert sorted(own) == sorted(mine)
    assert wire.command_subject("lab1") in role.subscribe
    assert not any(s.startswith("ha.cmd.") and s.endswith("*") for s in role.subscribe)


def test_only_arbiters_append_decisions_and_hold_the_leader_lease() -> None:
    """Of the roles running beside them, only arbiters publish on every event subject and
    on the leader key; planners append only `ha.evt.plan`."""
    everyone = roles(COMPOSE_HOSTS)
    appends_all = [r.user for r in everyone if "ha.evt.>" in r.publish]
    leads = [r.user for r in everyone if "$KV.ha_leases.arbiter" in r.publish]
    assert appends_all == leads == ["arbiter"]
    assert [s for s in PLANNER.publish if s.startswith("ha.evt.")] == ["ha.evt.plan"]
    assert not any(s.startswith("ha.evt") for s in OPERATOR.publish)


def test_each_user_reads_its_own_inboxes_and_nobody_publishes_to_inboxes() -> None:
    """Replies go through allow_responses: no role may publish to `_INBOX`, and each
    subscribes only to the inbox prefix the client gives it."""
    for role in roles(COMPOSE_HOSTS):
        assert not any(s.startswith("_INBOX") for s in role.publish)
        assert f"{inbox_prefix(role.user)}.>" in role.subscribe
        assert "_INBOX.>" not in role.subscribe
        assert len(set(role.publish)) == len(role.publish), role.user
    assert ARBITER.responds and PLANNER.responds and collector("x").responds


def test_hosts_that_would_share_a_user_are_refused() -> None:
    """A host listed twice would give two collectors one user and one password variable:
    refused, naming the variable."""
    with pytest.raises(ValueError, match="HAPLAN_PW_COLLECTOR_LAB1"):
        roles(["lab1", "lab1"])


@pytest.mark.parametrize(
    "names",
    [
        ["lab-1", "lab_1", "lab1", "lab.1", "lab 1"],
        ["Lab1", "lab1", "LAB1"],
        ["café", "cafe", "cafè", "caf_C3_A9"],
        ["a_2Db", "a-b"],
    ],
)
def test_distinct_hosts_get_distinct_password_variables(names: list[str]) -> None:
    """Hosts whose names differ only in punctuation, case or accents each get a password
    variable of their own (one-to-one), a valid environment variable name, and the pool is
    accepted rather than refused."""
    variables = {r.password_variable for r in roles(names)}
    assert len(variables) == len(names) + 4  # and the four service roles'
    for variable in variables:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", variable), variable


def test_the_compose_files_password_variables_keep_their_names() -> None:
    """docker-compose.yml sets HAPLAN_PW_COLLECTOR_LAB1..3 and the services' variables: the
    model names exactly those for the compose hosts."""
    compose = (ROOT / "docker-compose.yml").read_text()
    for role in roles(COMPOSE_HOSTS):
        assert f"{role.password_variable}: ${{{role.password_variable}:-" in compose, role.user
    assert collector("lab1").password_variable == "HAPLAN_PW_COLLECTOR_LAB1"
