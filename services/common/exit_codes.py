"""Exit statuses that one haplan process reads from another."""

from __future__ import annotations

# sysexits EX_TEMPFAIL: the collector's host fenced; its supervisor (systemd, `haplan up`)
# starts a new incarnation (spec/cli.md).
EXIT_FENCED = 75
