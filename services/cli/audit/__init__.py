"""`haplan audit`: the shell around the pure audit core (services.audit): reading the log
from NATS or an export file, progress bars, tables and trees, exit statuses."""

from services.cli.audit import commands

__all__ = ["commands"]
