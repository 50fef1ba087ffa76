"""`haplan status` and `haplan up`'s live view colour each host state and VM power state the
same way, and every state either can show has a colour (services.common.state_styles)."""

from __future__ import annotations

from typing import Any, get_args

from rich.table import Table
from rich.text import Text

from services.cli.operator_tables import hosts_table as status_hosts
from services.cli.operator_tables import vms_table as status_vms
from services.state.model import HostLiveness, PowerState
from services.up.view import Picture
from services.up.view import hosts_table as up_hosts
from services.up.view import vms_table as up_vms

HOST_STATES = get_args(HostLiveness)
# The status answer shows "stopped" for a VM the log says runs on a fenced or dead host.
POWER_STATES = (*get_args(PowerState), "stopped")


def cell_styles(table: Table | str, column: int) -> list[str]:
    """The style each row of `column` is drawn in, whether the cell is rich Text or markup."""
    assert isinstance(table, Table)
    cells: list[Any] = list(table.columns[column].cells)
    return [style_of(c if isinstance(c, Text) else Text.from_markup(c)) for c in cells]


def style_of(text: Text) -> str:
    """A Text's own style (the live view's cells), else its first span's (markup's)."""
    return str(text.style) or (str(text.spans[0].style) if text.spans else "")


def status_of() -> dict[str, Any]:
    return {
        "hosts": [{"name": f"h{i}", "state": s} for i, s in enumerate(HOST_STATES)],
        "vms": [{"name": f"v{i}", "power_state": p} for i, p in enumerate(POWER_STATES)],
    }


def test_status_and_the_live_view_colour_every_state_alike() -> None:
    """For each host state and each VM power state, the `haplan status` table and `haplan up`'s
    tables draw the state in one style, and that style is not plain."""
    status = status_of()
    picture = Picture(pool="p", timeout_s=10, runtime_dir="/r", status=status)
    picture.hosts = [{"name": h["name"], "pulled": []} for h in status["hosts"]]
    host_styles = cell_styles(status_hosts(status), 1)
    power_styles = cell_styles(status_vms(status), 2)
    assert host_styles == cell_styles(up_hosts(picture), 1)
    assert power_styles == cell_styles(up_vms(picture), 2)
    states, styles = HOST_STATES + POWER_STATES, host_styles + power_styles
    unstyled = [s for s, style in zip(states, styles, strict=True) if not style]
    assert unstyled == []
