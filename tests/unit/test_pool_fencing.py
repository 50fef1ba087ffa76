"""A host's fencing chain in the pool file (schemas.fencing): read in order, credentials only
by reference, and each mistake one line naming the host."""

from __future__ import annotations

import pytest

from schemas.pool_error import PoolError
from schemas.pool_file import dump_pool, parse_pool

BASE = """
name: p
hosts:
  - name: h1
    memory_mib: 8192
    fencing:
{chain}
  - {{name: h2, memory_mib: 8192}}
"""
GOOD = """      - {kind: redfish, address: "https://bmc-h1.mgmt",
         credential: "file:/etc/haplan/bmc/h1", system: /redfish/v1/Systems/1, timeout_s: 4}
      - {kind: ipmi, address: "bmc-h1.mgmt:623", credential: "env:HAPLAN_BMC_H1"}"""


def test_a_chain_is_read_in_order_and_exported_with_its_references_only() -> None:
    """The two agents keep their order and fields; the export carries the references it was
    given (where the secret is), and a host without a chain has none."""
    pool = parse_pool(BASE.format(chain=GOOD), "p.yaml")
    chain = pool.host("h1").fencing
    assert [a.kind for a in chain] == ["redfish", "ipmi"]
    assert chain[0].timeout_s == 4 and chain[1].timeout_s == 5.0
    assert chain[0].label == "redfish https://bmc-h1.mgmt"
    assert pool.host("h2").fencing == ()
    exported = dump_pool(pool)
    assert "file:/etc/haplan/bmc/h1" in exported and "env:HAPLAN_BMC_H1" in exported
    assert parse_pool(exported, "again.yaml") == pool


@pytest.mark.parametrize(
    ("agent", "says"),
    [
        ('{kind: redfish, address: "https://b", credential: "admin:secret"}',
         "hosts[0] 'h1'.fencing[0].credential: credential must name where the secret is"),
        ('{kind: redfish, address: "https://b", credential: "file:relative"}',
         "credential must name where the secret is"),
        ('{kind: ilo, address: "https://b", credential: "env:X"}',
         "hosts[0] 'h1'.fencing[0].kind: Input should be 'redfish' or 'ipmi'"),
        ('{kind: ipmi, address: "b", credential: "env:X", timeout: 3}',
         "hosts[0] 'h1'.fencing[0]: unknown key 'timeout' (did you mean 'timeout_s'?)"),
        ('{kind: ipmi, address: "b", credential: "env:X", timeout_s: 0}',
         "hosts[0] 'h1'.fencing[0].timeout_s: Input should be greater than 0"),
        ('{kind: ipmi, credential: "env:X"}',
         "hosts[0] 'h1'.fencing[0].address: required key is missing"),
    ],
)  # fmt: skip
def test_a_bad_agent_is_one_line_naming_the_host(agent: str, says: str) -> None:
    """Each mistake is refused on one line that names the host and the agent's place."""
    with pytest.raises(PoolError) as info:
        parse_pool(BASE.format(chain=f"      - {agent}"), "p.yaml")
    message = str(info.value)
    assert "\n" not in message and says in message, message


def test_a_chain_longer_than_eight_agents_is_one_line_naming_the_host() -> None:
    """Each agent may take its whole timeout before the next: a chain of more than 8 is
    refused on one line naming the host's fencing, and a chain of 8 is read."""
    agent = '      - {kind: ipmi, address: "bmc-h1.mgmt:623", credential: "env:HAPLAN_BMC_H1"}'
    eight = parse_pool(BASE.format(chain="\n".join([agent] * 8)), "p.yaml")
    assert len(eight.hosts[0].fencing) == 8
    with pytest.raises(PoolError) as info:
        parse_pool(BASE.format(chain="\n".join([agent] * 9)), "p.yaml")
    message = str(info.value)
    assert "\n" not in message and "fencing" in message and "h1" in message, message
