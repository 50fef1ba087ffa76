"""Child processes that die with the process (on Linux, the thread) that started them.

`preexec_fn=die_with_parent` asks the kernel to SIGKILL the child when its parent dies,
however it dies (even by SIGKILL), so an interrupted run leaves no server, collector or VM
behind. The call is resolved at import: between fork and exec only an already-loaded
function is safe to call. Elsewhere than Linux it does nothing.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


def die_with_parent() -> None:
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
