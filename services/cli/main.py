"""Entry point of the `haplan` command."""

from __future__ import annotations

import sys

from schemas import PoolError

# Command modules register themselves on `app` when imported.
from services.cli import commands  # noqa: F401
from services.cli.app import app
from services.cli.output import UserError, report_error


def main() -> None:
    try:
        app()
    except UserError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except PoolError as exc:
        report_error(UserError(str(exc), "fix the pool file and try again"))
        sys.exit(2)


if __name__ == "__main__":
    main()
