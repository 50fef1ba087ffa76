"""The error of an unusable pool file, apart from the parser: every `haplan` start catches it
(services.cli.main), and only the commands that read a pool file need YAML and the pool's
models (schemas.pool_file), which cost a start tens of milliseconds (issue 15)."""

from __future__ import annotations


class PoolError(ValueError):
    """A pool file that cannot be used; the message is one line naming the offending item."""
