"""Audits of the event log (pure: no IO, no clock): the timeline, why a VM is where it is,
and verify, which re-runs the pure decision code on every decision the log records."""

from services.audit.entries import Entry, Logged, UnreadableLine, decode_line, encode_line
from services.audit.explain import Explainer, Explanation, explain
from services.audit.facts import Step
from services.audit.findings import Finding, VerifyReport
from services.audit.fit import Fit, fit_on, liveset_fits
from services.audit.history import Snapshots, StateHistory, states_at
from services.audit.involved import Involved, involved
from services.audit.planning import PlannerCache
from services.audit.rules import ArbiterRules, Recheck, load_rules, recheck
from services.audit.timeline import TimelineFilter, TimelineRow, timeline, timeline_row
from services.audit.verify import Verifier, verify
from services.audit.when import BadTime, parse_when

__all__ = [
    "ArbiterRules",
    "BadTime",
    "Entry",
    "Explainer",
    "Explanation",
    "Finding",
    "Fit",
    "Involved",
    "Logged",
    "PlannerCache",
    "Recheck",
    "Snapshots",
    "StateHistory",
    "Step",
    "TimelineFilter",
    "TimelineRow",
    "UnreadableLine",
    "Verifier",
    "VerifyReport",
    "decode_line",
    "encode_line",
    "explain",
    "fit_on",
    "involved",
    "liveset_fits",
    "load_rules",
    "parse_when",
    "recheck",
    "states_at",
    "timeline",
    "timeline_row",
    "verify",
]
