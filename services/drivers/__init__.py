"""Drivers: how a collector runs its host's VMs and how its host gets fenced.

VM drivers: `sim` (in-process VMs) and `process` (each VM a real OS process writing its disk log
on the shared store, so a split brain is visible in the file). Watchdogs: `process` (a separate
process that kills the host's VMs when it is not petted in time) and `linux` (`/dev/watchdog`).
"""

from services.drivers.base import VMDriver, VMExit
from services.drivers.vm_process import ProcessVMDriver
from services.drivers.vm_sim import SimVMDriver
from services.drivers.watchdog import ProcessWatchdog, Watchdog
from services.drivers.watchdog_linux import LinuxWatchdog

__all__ = [
    "LinuxWatchdog",
    "ProcessVMDriver",
    "ProcessWatchdog",
    "SimVMDriver",
    "VMDriver",
    "VMExit",
    "Watchdog",
]
