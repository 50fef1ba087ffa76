"""Entry point of the `haplan` command."""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from schemas import PoolError
from services.cli.app import app
from services.cli.commands import attach_for
from services.cli.help_style import operator_metavars
from services.cli.output import UserError, report_error


def main() -> None:
    # Only the command this start runs is imported and attached (the root help attaches all).
    attach_for(sys.argv[1:])
    try:
        # Not standalone: usage errors come back to us, so that they are one line like every
        # other bad input instead of Click's multi-line box.
        command = typer.main.get_command(app)
        operator_metavars(command)
        code = command.main(standalone_mode=False)
    except TyperException as exc:
        if not exc.format_message():
            sys.exit(0)  # `haplan` alone: the help was shown, nothing went wrong
        # Usage errors (unknown option, missing or malformed argument) carry the context of the
        # command they concern, so the hint can name its --help.
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", None) or "haplan"
        report_error(UserError(exc.format_message(), f"see '{where} --help'"))
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("haplan: interrupted\n")
        sys.exit(130)
    except UserError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except PoolError as exc:
        report_error(UserError(str(exc), "fix the pool file and try again"))
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
