"""`haplan collector`: run one host's collector in the foreground (spec/cli.md, Services)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from services.cli.app import app
from services.cli.events import (
    REFUSED_HINT,
    NatsRefused,
    NatsServers,
    StoreLocal,
    bus_settings,
)
from services.cli.output import fail
from services.collector.devices import LINUX_WATCHDOG_DEVICE, VMDriverKind, WatchdogKind
from services.common.metrics import DEFAULT_METRICS_ADDR
from services.drivers.vm_libvirt import DEFAULT_URI


@app.command("collector")
def collector(
    host: Annotated[
        str, typer.Option("--host", metavar="NAME", help="This host's name in the pool.")
    ],
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            metavar="DIR",
            help="This host's mount of the shared storage: heartbeat slots in DIR/ha/, "
            "VM disks in DIR/disks/. It must exist and be a mount point (never created).",
        ),
    ],
    store_local: StoreLocal = False,
    vm_driver: Annotated[
        VMDriverKind,
        typer.Option(
            "--vm-driver",
            help="How VMs run: real processes, in memory, or libvirt domains (KVM/QEMU).",
        ),
    ] = "process",
    libvirt_uri: Annotated[
        str | None,
        typer.Option(
            "--libvirt-uri",
            metavar="URI",
            help=f"With --vm-driver libvirt: the libvirt connection (default {DEFAULT_URI}).",
        ),
    ] = None,
    watchdog: Annotated[
        WatchdogKind,
        typer.Option("--watchdog", help="What kills the VMs if the collector hangs."),
    ] = "process",
    watchdog_device: Annotated[
        Path | None,
        typer.Option(
            "--watchdog-device",
            metavar="PATH",
            help="With --watchdog linux: the watchdog device (default /dev/watchdog).",
        ),
    ] = None,
    watchdog_timeout: Annotated[
        int | None,
        typer.Option(
            "--watchdog-timeout",
            min=1,
            metavar="S",
            help="With --watchdog linux: the device's timeout in whole seconds, from 3 "
            "intervals to T (docs/protocol.md; default T rounded down).",
        ),
    ] = None,
    nats: NatsServers = None,
    metrics_port: Annotated[
        int,
        typer.Option("--metrics-port", min=0, max=65535, help="Prometheus /metrics port (0: off)."),
    ] = 0,
    metrics_addr: Annotated[
        str, typer.Option("--metrics-addr", help="Address the metrics endpoint listens on.")
    ] = DEFAULT_METRICS_ADDR,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            envvar="HAPLAN_HOST_KEY",
            metavar="FILE",
            help="This host's private key (haplan host keygen; mode 0600): signs its slots.",
        ),
    ] = None,
) -> None:
    """Run this host's collector until SIGTERM: heartbeats, host lease, heartbeat store,
    self-fencing through a watchdog, and the host's VMs. Exits 75 after fencing, for its
    supervisor to start it again as a rebooted host would be."""
    if not host.strip():
        fail("--host is empty", "give this host's name in the pool")
    if vm_driver != "libvirt" and libvirt_uri is not None:
        fail("--libvirt-uri applies to --vm-driver libvirt only")
    if watchdog != "linux" and (watchdog_device is not None or watchdog_timeout is not None):
        fail("--watchdog-device and --watchdog-timeout apply to --watchdog linux only")
    # The service (and NATS with it) is imported here: every `haplan` start imports this module.
    from services.collector.options import CollectorOptions
    from services.collector.service import ConfigError, run_collector
    from services.common.bus import BusRefused
    from services.common.logging import configure_logging, get_logger
    from services.common.store_root import StoreRefused, open_store

    signer = None
    if key is not None:
        from services.common.signing import HostKeyError, HostSigner

        try:
            signer = HostSigner.load(key)
        except HostKeyError as exc:
            fail(str(exc), "make one with haplan host keygen HOST --out FILE")
    try:
        # Before NATS: a store that cannot be the shared storage is bad input (exit 2).
        root, unreachable = open_store(store, store_local)
    except StoreRefused as exc:
        fail(str(exc))
    options = CollectorOptions(
        host=host,
        store=store,
        store_root=root,
        vm_driver=vm_driver,
        libvirt_uri=libvirt_uri or DEFAULT_URI,
        watchdog=watchdog,
        bus=bus_settings(nats),
        metrics_port=metrics_port or None,
        metrics_addr=metrics_addr,
        signer=signer,
        watchdog_timeout_s=watchdog_timeout,
        watchdog_device=watchdog_device or LINUX_WATCHDOG_DEVICE,
    )
    configure_logging("info")
    if unreachable is not None:
        get_logger("haplan.collector").warning(
            "the heartbeat store does not answer at start: it counts as unreachable until it does",
            problem=unreachable,
        )
    try:
        status = asyncio.run(run_collector(options))
    except ConfigError as exc:
        fail(str(exc))
    except BusRefused as exc:
        raise NatsRefused(str(exc), REFUSED_HINT) from None
    raise typer.Exit(status)
