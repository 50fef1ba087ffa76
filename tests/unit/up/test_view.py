"""The live view draws what the leader and `up` say: the pool line, each host's state, liveset
membership and pulled cables, each VM's host and power state, the latest events; and it says
so when no arbiter leads yet."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from services.up.view import EventLine, Picture, render

STATUS = {
    "ok": True,
    "pool": "Lab pool",
    "ha_enabled": True,
    "leader": "up-arbiter",
    "max_host_failures_to_tolerate": 1,
    "host_failures_to_tolerate": 1,
    "overcommitted": False,
    "hosts": [
        {"name": "lab1", "state": "dead", "in_liveset": False, "suspected": False},
        {"name": "lab2", "state": "live", "in_liveset": True, "suspected": False},
    ],
    "vms": [{"name": "Minion 1", "host": "lab2", "power_state": "running"}],
}


def text_of(picture: Picture) -> str:
    console = Console(record=True, width=160, color_system=None)
    console.print(render(picture))
    return console.export_text()


def rows(text: str) -> dict[str, list[str]]:
    """Table rows by their first cell."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) > 1:
            out[cells[0]] = cells[1:]
    return out


def test_hosts_vms_and_the_pool_line_come_from_the_status_and_the_machines() -> None:
    """lab1 dead, out of the liveset, power pulled, no collector; lab2 live with its
    collector; Minion 1 running on lab2; the pool line has HA, ntol, max failures,
    overcommitted and the leader; the newest event is listed."""
    picture = Picture("Lab pool", 3.0, "/run/haplan", status=STATUS)
    picture.hosts = [
        {"name": "lab1", "pulled": ["power"], "collector_pid": None, "starts": 1},
        {"name": "lab2", "pulled": [], "collector_pid": 4242, "starts": 1},
    ]
    picture.events.append(
        EventLine(9, datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "host_declared_dead", "lab1 dead")
    )
    text = text_of(picture)
    table = rows(text)
    assert table["lab1"] == ["dead", "no", "power", "not running"]
    assert table["lab2"] == ["live", "yes", "-", "pid 4242"]
    assert table["Minion 1"] == ["lab2", "running"]
    pool_line = text.splitlines()[0]
    for part in ("HA on", "ntol 1", "max failures 1", "overcommitted no", "leader up-arbiter"):
        assert part in pool_line
    assert "host_declared_dead" in text and "lab1 dead" in text


def test_without_a_leader_the_view_says_so_and_still_lists_the_hosts() -> None:
    """No status answer: the pool line says no arbiter leads; hosts show state `?`."""
    picture = Picture("Lab pool", 5.0, "/run/haplan")
    picture.hosts = [{"name": "lab1", "pulled": [], "collector_pid": 7, "starts": 1}]
    text = text_of(picture)
    assert "no arbiter leads yet" in text.splitlines()[0]
    assert rows(text)["lab1"][:2] == ["?", "-"]


def test_when_the_leader_goes_quiet_the_last_answer_stays_marked_with_its_time() -> None:
    """A status request that finds no leader keeps the last answer on screen, and the pool
    line says since when nothing answered."""
    picture = Picture("Lab pool", 5.0, "/run/haplan", status=STATUS)
    picture.answered_at = datetime(2026, 1, 1, 12, 34, 56, tzinfo=UTC)
    picture.answering = False
    picture.hosts = [{"name": "lab2", "pulled": [], "collector_pid": 7, "starts": 1}]
    text = text_of(picture)
    assert "no leader answers: as of 12:34:56" in text.splitlines()[0]
    assert rows(text)["lab2"][:2] == ["live", "yes"]
    picture.answering = True
    assert "no leader answers" not in text_of(picture)


def test_the_pool_line_shows_the_guard_while_it_holds() -> None:
    """With the status's `guard` set, the pool line names the hosts suspected at once and
    says nobody is declared dead on silence; with it null, it says nothing of a guard."""
    guard = {"engaged_at": "2026-01-01T12:00:00+00:00", "suspected": ["lab1", "lab2"],
             "members": 2, "share": 0.5}  # fmt: skip
    held = text_of(Picture("Lab pool", 3.0, "/run/haplan", status={**STATUS, "guard": guard}))
    assert "guard engaged (lab1, lab2): no declaration on silence" in held.splitlines()[0]
    calm = text_of(Picture("Lab pool", 3.0, "/run/haplan", status={**STATUS, "guard": None}))
    assert "guard" not in calm.splitlines()[0]
