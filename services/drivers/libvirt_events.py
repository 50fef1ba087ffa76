"""libvirt's default event loop, run in a thread of its own beside asyncio.

libvirt delivers domain lifecycle events (and the embedded QEMU driver does all its work) only
through a registered event loop implementation. The default one must be registered once per
process, before the first connection is opened, and then run for ever: a daemon thread calls
`virEventRunDefaultImpl` in a loop. Callbacks run in that thread; whoever receives them hands
them over to its own loop (the collector: `call_soon_threadsafe`).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_thread: threading.Thread | None = None


def libvirt_module() -> Any:
    """The `libvirt` module (libvirt-python, the `libvirt` extra); ImportError says what to
    install when it is missing."""
    try:
        import libvirt
    except ImportError:
        raise ImportError(
            "the libvirt VM driver needs libvirt-python: install the Debian packages "
            "libvirt-dev pkg-config gcc, then pip install 'haplan[libvirt]'"
        ) from None
    return libvirt


def ensure_event_loop() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once per process)."""
    global _thread
    libvirt = libvirt_module()
    with _lock:
        if _thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        _thread = threading.Thread(target=run, name="libvirt-events", daemon=True)
        _thread.start()
