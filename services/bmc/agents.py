"""One BMC, as the leader's shell talks to it: power the host off (or on, for the operator),
and read its power state. Blocking calls of the client libraries (sushy for Redfish, pyghmi
for IPMI), each bounded by the agent's `timeout_s` in the library itself; services.bmc.chain
runs them off the event loop under the same deadline. A failure is an `AgentError` whose
message is one line and never holds the credential."""

from __future__ import annotations

from typing import Any, Literal

from schemas.fencing import FencingAgent
from services.bmc.credentials import Credential, CredentialError, read_credential

Action = Literal["off", "on"]


class AgentError(RuntimeError):
    """The BMC did not do what was asked, or could not be asked; one line."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def power(agent: FencingAgent, action: Action) -> str:
    """Ask the BMC to power the host off ("off": at once, no graceful shutdown) or on;
    what it answered, or AgentError."""
    cred = _credential(agent)
    if agent.kind == "redfish":
        return _redfish_power(agent, cred, action)
    return _ipmi_power(agent, cred, action)


def power_state(agent: FencingAgent) -> str:
    """The host's power state as the BMC reads it now: "off", "on", or what else it says
    (lower case); AgentError when it does not answer."""
    cred = _credential(agent)
    if agent.kind == "redfish":
        return _redfish_state(agent, cred)
    return _ipmi_state(agent, cred)


def load(kind: str) -> None:
    """Import the agent's client library ahead of its calls: a first import takes seconds on
    a loaded machine, which must not count against the BMC's deadline."""
    try:
        if kind == "redfish":
            import sushy  # noqa: F401
        else:
            from pyghmi.ipmi import command  # noqa: F401
    except ImportError:
        pass  # said by the call itself, as a failure of that agent


def _credential(agent: FencingAgent) -> Credential:
    try:
        return read_credential(agent.credential)
    except CredentialError as exc:
        raise AgentError(str(exc)) from None


# Redfish (sushy) ------------------------------------------------------------------------------


def _redfish_system(agent: FencingAgent, cred: Credential) -> Any:
    try:
        import sushy
    except ImportError:
        raise AgentError("the redfish agent needs sushy: pip install 'haplan[bmc]'") from None
    try:
        conn = sushy.Sushy(
            agent.address,
            # Basic authentication on each request: no session to open first (one round trip
            # less within the deadline, and nothing to log out of).
            auth=sushy.auth.BasicAuth(username=cred.user, password=cred.password),
            # The BMC's certificate is most often self-signed: the management network is
            # trusted, the credential is what the BMC checks (docs/protocol.md).
            verify=False, server_side_retries=0,
            read_timeout=agent.timeout_s, connect_timeout=agent.timeout_s,
        )  # fmt: skip
        return conn.get_system(agent.system)
    except Exception as exc:  # sushy raises its own errors and requests' ones
        raise AgentError(f"{agent.label}: {_one_line(exc)}") from None


def _redfish_power(agent: FencingAgent, cred: Credential, action: Action) -> str:
    import sushy

    system = _redfish_system(agent, cred)
    reset = sushy.ResetType.FORCE_OFF if action == "off" else sushy.ResetType.ON
    try:
        system.reset_system(reset)
    except Exception as exc:
        raise AgentError(f"{agent.label}: {_one_line(exc)}") from None
    return f"{reset.value} accepted"


def _redfish_state(agent: FencingAgent, cred: Credential) -> str:
    system = _redfish_system(agent, cred)
    state = system.power_state
    return "unknown" if state is None else str(getattr(state, "value", state)).lower()


# IPMI (pyghmi) --------------------------------------------------------------------------------


def _ipmi_command(agent: FencingAgent, cred: Credential) -> Any:
    try:
        from pyghmi.ipmi import command
    except ImportError:
        raise AgentError("the ipmi agent needs pyghmi: pip install 'haplan[bmc]'") from None
    host, _, port = agent.address.rpartition(":")
    if not host or not port.isdigit():
        host, port = agent.address, "623"
    try:
        return command.Command(
            bmc=host, userid=cred.user, password=cred.password, port=int(port), keepalive=False
        )
    except Exception as exc:
        raise AgentError(f"{agent.label}: {_one_line(exc)}") from None


def _ipmi_power(agent: FencingAgent, cred: Credential, action: Action) -> str:
    cmd = _ipmi_command(agent, cred)
    try:
        answer = cmd.set_power(action, wait=agent.timeout_s)
    except Exception as exc:
        raise AgentError(f"{agent.label}: {_one_line(exc)}") from None
    return f"{action} accepted ({answer.get('powerstate', answer)})"


def _ipmi_state(agent: FencingAgent, cred: Credential) -> str:
    cmd = _ipmi_command(agent, cred)
    try:
        return str(cmd.get_power().get("powerstate", "unknown")).lower()
    except Exception as exc:
        raise AgentError(f"{agent.label}: {_one_line(exc)}") from None
