"""Errors of the planner core: each carries a one-line message the CLI can show as is."""

from __future__ import annotations


class UnknownNameError(KeyError):
    """A host or VM name that is not in the pool.

    A KeyError (so callers that look names up catch it naturally) whose str() is the plain
    one-line message, not KeyError's quoted repr.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def unknown_host(name: str, known: tuple[str, ...]) -> UnknownNameError:
    return UnknownNameError(
        f"unknown host {name!r}: the pool's hosts are {', '.join(known) or 'none'}"
    )


def unknown_vm(name: str) -> UnknownNameError:
    return UnknownNameError(f"unknown VM {name!r}: no VM of that name in the pool")
