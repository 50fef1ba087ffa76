"""`haplan up`: the whole pool on this machine, from start to Ctrl-C.

Start: claim the runtime directory, lay it out, make this run's NATS users (services.up.
credentials), start a private nats-server with them and the deployment's limits (JetStream in
the runtime directory, fresh each run), one cuttable proxy per host in front of it, load the
pool into the event log as the admin user (its view then follows the log as the operator),
open the control socket, write the runtime file, then start one collector per host (through
its proxy, on its own store link), an arbiter and a planner, all supervised, each with its
own NATS user.
Run: show the pool (services.up.show) and carry out fault requests.
Stop (Ctrl-C, SIGTERM): SIGTERM to every process, SIGKILL to whatever of the run is left
after a grace period (VMs and watchdogs included, found by their scope), then the server,
the proxies and every file of the run. A second Ctrl-C skips the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from nats.aio.client import Client
from rich.console import Console

from schemas import Pool
from schemas.events import PoolCreated
from services.common.bus import BusUnavailable, connect
from services.common.eventstore import EventStoreError, JetStreamEventStore
from services.common.logging import configure_logging
from services.common.natsserver import NatsServer, NatsServerError
from services.common.settings import BusSettings
from services.faults import CuttableProxy
from services.up import launch
from services.up.control import ControlServer
from services.up.credentials import ADMIN, OPERATOR, Credentials, generate
from services.up.faults import FaultRequestError, parse_request
from services.up.journal import Journal
from services.up.keys import make_host_keys
from services.up.machine import HostMachine
from services.up.member import Member
from services.up.procs import kill_scope, scope
from services.up.runtime import HostControls, UpRecord, proc_start_time, write_record
from services.up.show import Show
from services.up.topology import Claim, Layout, claim
from services.up.view import Picture

Mode = Literal["live", "lines", "json"]
# How long processes get to stop on SIGTERM (a collector kills its VMs and says so first).
GRACE_S = 5.0


class UpFailed(Exception):
    """`haplan up` could not start the pool; the message says why (one line)."""


@dataclass(frozen=True)
class UpOptions:
    pool: Pool
    source: str  # the pool file, as the operator named it
    runtime_dir: Path
    mode: Mode


class Session:
    def __init__(self, options: UpOptions, console: Console) -> None:
        self.options, self.console = options, console
        self.run_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.stop = asyncio.Event()
        self.force = asyncio.Event()
        self.claim: Claim | None = None
        self.layout = Layout(options.runtime_dir)
        self.journal = Journal()
        self.server: NatsServer | None = None
        self.machines: dict[str, HostMachine] = {}
        self.members: list[Member] = []
        self._tasks: list[asyncio.Task[None]] = []  # one per supervised member
        self._show: asyncio.Task[None] | None = None
        self._control: ControlServer | None = None
        self._nc: Client | None = None
        self.credentials: Credentials | None = None

    # Whole life -----------------------------------------------------------------------------

    async def run(self) -> int:
        self._on_signals()
        self.claim = claim(self.options.runtime_dir)  # RuntimeDirError: refused, nothing done
        failed = False
        try:
            await self._start()
            await self.stop.wait()
        except UpFailed:
            failed = True
            raise
        finally:
            self.journal.note("up", "stopping every process of the pool")
            await self._shutdown()
            # After a failed start the logs are what the operator needs: keep them.
            self.claim.release(remove=not failed)
        return 0

    def _on_signals(self) -> None:
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if self.stop.is_set():
                self.force.set()
            self.stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)

    # Start ----------------------------------------------------------------------------------

    async def _start(self) -> None:
        pool, layout = self.options.pool, self.layout
        try:
            layout.prepare([h.name for h in pool.hosts])
        except OSError as exc:
            raise UpFailed(f"cannot lay out {layout.root}: {exc.strerror or exc}") from None
        self.journal = Journal(layout.log("up"))
        try:
            pool = make_host_keys(layout.root, pool)
        except OSError as exc:
            raise UpFailed(f"cannot write the hosts' keys: {exc.strerror or exc}") from None
        self.options = replace(self.options, pool=pool)
        # The bus plumbing's own log lines go to the file, not across the live view.
        configure_logging("info", stream=self.journal.stream, tty=False)
        picture = Picture(pool.name, pool.ha.timeout_s, str(layout.root))
        show = Show(self.options.mode, self.console, self.journal, self.machines, picture)
        try:
            self.credentials = cred = generate(layout.credentials, [h.name for h in pool.hosts])
        except ValueError as exc:  # two hosts would share a NATS user
            raise UpFailed(f"cannot make the pool's NATS users: {exc}") from None
        except OSError as exc:  # as for the keys: a full or read-only runtime directory
            raise UpFailed(f"cannot write the pool's NATS users: {exc.strerror or exc}") from None
        self.server = server = NatsServer(
            store_dir=layout.nats, name="haplan-up", config=cred.server_config,
            env=cred.server_env,
        )  # fmt: skip
        try:
            await asyncio.to_thread(server.start)
        except NatsServerError as exc:
            raise UpFailed(f"the private nats-server did not start: {exc}") from None
        self.journal.note(
            "nats", f"nats-server ready on {server.url}, its users' credentials in {cred.directory}"
        )
        for name in ("NATS_URL", "HAPLAN_NATS_URL"):
            if name in os.environ:
                self.journal.note(
                    "up", f"{name} is set here: commands that see it go to {os.environ[name]}, "
                    "not to this pool (unset it in their shell)",
                )  # fmt: skip
        for host in pool.hosts:
            self.machines[host.name] = await self._host(host.name, server.port)
        self._control = ControlServer(layout.control, self.fault)
        await self._control.start()
        nc, store = await self._load_pool(server.url)
        write_record(layout.root, self._record(server.url))
        self._show = asyncio.create_task(show.run(nc, store))
        for role in (launch.arbiter, launch.planner):
            member = role(server.url, layout, self._scope(role.__name__), self.journal, cred)
            self._supervise(member)
        for machine in self.machines.values():
            self._supervise(machine.member)

    async def _host(self, host: str, nats_port: int) -> HostMachine:
        proxy = CuttableProxy("127.0.0.1", nats_port)
        try:
            port = await proxy.start()
        except OSError as exc:
            raise UpFailed(f"cannot start {host}'s network proxy: {exc.strerror or exc}") from None
        scope = self._scope(f"host/{host}")
        assert self.credentials is not None
        member = launch.collector(host, port, self.layout, scope, self.journal, self.credentials)
        return HostMachine(host, member, proxy, self.layout, self.journal)

    def _scope(self, member: str) -> str:
        return scope(self.run_id, member)

    def _supervise(self, member: Member) -> None:
        self.members.append(member)
        self._tasks.append(asyncio.create_task(member.run()))

    async def _load_pool(self, url: str) -> tuple[Client, JetStreamEventStore]:
        """A fresh log each run: the pool goes in as its first event, appended by the admin
        user (the one role allowed to) on a connection closed right after. Up's view then
        reads as the operator for the rest of the run (least privilege: nothing of up's that
        runs on can append to the log)."""
        assert self.credentials is not None
        pool = self.options.pool
        try:
            admin = await self._connect(url, ADMIN, "haplan-up-load")
            try:
                store = await JetStreamEventStore.open(admin, replicas=1)
                event = PoolCreated(
                    event_id=str(uuid.uuid4()), at=datetime.now(UTC), epoch=0, pool=pool
                )
                await store.append([event], 0)
            finally:
                with contextlib.suppress(Exception):
                    await admin.close()
            self._nc = nc = await self._connect(url, OPERATOR, "haplan-up")
            store = await JetStreamEventStore.open(nc, replicas=1)
        except (BusUnavailable, EventStoreError) as exc:
            raise UpFailed(f"cannot load the pool into the event log: {exc}") from None
        self.journal.note("up", f"pool {pool.name!r} loaded from {self.options.source}")
        return nc, store

    async def _connect(self, url: str, user: str, name: str) -> Client:
        assert self.credentials is not None
        cred = self.credentials[user]
        settings = BusSettings.private(url, cred.user, cred.password)
        return await connect(settings, name=name, initial_timeout_s=10.0)

    def _record(self, url: str) -> UpRecord:
        return UpRecord(
            pid=os.getpid(),
            started=proc_start_time(os.getpid()),
            nats_url=url,
            operator=str(self.credentials.file(OPERATOR)) if self.credentials else "",
            control=str(self.layout.control),
            pool=self.options.pool.name,
            timeout_s=self.options.pool.ha.timeout_s,
            logs=str(self.layout.logs),
            run=self.run_id,
            hosts={
                name: HostControls(
                    store=str(self.layout.host_store(name)),
                    proxy=f"127.0.0.1:{m.proxy.port}",
                    log=str(m.member.log_file),
                )
                for name, m in self.machines.items()
            },
        )

    # Faults ---------------------------------------------------------------------------------

    async def fault(self, raw: object) -> dict[str, Any]:
        try:
            request = parse_request(raw, list(self.machines))
            return await self.machines[request.host].apply(request)
        except FaultRequestError as exc:
            return {"ok": False, "error": str(exc), "hint": exc.hint, "code": exc.code}
        except Exception as exc:  # a bug or the machine: say so, keep serving
            self.journal.note("up", f"fault request failed: {exc!r}")
            return {"ok": False, "error": f"haplan up could not do it: {exc}", "code": "conflict",
                    "hint": f"see {self.layout.log('up')}"}  # fmt: skip

    # Stop -----------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        for member in self.members:
            member.stop()
        if self._tasks and not self.force.is_set():
            grace = asyncio.ensure_future(asyncio.wait(self._tasks, timeout=GRACE_S))
            forced = asyncio.ensure_future(self.force.wait())
            await asyncio.wait({grace, forced}, return_when=asyncio.FIRST_COMPLETED)
            forced.cancel()
        # Whatever is left of the run, wherever it was reparented: VMs, watchdogs, hung ones.
        await asyncio.to_thread(kill_scope, self.run_id)
        for task in [*self._tasks, *([self._show] if self._show else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._control is not None:
            await self._control.close()
        for machine in self.machines.values():
            with contextlib.suppress(Exception):
                await machine.proxy.close()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
        configure_logging("warning")  # off the log file before it closes
        self.journal.close()


async def run_up(options: UpOptions, console: Console) -> int:
    return await Session(options, console).run()
