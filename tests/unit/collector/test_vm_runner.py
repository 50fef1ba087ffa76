"""The collector's VM runner reports every exit with its cause; once the host fences (or
stops) every exit is reported as `fenced`, so that the arbiter never reads a VM its own host
killed as a VM lost on a healthy host. (In-memory `sim` driver: no process.)"""

from __future__ import annotations

from schemas.messages import StartOrder
from services.collector.vms import VMRunner
from services.drivers import SimVMDriver


def _start(runner: VMRunner, vm: str, order: str) -> None:
    failure = runner.start(StartOrder(order_id=order, vm=vm, host="h", incarnation="h#1"), 0.0)
    assert failure is None


def test_a_guest_halt_is_reported_with_its_cause() -> None:
    """A VM that halts itself is reported with cause guest-halt, for about T."""
    driver = SimVMDriver()
    runner = VMRunner(driver, keep_s=10.0, fencing=lambda: False)
    _start(runner, "web", "order-1")
    driver.guest_halt("web")
    runner.reap(1.0)
    [exit_] = runner.recent_exits(2.0)
    assert (exit_.vm, exit_.instance, exit_.cause) == ("web", "order-1", "guest-halt")
    assert runner.recent_exits(12.0) == ()


def test_exits_after_the_host_fences_are_reported_as_fenced() -> None:
    """A kill before fencing is `killed`; once `fencing()` says so (the shell reads the
    core's phase), the kills of the fence itself are `fenced`."""
    fenced = False
    driver = SimVMDriver()
    runner = VMRunner(driver, keep_s=10.0, fencing=lambda: fenced)
    _start(runner, "web", "order-1")
    _start(runner, "db", "order-2")
    driver.kill_all()  # as the OOM killer would, host still healthy
    runner.reap(1.0)
    _start(runner, "web", "order-3")
    fenced = True
    driver.kill_all()
    runner.reap(2.0)
    causes = {(e.instance, e.cause) for e in runner.recent_exits(2.0)}
    assert causes == {("order-1", "killed"), ("order-2", "killed"), ("order-3", "fenced")}
