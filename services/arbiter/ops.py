"""Operator requests (`ha.op.<verb>`, schemas/ops.py), answered by the leader only.

Each request is checked (a bad one gets `invalid` and is counted as malformed), then turned
into what the log must record: configuration events appended here, or decisions of the core
(a start order, an admin shutdown, a host leaving maintenance). Admission control runs in a
worker thread on a snapshot of the pool; the append then happens under the leader's write
lock, and only if no other configuration change landed meanwhile. Nothing is appended for a
refusal. A request the leader loses office in the middle of gets a `conflict` to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import TypeAdapter, ValidationError

from schemas.events import (
    Event,
    HADisabled,
    HAEnabled,
    HostExcluded,
    HostKeyTrusted,
    NtolSet,
    OvercommitAllowed,
    VMProtectionSet,
)
from schemas.ops import (
    OP_VERBS,
    HADisable,
    HAEnable,
    HostEnable,
    HostEvacuate,
    HostPowerOn,
    HostTrust,
    OpReply,
    OpRequest,
    PoolSet,
    VMMigrate,
    VMSet,
    VMShutdown,
    VMStart,
    op_subject,
)
from schemas.pool import RESTART, Pool
from services.arbiter.admission import check_capacity, check_evacuation
from services.arbiter.feeds import report_malformed
from services.arbiter.office import Deposed
from services.arbiter.operator import OpRefused, known_host, known_vm, migration_source
from services.arbiter.view import Decision
from services.common.logging import get_logger
from services.state import PoolState, plan_pool

if TYPE_CHECKING:
    from services.arbiter.parts import ArbiterParts

log = get_logger("haplan.arbiter")
_REQUEST: TypeAdapter[OpRequest] = TypeAdapter(OpRequest)


def parse_request(verb: str, data: bytes) -> OpRequest:
    """The request on `ha.op.<verb>`; raises OpRefused("invalid") with a one-line reason."""
    import json

    try:
        body = json.loads(data) if data.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise OpRefused("the request is not JSON", "send a JSON object", "invalid") from None
    if not isinstance(body, dict):
        raise OpRefused("the request is not a JSON object", "send a JSON object", "invalid")
    try:
        return _REQUEST.validate_python({**body, "verb": verb})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"][1:]) or "request"
        hint = "see docs/operations.md"
        raise OpRefused(f"invalid {where}: {err['msg']}", hint, "invalid") from None


class OperatorRequests:
    def __init__(self, service: ArbiterParts) -> None:
        self._svc = service
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        if not self._subs:
            for verb in OP_VERBS:
                self._subs.append(await self._svc.nc.subscribe(op_subject(verb), cb=self._answer))

    async def stop(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _answer(self, msg: Msg) -> None:
        svc = self._svc
        if not svc.leading:
            return
        if not msg.reply:
            report_malformed(svc.metrics, "op", msg.subject, "an operator request needs a reply")
            return
        verb = msg.subject.removeprefix("ha.op.")
        try:
            request = parse_request(verb, msg.data)
        except OpRefused as exc:
            report_malformed(svc.metrics, "op", msg.subject, str(exc))
            await msg.respond(_refusal(exc).model_dump_json().encode())
            return
        try:
            detail = await self.handle(request)
            reply = OpReply(ok=True, detail=detail)
        except OpRefused as exc:
            reply = _refusal(exc)
        except Deposed as exc:
            reply = OpReply(ok=False, error=f"the leader stepped down: {exc}", code="conflict",
                            hint="retry: another arbiter takes over")  # fmt: skip
        except Exception as exc:  # a bug: logged with its traceback, answered, never the end
            log.exception("operator request failed", verb=verb, error=repr(exc))
            reply = OpReply(ok=False, error=f"internal error: {exc!r}", code="conflict",
                            hint="see the arbiter's log")  # fmt: skip
        svc.metrics.operator_requests.labels(verb=verb, outcome=_outcome(reply)).inc()
        log.info("operator request", verb=verb, ok=reply.ok, error=reply.error)
        await msg.respond(reply.model_dump_json().encode())

    # What each verb does -----------------------------------------------------------------------

    async def handle(self, request: OpRequest) -> dict[str, Any]:
        svc = self._svc
        state = svc.view.state
        pool = plan_pool(state)
        if isinstance(request, HADisable):
            if not state.ha.enabled:
                return {"changed": False}
            return await self._config(HADisabled, {}, None, None)
        if isinstance(request, HAEnable):
            if state.ha.enabled:
                return {"changed": False}
            after = pool.model_copy(update={"ha": pool.ha.model_copy(update={"enabled": True})})
            return await self._config(HAEnabled, {}, after, "enabling HA", ntol=_ntol(state))
        if isinstance(request, PoolSet):
            return await self._pool_set(request, pool)
        if isinstance(request, VMSet):
            return await self._vm_set(request, pool)
        if isinstance(request, VMStart):
            return await self._vm_start(request, pool)
        if isinstance(request, VMShutdown):
            known_vm(svc.core.view, request.vm)
            decisions = svc.core.stop_vm(request.vm, "admin")
            await self._record(decisions)
            return {"stop_ordered": not decisions, "halted": bool(decisions)}
        if isinstance(request, VMMigrate):
            return await self._migrate(request, pool)
        if isinstance(request, HostEvacuate):
            return await self._evacuate(request.host, pool)
        if isinstance(request, HostTrust):
            known_host(svc.core.view, request.host)
            key: dict[str, Any] = {"host": request.host, "key": request.key}
            return await self._config(HostKeyTrusted, key, None, None)
        if isinstance(request, HostPowerOn):
            return await _power_on(svc, request.host)
        assert isinstance(request, HostEnable)
        known_host(svc.core.view, request.host)
        decisions = svc.core.enable_host(request.host)
        await self._record(decisions)
        return {"host": request.host, "in_maintenance": False}

    async def _pool_set(self, request: PoolSet, pool: Pool) -> dict[str, Any]:
        detail: dict[str, Any] = {}
        if request.allow_overcommit is not None:
            allowed: dict[str, Any] = {"allowed": request.allow_overcommit}
            detail |= await self._config(OvercommitAllowed, allowed, None, None)
        ntol = request.host_failures_to_tolerate
        if ntol is not None:
            hosts = len(self._svc.view.state.hosts)
            if ntol >= hosts:
                raise OpRefused(
                    f"ha-host-failures-to-tolerate={ntol} is out of range: this pool of {hosts} "
                    f"hosts tolerates at most {hosts - 1}",
                    f"give a number from 0 to {hosts - 1}",
                    "invalid",
                )
            action = f"setting host_failures_to_tolerate to {ntol}"
            check = pool if ntol > _ntol(self._svc.view.state) else None
            ntol_set: dict[str, Any] = {"host_failures_to_tolerate": ntol}
            detail |= await self._config(NtolSet, ntol_set, check, action, ntol=ntol)
        return detail

    async def _vm_set(self, request: VMSet, pool: Pool) -> dict[str, Any]:
        vm = known_vm(self._svc.core.view, request.vm).spec
        priority = vm.ha_restart_priority
        if request.ha_restart_priority is not None:
            priority = request.ha_restart_priority
        if priority == RESTART and not vm.agile:
            raise OpRefused(
                f"VM {vm.name!r} cannot be protected: its disks are local (agile: false)",
                "protect only VMs whose disks are on shared storage",
                "invalid",
            )
        fields = {
            "vm": vm.name,
            "ha_restart_priority": priority,
            "order": vm.order if request.order is None else request.order,
            "start_delay_s": vm.start_delay_s
            if request.start_delay_s is None
            else request.start_delay_s,
        }
        check = None
        if priority == RESTART and vm.ha_restart_priority != RESTART:
            new = [v.model_copy(update={"ha_restart_priority": RESTART}) if v.name == vm.name
                   else v for v in pool.vms]  # fmt: skip
            check = pool.model_copy(update={"vms": tuple(new)})
        action = f"protecting VM {vm.name!r}"
        return await self._config(
            VMProtectionSet, fields, check, action, ntol=_ntol(self._svc.view.state)
        )

    async def _vm_start(self, request: VMStart, pool: Pool) -> dict[str, Any]:
        svc = self._svc
        order = svc.core.plan_start(request.vm, request.host, svc.clock())
        new = [v.model_copy(update={"host": order.host}) if v.name == order.vm else v
               for v in pool.vms]  # fmt: skip
        after = pool.model_copy(update={"vms": tuple(new)})
        await self._admit(after, f"starting VM {order.vm!r}", _ntol(svc.view.state))
        async with svc.writing:
            # Checked again: the view may have moved while the planner ran.
            order = svc.core.plan_start(request.vm, order.host, svc.clock())
            svc.core.adopt([order])
            await self._append_decisions([order])
        return {"vm": order.vm, "host": order.host, "order_id": order.order_id}

    async def _migrate(self, request: VMMigrate, pool: Pool) -> dict[str, Any]:
        """Checked against the view (the VM runs, the target can take it now), then against
        the configured plan as an evacuation is (the pool with the VM on the target), then
        stopped where it runs; the core starts it on the target once the stop is confirmed."""
        svc = self._svc
        vm = migration_source(svc.core.view, svc.core.liveset(svc.clock()), request.vm,
                              request.host)  # fmt: skip
        source = vm.host
        moved = [v.model_copy(update={"host": request.host}) if v.name == vm.name else v
                 for v in pool.vms]  # fmt: skip
        after = pool.model_copy(update={"vms": tuple(moved)})
        action = f"migrating VM {vm.name!r} to {request.host}"
        await self._admit(after, action, _ntol(svc.view.state))
        async with svc.writing:
            # Checked again: the view may have moved while the planner ran.
            svc.core.migrate_vm(request.vm, request.host, svc.clock())
        return {"vm": vm.name, "from": source, "to": request.host, "stopping": True}

    async def _evacuate(self, host: str, pool: Pool) -> dict[str, Any]:
        svc = self._svc
        known_host(svc.core.view, host)
        if host not in pool.host_names:
            liveness = svc.view.state.hosts[host].liveness
            raise OpRefused(
                f"host {host} has nothing to evacuate: it is {liveness}", "see `haplan status`"
            )
        # Imported here, like admission's search: a start does not pay for the planner.
        from services.planner.evacuate import evacuation_plan

        # Judged against the configured ntol: `pool` (plan_pool) has it clipped to its hosts.
        ntol = _ntol(svc.view.state)
        plan = await asyncio.to_thread(
            functools.partial(evacuation_plan, pool, host, configured_ntol=ntol)
        )
        check_evacuation(plan, pool)
        running = [v.name for v in svc.core.view.on(host) if v.state == "running"]
        detail = await self._config(HostExcluded, {"host": host, "reason": "maintenance"},
                                    None, None)  # fmt: skip
        for vm in running:
            with contextlib.suppress(OpRefused):  # already stopping or gone meanwhile
                await self._record(svc.core.stop_vm(vm, "evacuate"))
        return detail | {"plan": plan.to_json(), "stopping": running}

    # Appends ------------------------------------------------------------------------------------

    async def _admit(self, after: Pool | None, action: str | None, ntol: int) -> None:
        if after is not None and action is not None:
            await asyncio.to_thread(check_capacity, after, ntol, action)

    async def _config(
        self,
        kind: type[Event],
        fields: dict[str, Any],
        check: Pool | None,
        action: str | None,
        ntol: int = 0,
    ) -> dict[str, Any]:
        """Append one configuration event, once `check` (the pool after it) passes admission."""
        svc = self._svc
        seen = svc.view.config_seq
        await self._admit(check, action, ntol)
        async with svc.writing:
            if svc.view.config_seq != seen:
                raise OpRefused(
                    "the pool's configuration changed while this request was checked",
                    "run the command again",
                )
            office = svc.office
            if office is None or not office.elected:
                raise Deposed("no longer the leader")
            event = kind(event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=office.epoch,
                         **fields)  # fmt: skip
            if not await office.append([event], svc.view.last_seq):
                raise OpRefused("the event log did not acknowledge the change", "run it again")
            svc.configure_core()
        return {"recorded": event.type, "event_id": event.event_id}

    async def _record(self, decisions: list[Decision]) -> None:
        if decisions:
            async with self._svc.writing:
                await self._append_decisions(decisions)

    async def _append_decisions(self, decisions: list[Decision]) -> None:
        svc = self._svc
        office = svc.office
        if office is None or not office.elected:
            raise Deposed("no longer the leader")
        events = office.stamp(decisions, svc.core.view)
        if not await office.append(events, svc.view.last_seq):
            raise OpRefused("the event log did not acknowledge the change", "run it again")


def _ntol(state: PoolState) -> int:
    return state.ha.host_failures_to_tolerate


def _refusal(exc: OpRefused) -> OpReply:
    return OpReply(ok=False, error=str(exc), hint=exc.hint, code=exc.code)


def _outcome(reply: OpReply) -> str:
    return "ok" if reply.ok else reply.code or "error"


async def _power_on(svc: ArbiterParts, host: str) -> dict[str, Any]:
    """The operator powers a host on through its chain (the first agent that takes it). It
    comes back as a new incarnation and joins by itself."""
    from services.bmc.agents import AgentError
    from services.bmc.chain import power_on

    known_host(svc.core.view, host)
    state = svc.view.state.hosts.get(host)
    chain = state.spec.fencing if state is not None else ()
    if not chain:
        raise OpRefused(
            f"host {host} has no fencing chain", "add its BMCs under fencing: in the pool",
            "invalid",
        )  # fmt: skip
    try:
        answer = await power_on(chain)
    except AgentError as exc:
        raise OpRefused(
            f"no BMC of {host} powered it on: {exc}", "check the management network and the "
            "BMC credentials (docs/protocol.md, Power fencing through the BMC)", "conflict",
        ) from None  # fmt: skip
    log.warning("host powered on by the operator", host=host, answer=answer)
    return {"host": host, "answer": answer}
