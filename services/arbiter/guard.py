"""The guard rail against mass suspicion (docs/protocol.md): the rule, pure.

When many hosts go silent at once, the arbiter's own inputs (its bus link, the lease watch)
are more likely broken than half the pool dead; and a declaration on silence alone revokes the
host's lease, which makes a healthy host fence. So while the guard holds, no host is declared
dead by the timeout rule. A declaration on the host's own word that it fenced (its signed
slot mark, its own bus notice) still goes ahead: its VMs are confirmed dead and nobody healthy
is fenced by it, and the restarts it opens go ahead too.

| guard | condition (members: joined hosts not declared dead nor in maintenance) | step |
|---|---|---|
| released | 2 or more, and more than share x members, became suspect within the last T | engage |
| engaged | the suspects not dead are fewer than 2, or no more than share x members | release |
| otherwise | | stay |

"More than": 1 suspect of 2 members is not more than half (a 2-host pool's single failure is
never held); 2 of 3 are. A single suspect never engages it, even as the last member left (1 of
1): one silent host is the ordinary failure. A share of 1.0 never engages (no count exceeds
every member).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from schemas.liveness import GuardEvidence, GuardReleaseEvidence, RecentSuspicion

GuardStep = Literal["engage", "release"] | None


@dataclass(frozen=True, slots=True)
class Suspicions:
    """What the rule weighs at one instant, on the leader's clock.

    `members`: joined hosts whose current incarnation is not declared dead, not in
    maintenance (a host in maintenance takes no VMs; its silence is no failure).
    `suspects`: the members suspected now. `since`: when this leader first found each suspect
    silent for more than T (a suspicion replayed from the log counts from when the new leader
    finds the host silent: it may engage the guard then). A suspect without a time keeps the
    guard engaged but does not engage it."""

    members: frozenset[str]
    suspects: frozenset[str]
    since: Mapping[str, float]

    def recent(self, now: float, window_s: float) -> dict[str, float]:
        """The suspects suspected within the last `window_s`: host -> seconds ago."""
        return {
            h: now - self.since[h]
            for h in sorted(self.suspects)
            if h in self.since and now - self.since[h] <= window_s
        }


# One silent host is the ordinary failure the timeout rule is made for, even when it is the
# last member standing (the others dead): only two or more at once make a mass suspicion.
MIN_SUSPECTS = 2


def more_than_share(count: int, members: int, share: float) -> bool:
    """A mass suspicion: at least MIN_SUSPECTS hosts, and more than share x members."""
    return count >= MIN_SUSPECTS and count > share * members


def guard_step(
    s: Suspicions, engaged: bool, now: float, timeout_s: float, share: float
) -> GuardStep:
    """The table of the module docstring."""
    if not engaged:
        recent = s.recent(now, timeout_s)
        return "engage" if more_than_share(len(recent), len(s.members), share) else None
    if not more_than_share(len(s.suspects), len(s.members), share):
        return "release"
    return None


def engage_evidence(s: Suspicions, now: float, timeout_s: float, share: float) -> GuardEvidence:
    recent = s.recent(now, timeout_s)
    return GuardEvidence(
        recent=tuple(RecentSuspicion(host=h, suspected_for_s=ago) for h, ago in recent.items()),
        members=len(s.members),
        share=share,
        timeout_s=timeout_s,
    )


def release_evidence(s: Suspicions, share: float) -> GuardReleaseEvidence:
    return GuardReleaseEvidence(
        suspects=tuple(sorted(s.suspects)), members=len(s.members), share=share
    )


def engage_holds(e: GuardEvidence, timeout_s: float) -> bool:
    """Whether a recorded engagement follows from its evidence (`haplan audit verify`): each
    host suspected within T, distinct, and more than the share of the members."""
    hosts = [r.host for r in e.recent]
    return (
        len(set(hosts)) == len(hosts)
        and e.timeout_s <= timeout_s
        and all(r.suspected_for_s <= e.timeout_s for r in e.recent)
        and more_than_share(len(hosts), e.members, e.share)
    )


def release_holds(e: GuardReleaseEvidence) -> bool:
    return not more_than_share(len(set(e.suspects)), e.members, e.share)
