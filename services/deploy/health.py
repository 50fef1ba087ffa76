"""A container's healthcheck: the service answers on its HTTP endpoint (a haplan service's
/metrics, which it serves from its start; a NATS node's /healthz, which says 200 once the node
and its JetStream are up)."""

from __future__ import annotations

import urllib.error
import urllib.request

TIMEOUT_S = 3.0


def healthy(url: str, timeout_s: float = TIMEOUT_S) -> str | None:
    """None when `url` answers 200 within `timeout_s`; else why not, in one line."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"{url} does not answer: {reason}"
    return None if status == 200 else f"{url} answered {status}"
