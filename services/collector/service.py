"""`haplan collector`: one host's collector, from start to SIGTERM or a fence.

Start-up: serve metrics, connect to NATS (reconnecting for ever), read the event log for the
pool (waiting, and saying why, until `haplan pool create` ran), check that this host is in
it, then run one incarnation (services.collector.shell) until it fences (EXIT_FENCED) or
SIGTERM / SIGINT stops it (0). Bad configuration is a ConfigError: one line, exit 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import TypeVar

from services.collector.devices import DeviceError
from services.collector.metrics import CollectorMetrics
from services.collector.options import CollectorOptions
from services.collector.pool_watch import OnChange, PoolWatch
from services.collector.shell import CollectorShell
from services.common.bus import BusRefused, PingPolicy, connect, stop_when_closed, tune_pings
from services.common.exit_codes import EXIT_FENCED
from services.common.logging import configure_logging, get_logger
from services.common.message_bounds import heartbeat_limit
from services.common.metrics import MetricsUnavailable, serve_metrics
from services.common.timers import Timers
from services.state import PoolState

log = get_logger("haplan.collector")

T = TypeVar("T")

__all__ = ["EXIT_FENCED", "CollectorOptions", "ConfigError", "run_collector"]


class ConfigError(Exception):
    """The collector cannot run as configured; the message says what to do (exit 2)."""


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _until_stopped(
    work: asyncio.Future[T],
    stop: asyncio.Event,
    say_waiting: Callable[[], None],
    quiet_s: float = 2.0,
    every_s: float = 10.0,
) -> T | None:
    """The result of `work`, or None (and `work` cancelled) if `stop` is set first. After
    `quiet_s`, and every `every_s`, `say_waiting()` tells the operator what it waits for."""
    stopper = asyncio.ensure_future(stop.wait())
    stopper.add_done_callback(lambda _: work.cancel())
    timeout = quiet_s
    try:
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(work), timeout)
            except TimeoutError:
                say_waiting()
                timeout = every_s
    except asyncio.CancelledError:
        if stop.is_set():
            return None
        raise
    finally:
        stopper.cancel()


def _check_host(options: CollectorOptions, state: PoolState) -> Timers:
    if options.host not in state.hosts:
        known = ", ".join(state.hosts)
        raise ConfigError(
            f"host {options.host!r} is not in pool {state.name!r} (its hosts: {known}); "
            "give --host one of them, or add the host to the pool"
        )
    _check_key(options, state)
    try:
        return Timers.from_timeout(state.ha.timeout_s)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _check_key(options: CollectorOptions, state: PoolState) -> None:
    """The key this collector signs with must be the one the pool registers for the host:
    slots signed with another key would read as forgeries (docs/protocol.md, Signed slots)."""
    registered = state.hosts[options.host].spec.key
    mine = options.signer.public if options.signer is not None else None
    if registered is None:
        if mine is not None:
            log.warning(
                "this host's key is not registered in the pool: its signed slots are not "
                "taken as its word until it is (haplan host trust)",
                key=mine,
            )
        return
    if mine is None:
        raise ConfigError(
            f"the pool registers a key for host {options.host!r}; give its private key "
            "with --key FILE (or HAPLAN_HOST_KEY)"
        )
    if mine != registered:
        raise ConfigError(
            f"--key is not host {options.host!r}'s registered key ({mine} is not {registered}); "
            "give the right key file, or register this one with haplan host trust"
        )


async def run_collector(options: CollectorOptions) -> int:
    """Run the collector; its exit status (0 stopped, EXIT_FENCED fenced)."""
    stop = asyncio.Event()
    _stop_on_signals(stop)
    metrics = CollectorMetrics()
    try:
        endpoint = serve_metrics(options.metrics_port, metrics.registry, options.metrics_addr)
    except MetricsUnavailable as exc:
        raise ConfigError(f"{exc}; pick another --metrics-port") from None
    try:
        name = f"haplan-collector-{options.host}"
        # Back on the bus: prove life at once (renew the lease) rather than at the end of the
        # interval, so that after an outage of every host no peer's renewal finds this one
        # still without its lease.
        nudge = asyncio.Event()
        connecting = asyncio.ensure_future(
            connect(
                options.bus,
                name=name,
                on_closed=stop_when_closed(stop),
                on_reconnected=nudge.set,
            )
        )
        try:
            nc = await _until_stopped(
                connecting,
                stop,
                lambda: log.info("waiting for NATS", servers=options.bus.servers),
            )
        except BusRefused:
            # Told in one line by the CLI (exit 77), not followed by the plumbing's goodbyes.
            configure_logging("warning")
            raise
        if nc is None:
            return 0
        pool = PoolWatch(nc, options.bus)
        follower = asyncio.create_task(pool.run())
        try:
            if not await pool.wait_for_pool(stop):
                return 0
            timers = _check_host(options, pool.state)
            # A hung server must count as a lost bus within T/3 (docs/protocol.md).
            tune_pings(nc, PingPolicy.for_timeout(timers.timeout_s))
            try:
                shell = CollectorShell(
                    nc, options, tuple(pool.state.hosts), timers, metrics, nudged=nudge,
                    vm_specs=lambda: {n: v.spec for n, v in pool.state.vms.items()},
                )  # fmt: skip
            except DeviceError as exc:
                raise ConfigError(str(exc)) from None
            # A peer's heartbeat lists at most the pool's VMs (docs/protocol.md).
            shell.inbound.peers.limit = heartbeat_limit(pool.state.hosts, pool.state.vms)
            pool.on_change = _warn_on_pool_change(options.host, shell)
            return await shell.run(stop)
        except ConfigError:
            # A collector that refuses to start says why in one line (the CLI's), not
            # followed by the bus plumbing's goodbyes.
            configure_logging("warning")
            raise
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            with contextlib.suppress(Exception):
                await nc.close()
    finally:
        if endpoint is not None:
            endpoint.stop()


def _warn_on_pool_change(host: str, shell: CollectorShell) -> OnChange:
    def changed(before: PoolState, after: PoolState) -> None:
        shell.inbound.pool = frozenset(after.hosts)
        # More VMs make larger heartbeats: the bound follows (docs/protocol.md).
        shell.inbound.peers.limit = heartbeat_limit(after.hosts, after.vms)
        if tuple(before.hosts) != tuple(after.hosts) or before.ha.timeout_s != after.ha.timeout_s:
            log.warning(
                "the pool's hosts or ha.timeout_s changed; restart this collector to apply "
                "them to its fencing rules",
                hosts=list(after.hosts),
                timeout_s=after.ha.timeout_s,
            )
        if host not in after.hosts:
            log.warning("this host was removed from the pool", host=host)
        elif host in before.hosts and before.hosts[host].spec.key != after.hosts[host].spec.key:
            log.warning(
                "the pool registers a new key for this host: restart this collector with it "
                "(--key); until then its slots do not count as its word",
                key=after.hosts[host].spec.key,
            )

    return changed
