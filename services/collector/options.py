"""How a collector is told to run (`haplan collector`'s options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.collector.devices import (
    LINUX_WATCHDOG_DEVICE,
    VMDriverKind,
    WatchdogChoice,
    WatchdogKind,
)
from services.common.metrics import DEFAULT_METRICS_ADDR
from services.common.settings import BusSettings
from services.common.signing import HostSigner
from services.common.store_root import StoreRoot
from services.drivers.vm_libvirt import DEFAULT_URI


@dataclass(frozen=True)
class CollectorOptions:
    host: str
    store: Path  # this host's mount of the shared storage: DIR/ha/ and DIR/disks/
    # The store's root as checked at start (`haplan collector`), re-checked on each pass;
    # None: a mount point, first checked on the first pass.
    store_root: StoreRoot | None = None
    vm_driver: VMDriverKind = "process"
    libvirt_uri: str = DEFAULT_URI  # `--vm-driver libvirt` only
    watchdog: WatchdogKind = "process"
    bus: BusSettings = field(default_factory=BusSettings)
    metrics_port: int | None = None  # None: no metrics endpoint
    metrics_addr: str = DEFAULT_METRICS_ADDR
    # Signs this host's slots (--key, docs/protocol.md, Signed slots); None: unsigned slots,
    # which the arbiter never takes as this host's word about itself.
    signer: HostSigner | None = None
    # `--watchdog linux` only: the device and its timeout in seconds (None: derived from T).
    watchdog_device: Path = LINUX_WATCHDOG_DEVICE
    watchdog_timeout_s: int | None = None

    @property
    def watchdog_choice(self) -> WatchdogChoice:
        return WatchdogChoice(self.watchdog, self.watchdog_device, self.watchdog_timeout_s)
