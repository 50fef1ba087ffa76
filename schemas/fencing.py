"""A host's power-fencing chain: the baseboard management controllers (BMCs) the arbiter
leader may ask to power the host off (docs/protocol.md, Power fencing through the BMC).

An ordered chain, like Pacemaker's fencing levels: the leader tries each agent in turn until
one confirms the host is off. A credential is never in the pool file, the event log or a pool
export: the record names where the shell reads it (`file:/path` or `env:NAME`), on the
arbiter's machine only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

AgentKind = Literal["redfish", "ipmi"]
# A BMC call that takes longer is given up on; the chain's next agent is tried.
AGENT_TIMEOUT_MAX_S = 60.0


class FencingAgent(BaseModel):
    """One BMC of a host. `address`: a Redfish service root URL (https://bmc-h1.mgmt) or an
    IPMI host[:port]; `credential`: `file:/path` (a file holding `user:password`) or
    `env:NAME` (an environment variable holding it); `system`: the Redfish system's path when
    the BMC manages more than one; `timeout_s`: the deadline of every call to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AgentKind
    address: Annotated[str, Field(min_length=1, max_length=255)]
    credential: Annotated[str, Field(min_length=1, max_length=255)]
    system: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=AGENT_TIMEOUT_MAX_S, allow_inf_nan=False)] = 5.0

    @field_validator("credential")
    @classmethod
    def _reference(cls, ref: str) -> str:
        problem = credential_problem(ref)
        if problem is not None:
            raise ValueError(problem)
        return ref

    @property
    def label(self) -> str:
        """How the agent is named in events and logs: kind and address, never the secret."""
        return f"{self.kind} {self.address}"


def credential_problem(ref: str) -> str | None:
    """Why `ref` is not a credential reference (`file:/absolute/path` or `env:NAME`)."""
    how, _, where = ref.partition(":")
    if how == "file" and where.startswith("/"):
        return None
    if how == "env" and where and (where[0].isalpha() or where[0] == "_") and all(
        c.isalnum() or c == "_" for c in where
    ):
        return None
    return (
        "credential must name where the secret is, 'file:/absolute/path' or 'env:NAME', "
        "never the secret itself"
    )
