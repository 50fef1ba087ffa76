"""The leader's fencing chains in the simulator: each host's BMCs, as the arbiter shell runs
them (docs/protocol.md, Power fencing through the BMC).

A BMC that works powers its host off (a power loss: the host's VMs, collector and any arbiter
on it die, as under a POWER fault) and says so after `LATENCY_S`; the faults BMC_TIMEOUT,
BMC_ON and BMC_LATE make every agent of the host's chain fail that way. The answer goes back to
the arbiter process that gave the order, if it still leads in the same term. A host powered
off by its BMC stays off until the final heal, when the operator powers it on (`haplan host
power-on`): it boots a new incarnation, as after any death. A BMC that lies is out of scope.
"""

from __future__ import annotations

from schemas.liveness import PowerOffProof
from services.arbiter.power import PowerOffOrder
from services.sim.faults import Kind
from services.sim.world import NodeSim, World

LATENCY_S = 0.2  # a BMC's answer to a power-off and to the status read after it


class BmcShells(World):
    bmc_off: set[str]  # hosts powered off by their BMC, until the operator powers them on

    def _faults_changed(self) -> None:  # the engine's; here for the type checker
        raise NotImplementedError

    def _lead_step(self, node: NodeSim) -> None:  # the arbiter shell's
        raise NotImplementedError

    def _power_off(self, node: NodeSim, order: PowerOffOrder) -> None:
        """Run `order.host`'s chain for the leader `node`: each agent in turn until one
        confirms the host off (the faults decide how they answer)."""
        chain = self.keyed_pool.host(order.host).fencing
        if not chain:
            return
        self._trace(f"{node.name}: power off {order.host} ({order.incarnation}) through its BMC")
        spent = 0.0
        for level, agent in enumerate(chain, start=1):
            if self._latent(Kind.BMC_TIMEOUT, order.host) is not None:
                spent += agent.timeout_s
                answer, state = "no answer before the deadline", "unknown"
            elif self._latent(Kind.BMC_ON, order.host) is not None:
                spent += LATENCY_S
                answer, state = "accepted", "on"
            else:
                late = self._latent(Kind.BMC_LATE, order.host) or 0.0
                spent += LATENCY_S + late
                self.at(spent, self._bmc_cuts_power, order.host)
                answer, state = "accepted", "off"
            proof = PowerOffProof(
                agent=agent.label, level=level, incarnation=order.incarnation, answer=answer,
                power_state=state, answered_after_s=spent,
            )  # fmt: skip
            if state == "off" or level == len(chain):
                self.at(spent, self._bmc_answers, node.name, node.term, order.host, proof)
                return

    def _bmc_cuts_power(self, host: str) -> None:
        if host not in self.bmc_off:
            self.bmc_off.add(host)
            self.milestones.append((self.now, "bmc_off", host))
            self._faults_changed()

    def _bmc_answers(self, name: str, term: int, host: str, proof: PowerOffProof) -> None:
        node = self.nodes[name]
        if not (node.alive and node.core.is_leader and node.term == term):
            return  # the answer reaches no leader: the next one orders again
        self._trace(f"{name}: {host}'s BMC ({proof.agent}) says {proof.power_state}")
        if node.core.power_off_answer(host, proof, self.now + node.offset):
            self._lead_step(node)  # the shell ticks at once on an answer
