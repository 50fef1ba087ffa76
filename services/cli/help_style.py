"""Operator metavars in `--help`, where Typer would print Python type names.

Typer (0.29) fills the help's type column with the annotation's name: `<bool>` beside every
flag, `<str>`, `<float>`, `<list[str]>`, `<path>` beside an argument already named POOL. An
operator expects a metavar, as xe, pcs and every Unix tool print: nothing beside a flag, a
placeholder in capitals beside an option that takes a value (SECONDS, URL, HOST) or its
choices (sim|process), and the argument's own name only. Commands that set a metavar keep
theirs; the others get their parameter's name in capitals.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption


def operator_metavars(command: Any) -> None:
    """Give every parameter of `command` (a click command as Typer builds it) and of its
    subcommands an operator's metavar, in place."""
    for param in command.params:
        if isinstance(param, TyperOption):
            if param.is_flag:
                param.metavar = ""  # a flag takes no value: nothing to show
            elif param.metavar is None:
                choices = _choices(param)
                param.metavar = choices or (param.name or "value").upper()
        elif isinstance(param, TyperArgument):
            # The name column already shows the argument (POOL, HOST...): no type beside it.
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    _quiet_help_flag(command)
    # A group (typer vendors click privately: its Group class is not imported here).
    for sub in getattr(command, "commands", {}).values():
        operator_metavars(sub)


def _choices(param: Any) -> str | None:
    """`sim|process` for an option whose values are a fixed set: the choices are the metavar."""
    desc = getattr(param, "type_descriptor", None)
    if desc is None or not desc.is_choice or desc.is_list:
        return None
    return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())


def _quiet_help_flag(command: Any) -> None:
    """--help is made when the help is shown, not listed in `params`: give it no metavar
    then."""
    make = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option


def _no_type(*_: Any, **__: Any) -> None:
    return None
