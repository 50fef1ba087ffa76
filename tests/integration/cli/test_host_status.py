"""`haplan host status` against a real `haplan collector` process (the collector tests' lab:
a played arbiter that records nothing, a played peer lab2 without a collector): the
collector's phase, lease, store, running instances and its own reason next to the log's
view, and what it says when no collector answers."""

from __future__ import annotations

from tests.integration.cli.runner import haplan
from tests.integration.collector.conftest import Lab
from tests.integration.collector.harness import break_store, heal_store

STORE_UNREACHABLE = "cannot join the liveset: the heartbeat store is not reachable"


async def test_a_host_that_cannot_reach_its_store_says_why(lab: Lab) -> None:
    """lab1's store is broken: `host status lab1 --json` shows its collector answering in
    phase joining with store_ok false and its reason; the table puts that reason right under
    the headline. Once the store is back the collector is a member and runs what it is
    ordered, which the next status shows."""
    break_store(lab.store)
    collector = await lab.spawn("lab1")
    waiting = await collector.report(lambda r: r.reason == STORE_UNREACHABLE, 30, "why not")
    url = lab.server.url

    shown = await haplan("host", "status", "lab1", "--json", url=url)
    assert shown.code == 0, shown.err
    view = shown.json()
    assert view["collector"] is True and view["incarnation"] == waiting.incarnation
    assert (view["phase"], view["store_ok"], view["reason"]) == (
        "joining",
        False,
        STORE_UNREACHABLE,
    )
    assert view["state"] == "joining" and view["in_liveset"] is False
    assert view["pool"] == "Collector lab" and view["leader"] is None
    assert "no arbiter leads" in shown.err  # the played arbiter does not answer status

    table = await haplan("host", "status", "lab1", url=url)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert "lab1" in lines[0] and "NOT in the liveset" in lines[0]
    assert lines[1] == STORE_UNREACHABLE

    heal_store(lab.store)
    member = await collector.member()
    order_id = await lab.arbiter.start_vm("lab1", member.incarnation, "Minion 1")
    await collector.report(lambda r: any(v.instance == order_id for v in r.vms), 30, "VM up")
    view = (await haplan("host", "status", "lab1", "--json", url=url)).json()
    assert (view["phase"], view["store_ok"], view["lease_ok"]) == ("member", True, True)
    assert view["instances"] == [{"vm": "Minion 1", "instance": order_id}]
    # The collector no longer gives a reason; the log (nobody recorded the join) still does.
    assert view["reason"] == "it has not joined the liveset yet"


async def test_a_host_without_a_collector_still_shows_the_log(lab: Lab) -> None:
    """lab2 has no collector: exit 0 with the log's view, `collector` false, and a warning
    line "no collector answers for lab2" on stderr."""
    shown = await haplan("host", "status", "lab2", "--json", url=lab.server.url)
    assert shown.code == 0, shown.err
    view = shown.json()
    assert view["collector"] is False and view["phase"] is None
    assert view["state"] == "joining" and view["reason"] == "it has not joined the liveset yet"
    assert "haplan: warning: no collector answers for lab2" in shown.err.splitlines()


async def test_an_unknown_host_is_exit_2(lab: Lab) -> None:
    """A host the pool does not have: one line naming it and the pool's hosts, exit 2."""
    shown = await haplan("host", "status", "lab9", url=lab.server.url)
    assert shown.code == 2 and shown.out == ""
    assert shown.error_line() == (
        "haplan: error: no host named 'lab9' in pool 'Collector lab' (its hosts: lab1, lab2)"
    )
