"""`haplan audit report`'s page: a Report (services.audit.report) as one self-contained HTML
file (pure: a Report in, a string out).

Plotly draws it (a well-kept library whose figures have hover, zoom and a legend for free,
where hand-drawn SVG would have none) and its JavaScript is inlined in the page
(`include_plotlyjs=True`, about 4.6 MB), so the file opens air-gapped: no element loads
anything from elsewhere. Top: a lane per host and per VM that moved, coloured spans of their
states, the decisions as markers whose hover shows their evidence; below, on the same time
axis, the plan's max host failures to tolerate against the configured target. Then the
explanation of each VM that moved (`haplan audit explain`'s text).
"""

from __future__ import annotations

import html
import io
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

from services.audit.report import POOL_LANE, Marker, Report, host_lane, vm_lane
from services.cli.audit.render import explanation_tree

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

# Host states in the colours of the terminal views (services.common.state_styles).
STATE_COLOURS = {
    "live": "#2ca02c",
    "joining": "#e6c229",
    "suspected": "#ff7f0e",
    "fenced": "#d62728",
    "dead": "#7f0000",
    "maintenance": "#c51bc5",
    "restarting": "#e6c229",
    "unplaceable": "#d62728",
    "failed": "#7f0000",
    "halted": "#9e9e9e",
}
HOST_PALETTE = ("#1f77b4", "#17becf", "#8c564b", "#9467bd", "#bcbd22", "#393b79", "#637939")
MARKER_SYMBOLS = {"host": "diamond", "VM": "circle", POOL_LANE: "star"}


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000.0


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M:%S.%f")[:-3]


def _colour(label: str, hosts: tuple[str, ...]) -> str:
    if label in STATE_COLOURS:
        return STATE_COLOURS[label]
    host = label.split(" ", 2)[-1]  # "on lab2", "starting on lab2"
    index = hosts.index(host) if host in hosts else 0
    return HOST_PALETTE[index % len(HOST_PALETTE)]


def _hover(m: Marker) -> str:
    lines = [f"<b>#{m.seq} {html.escape(m.type)}</b>", html.escape(m.summary)]
    lines += [f"{html.escape(k)}: {html.escape(v)}" for k, v in m.facts]
    return "<br>".join(lines)


def figure(report: Report) -> Figure:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    lanes = [POOL_LANE, *(host_lane(h) for h in report.hosts), *(vm_lane(v) for v in report.moved)]
    # The lanes get 40 px each, the capacity chart a fixed 170 px, whatever the pool's size.
    lanes_px, capacity_px = 120 + 40 * len(lanes), 170
    height = lanes_px + capacity_px + 160
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True,
                        row_heights=[lanes_px / (lanes_px + capacity_px),
                                     capacity_px / (lanes_px + capacity_px)],
                        vertical_spacing=90 / height,
                        subplot_titles=("Hosts and the VMs that moved",
                                        "Max host failures to tolerate"))  # fmt: skip
    by_label: dict[str, list[Any]] = {}
    for span in report.spans:
        by_label.setdefault(span.label, []).append(span)
    for label, spans in by_label.items():
        fig.add_trace(go.Bar(
            orientation="h", name=label, legendgroup=label,
            y=[s.lane for s in spans], base=[s.start for s in spans],
            x=[_ms(s.start, s.end) for s in spans],
            # An order still pending is drawn paler than the VM running there.
            marker={"color": _colour(label, report.hosts),
                    "opacity": 0.45 if label.startswith("starting on") else 1.0},
            hovertemplate=[f"{html.escape(s.lane)}: {html.escape(label)}<br>"
                           f"{_clock(s.start)} to {_clock(s.end)}<extra></extra>"
                           for s in spans],
        ), row=1, col=1)  # fmt: skip
    kinds: dict[str, list[Marker]] = {}
    for m in report.markers:
        kinds.setdefault(m.lane.split(" ", 1)[0], []).append(m)
    for kind, marks in kinds.items():
        fig.add_trace(go.Scatter(
            mode="markers", name=f"{kind} decisions", x=[m.at for m in marks],
            y=[m.lane for m in marks], hovertext=[_hover(m) for m in marks], hoverinfo="text",
            marker={"symbol": MARKER_SYMBOLS.get(kind, "circle"), "size": 11, "color": "black",
                    "line": {"color": "white", "width": 1}},
        ), row=1, col=1)  # fmt: skip
    points = list(report.capacity)
    if points and report.end is not None:
        xs = [p.at for p in points] + [report.end]
        most = [p.max_failures for p in points] + [points[-1].max_failures]
        target = [p.configured for p in points] + [points[-1].configured]
        fig.add_trace(go.Scatter(x=xs, y=most, name="max failures (plan)", mode="lines+markers",
                                 line={"shape": "hv", "color": "#1f77b4"}), row=2, col=1)
        fig.add_trace(go.Scatter(x=xs, y=target, name="configured target", mode="lines",
                                 line={"shape": "hv", "dash": "dash", "color": "#d62728"}),
                      row=2, col=1)  # fmt: skip
    fig.update_layout(barmode="overlay", height=height, hovermode="closest",
                      legend={"orientation": "h", "y": -0.12}, margin={"l": 140, "r": 30})
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(lanes)), row=1, col=1)
    fig.update_yaxes(title_text="hosts", dtick=1, rangemode="tozero", row=2, col=1)
    fig.update_xaxes(type="date", row=1, col=1)
    return fig


def explanation_text(report: Report) -> list[tuple[str, str]]:
    """(VM, `haplan audit explain VM` as plain text) for each VM explained."""
    out = []
    for x in report.explanations:
        console = Console(file=io.StringIO(), width=110, record=True, color_system=None)
        console.print(explanation_tree(x))
        out.append((x.vm, console.export_text()))
    return out


def page(report: Report) -> str:
    """The whole HTML page, Plotly's JavaScript inlined."""
    fig = figure(report)
    chart = fig.to_html(full_html=False, include_plotlyjs=True,
                        config={"displaylogo": False, "responsive": True})  # fmt: skip
    pool = html.escape(str(report.pool))
    span = f"{report.start:%Y-%m-%d %H:%M:%S} to {report.end:%H:%M:%S} UTC" if report.end else ""
    moved = ", ".join(html.escape(v) for v in report.moved) or "none"
    explained = "".join(
        f"<h3>{html.escape(vm)}</h3><pre>{html.escape(text)}</pre>"
        for vm, text in explanation_text(report)
    )
    if report.unexplained:
        explained += (f"<p>{report.unexplained} more VM(s) moved: "
                      "<code>haplan audit explain VM</code> tells each.</p>")  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>haplan report: {pool}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }}
.summary {{ color: #555; }}
</style></head><body>
<h1>What happened in pool {pool}</h1>
<p class="summary">{report.events} event(s), {span}. Hosts: {len(report.hosts)}. VMs that
moved: {moved}. Hover a marker for the decision and its evidence; drag to zoom.</p>
{chart}
<h2>Why each VM that moved is where it is</h2>
{explained or "<p>No VM moved.</p>"}
</body></html>
"""
