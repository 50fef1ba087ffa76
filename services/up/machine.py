"""One host of the embedded pool and its cables: what `haplan fault` pulls and heals.

- power: everything of the host (collector, watchdog, VMs) killed, kept off until healed;
- storage: its store symlink points at a path where every read and write fails, so its slot
  writes fail and its VMs lose their disks (they exit), as with a pulled iSCSI cable;
- network: its NATS proxy cuts every connection and refuses new ones;
- hang: its collector alone is SIGSTOPped, so its watchdog must kill the VMs;
- heal: every cable plugged back, the power on.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.faults import CuttableProxy
from services.up.faults import HEALED, MEANING, FaultKind, Heal, Pull, pulled_after
from services.up.journal import Journal
from services.up.member import Member
from services.up.procs import kill_scope
from services.up.topology import Layout


class HostMachine:
    def __init__(
        self, name: str, member: Member, proxy: CuttableProxy, layout: Layout, journal: Journal
    ) -> None:
        self.name, self.member, self.proxy, self.layout = name, member, proxy, layout
        self.journal = journal
        self.pulled: frozenset[FaultKind] = frozenset()
        self._lock = asyncio.Lock()

    async def apply(self, request: Pull | Heal) -> dict[str, Any]:
        """Carry out a pull or a heal; the reply for `haplan fault`. FaultRequestError when
        the request does not fit the host's state."""
        async with self._lock:  # one fault at a time per host: a heal never races a pull
            before = self.pulled
            after = pulled_after(before, request)
            word = "heal" if isinstance(request, Heal) else request.kind
            if before != after:
                # Said before it is done: the exits it causes are noted after it.
                self.journal.note(self.name, _saying(request, before), fault=word,
                                  pulled=sorted(after))  # fmt: skip
            if isinstance(request, Heal):
                await self._heal(before)
            elif request.kind not in before:
                await self._pull(request.kind)
            self.pulled = after
        return {
            "ok": True,
            "host": self.name,
            "fault": word,
            "changed": before != after,
            "pulled": sorted(after),
            "healed": sorted(before - after) if isinstance(request, Heal) else [],
        }

    async def _pull(self, kind: FaultKind) -> None:
        if kind == "power":
            self.member.powered.clear()
            self.member.frozen = False
            await asyncio.to_thread(kill_scope, self.member.scope)
        elif kind == "storage":
            self.layout.plug_storage(self.name, plugged=False)
        elif kind == "network":
            await self.proxy.pull()
        else:
            self.member.freeze()

    async def _heal(self, pulled: frozenset[FaultKind]) -> None:
        # Cables first, power last: a host that boots finds its store and network back.
        if "storage" in pulled:
            self.layout.plug_storage(self.name, plugged=True)
        if "network" in pulled:
            await self.proxy.plug()
        if "hang" in pulled:
            self.member.thaw()
        if "power" in pulled:
            self.member.powered.set()

    def row(self) -> dict[str, Any]:
        """This host as `up` sees it, for the live view."""
        proc = self.member.proc
        return {
            "name": self.name,
            "pulled": sorted(self.pulled),
            "collector_pid": proc.pid if proc is not None and proc.returncode is None else None,
            "starts": self.member.starts,
        }


def _saying(request: Pull | Heal, before: frozenset[FaultKind]) -> str:
    if isinstance(request, Pull):
        return MEANING[request.kind]
    return "healed: " + "; ".join(HEALED[k] for k in sorted(before))
