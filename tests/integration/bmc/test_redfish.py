"""The leader's fencing chain against a real Redfish server (sushy-emulator, fake systems
driver, tests/fixtures/redfish.py): a power-off confirmed by a status read, and each way it
fails (BMC down, wrong credentials, no answer), where the chain goes on to the next agent or
answers no proof. The emulator applies a power change 1 to 11 s after it takes it, as a real
BMC takes a moment: the chain reads the status until it says off, within the agent's
deadline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.fencing import FencingAgent
from services.bmc import agents
from services.bmc.chain import power_off, power_on
from tests.fixtures.redfish import PASSWORD, Redfish, free_port, redfish

__all__ = ["redfish"]
CONFIRM_S = 20.0  # the emulator's delay is up to 11 s


def agent(server: Redfish, *, creds: Path | None = None, timeout_s: float = CONFIRM_S,
          url: str | None = None) -> FencingAgent:  # fmt: skip
    return FencingAgent(
        kind="redfish", address=url or server.url, system=server.system,
        credential=f"file:{creds or server.credential_file}", timeout_s=timeout_s,
    )  # fmt: skip


async def test_a_power_off_is_confirmed_by_the_status_read(redfish: Redfish) -> None:
    """The host is on; the chain powers it off and reads the status until it says off: the
    proof names the agent and level 1, and the emulator reads off afterwards too. The
    operator's power-on is taken."""
    assert agents.power_state(agent(redfish)) == "on"
    proof = await power_off("h1", "h1#1", (agent(redfish),))
    assert proof.power_state == "off" and proof.level == 1
    assert proof.agent == f"redfish {redfish.url}" and proof.incarnation == "h1#1"
    assert proof.answer == "ForceOff accepted"
    assert agents.power_state(agent(redfish)) == "off"
    assert await power_on((agent(redfish),)) == "On accepted"


async def test_a_bmc_that_is_down_passes_to_the_next_agent(redfish: Redfish) -> None:
    """The first agent's BMC does not listen: its failure is passed over and the second
    agent confirms (level 2)."""
    down = agent(redfish, url=f"http://127.0.0.1:{free_port()}", timeout_s=3.0)
    proof = await power_off("h1", "h1#1", (down, agent(redfish)))
    assert proof.power_state == "off" and proof.level == 2


async def test_an_emulator_that_stopped_gives_no_proof(redfish: Redfish) -> None:
    """The BMC went away: the chain's answer is a failure, power state unknown: no proof."""
    redfish.stop()
    proof = await power_off("h1", "h1#1", (agent(redfish, timeout_s=3.0),))
    assert proof.answer.startswith("failed: ") and proof.power_state == "unknown"


async def test_wrong_credentials_give_no_proof_and_no_secret(
    redfish: Redfish, tmp_path: Path
) -> None:
    """The BMC refuses the credential: no proof, the host stays on, and the failure's text
    does not hold the password tried."""
    wrong = tmp_path / "wrong"
    wrong.write_text("fence:not-the-password\n")
    proof = await power_off("h1", "h1#1", (agent(redfish, creds=wrong, timeout_s=3.0),))
    assert proof.answer.startswith("failed: ") and proof.power_state == "unknown"
    assert "not-the-password" not in proof.answer and PASSWORD not in proof.answer
    assert agents.power_state(agent(redfish)) == "on"


@pytest.fixture
def silent_bmc() -> Iterator[str]:
    """A listener on loopback that takes connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


async def test_a_bmc_that_never_answers_is_given_up_at_its_deadline(
    redfish: Redfish, silent_bmc: str
) -> None:
    """The first BMC takes the connection and says nothing: the chain gives it up at its
    deadline and the next agent confirms."""
    silent = agent(redfish, url=silent_bmc, timeout_s=1.0)
    first = await power_off("h1", "h1#1", (silent,))
    assert first.answer.startswith("failed: ") and first.power_state == "unknown"
    proof = await power_off("h1", "h1#1", (silent, agent(redfish)))
    assert proof.power_state == "off" and proof.level == 2
