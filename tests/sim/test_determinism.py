"""The simulator and the cores under it decide the same as they did when the sample's digest
was recorded: the guard for changes that only make a run cheaper (issue 15).

How the expected value was computed: on main at 47ada84, before any of those changes, with
`.venv/bin/python -m tests.sim.fingerprints` (the same under PYTHONHASHSEED 0, 1 and 2). A
change that is meant to alter a decision, a trace line or the random draws of a run changes
it too: record the new value the same way, and say why in that commit."""

from __future__ import annotations

from tests.sim.fingerprints import digest, fingerprint, sample

SAMPLE_SIZE = 97
DIGEST = "e5a1dbf8f44110207e8c1f058e67d24e9a15ee86fb7cf220e84d3ff37dcb4df2"


def test_the_sample_runs_decide_exactly_as_recorded() -> None:
    """Every violation, trace line, milestone, settling time, event count, logged decision and
    counted forgery of 97 schedules (random ones across the seeds, both timeouts, slices of
    the grids and the hostile grid), and the same run without its trace agreeing: one digest,
    equal to the one recorded before the simulator was made cheaper."""
    assert digest() == (SAMPLE_SIZE, DIGEST)


def test_a_fingerprint_tells_schedules_apart() -> None:
    """The fingerprint sees a run's content: two different schedules of the sample give two
    different fingerprints, and one schedule gives the same one twice."""
    (_, a), (_, b) = list(sample())[:2]
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(a) == fingerprint(a)
