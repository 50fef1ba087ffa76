"""Real-fault labs (tests/e2e/lab.py) for the tests of this layer.

After every test, pass or fail, two invariants are checked on what the run left: no VM disk
had two writers at once (read from the disk files themselves), and `haplan audit verify`
reproduces every decision of the run's log. Then everything the lab made is removed, and a
namespace, mount or process left behind fails the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.lab import Lab
from tests.e2e.netns import available

MakeLab = Callable[..., Lab]


@pytest.fixture
def lab_machine() -> None:
    """This machine can build labs: root, ip, nsenter, bindfs, /dev/fuse. Elsewhere the
    layer is skipped, saying why, except in CI, where it must run: there it fails."""
    missing = available()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the e2e layer cannot run on this CI machine: {missing}")
        pytest.skip(missing)


_HERE = str(Path(__file__).relative_to(Path(__file__).parents[2]))
_LINES = Path(__file__).read_text().splitlines()
_SKIP_LINE = next(n for n, line in enumerate(_LINES, 1) if "skip(missing)" in line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, None]:
    """A test skipped because this machine cannot build labs is reported at this file, so
    that pytest's summary folds the whole layer into one line saying why and how to run it,
    not one line per test."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
        if reason.removeprefix("Skipped: ") == available():
            report.longrepr = (_HERE, _SKIP_LINE, reason)


@pytest.fixture
def make_lab(lab_machine: None) -> Iterator[MakeLab]:
    """Start a lab: `make_lab(hosts=(...), timeout_s=3, nats_nodes=1, arbiters=1)`."""
    labs: list[Lab] = []

    def make(**kwargs: Any) -> Lab:
        lab = Lab(**kwargs)
        labs.append(lab)
        lab.start()
        return lab

    problems: list[str] = []
    try:
        yield make
    finally:
        for lab in labs:
            try:
                problems += _invariants(lab)
            finally:
                problems += lab.close()
    assert not problems, "\n".join(problems)


# The one refusal a normal run meets: a collector started before any arbiter tries to create
# the lease bucket, which only arbiters may (its expiry comes from the pool), and waits.
_EXPECTED_REFUSAL = re.compile(
    r'"\$G/user:collector-[^"]+" - Publish Violation - '
    r'Subject "\$JS\.API\.STREAM\.CREATE\.KV_ha_leases"'
)


def _invariants(lab: Lab) -> list[str]:
    problems = [f"split brain on {vm}'s disk: {pairs}" for vm, pairs in lab.split_brains().items()]
    problems += [
        f"NATS {server.name} refused a service: {line}"
        for server in lab.nats
        for line in server.violations()
        if not _EXPECTED_REFUSAL.search(line)
    ]
    try:
        report = lab.verify()
    except AssertionError as exc:
        return [*problems, f"the log could not be audited: {exc}"]
    if not report["ok"]:
        problems.append(f"audit verify: decisions not reproduced: {report['differences']}")
    return problems
