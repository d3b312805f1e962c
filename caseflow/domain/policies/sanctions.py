"""The sanction ladder and the committee's quorum.

The ladder only proposes: the n-th substantiated case against the same
pseudonymous subject within the window proposes the n-th level, and a severe
finding may skip steps. Several findings in one case count once (the ladder
answers repetition; severity answers gravity). The committee decides by
quorum among its eligible members.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from caseflow.domain.rules import SanctionRules
from caseflow.domain.state import SanctionProposal
from caseflow.domain.summaries import FindingSummary
from caseflow.domain.vocabulary import SanctionLevel

_ORDER = list(SanctionLevel)


@dataclass(frozen=True)
class LadderStep:
    """What the ladder proposes, and on which findings it rests."""

    level: SanctionLevel
    finding_ids: tuple[str, ...]
    cases: int


def ladder_step(
    subject_id: str, findings: Iterable[FindingSummary], today: date, rules: SanctionRules
) -> LadderStep | None:
    """The level to propose for ``subject_id`` on ``today``; None when nothing is substantiated."""
    window_from = today - timedelta(days=rules.window_days - 1)
    relevant = {
        f.finding_id: f
        for f in findings
        if f.subject_id == subject_id and f.substantiated and window_from <= f.found_on <= today
    }
    if not relevant:
        return None
    cases = len({f.case_id for f in relevant.values()})
    level = rules.ladder[min(cases, len(rules.ladder)) - 1]
    for finding in relevant.values():
        floor = rules.severity_floor.get(finding.severity)
        if floor is not None and _ORDER.index(floor) > _ORDER.index(level):
            level = floor
    return LadderStep(level=level, finding_ids=tuple(sorted(relevant)), cases=cases)


def eligible_voters(
    committee: Iterable[str], recused: Iterable[str], finding_recorders: Iterable[str]
) -> tuple[str, ...]:
    """Committee members who may vote: neither recused nor recorders of a finding it rests on."""
    excluded = set(recused) | set(finding_recorders)
    return tuple(sorted(set(committee) - excluded))


def vote_refusal(proposal: SanctionProposal, voter: str) -> str | None:
    """Why ``voter`` may not vote on ``proposal``, or None when they may."""
    if proposal.decided:
        return f"proposal {proposal.proposal_id} is already decided"
    if voter not in proposal.eligible_voters:
        return (
            f"{voter} is not an eligible voter on proposal {proposal.proposal_id} "
            "(not on the committee, recused, or recorded a finding it rests on)"
        )
    if any(cast == voter for cast, _approve in proposal.votes):
        return f"{voter} has already voted on proposal {proposal.proposal_id}"
    return None


def counted_votes(
    proposal: SanctionProposal, recused: frozenset[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The votes that count (for, against): cast by eligible members not recused since."""
    eligible = set(proposal.eligible_voters) - recused
    return (
        tuple(v for v in proposal.voters(True) if v in eligible),
        tuple(v for v in proposal.voters(False) if v in eligible),
    )


def quorum_decision(
    proposal: SanctionProposal, quorum: int, recused: frozenset[str] = frozenset()
) -> bool | None:
    """True (approved) or False (rejected) once one side has ``quorum`` counted votes.

    A member recused after voting no longer counts. The side must also
    outnumber the other: on a large committee both sides may reach the
    quorum, and a tie decides nothing.
    """
    votes_for, votes_against = counted_votes(proposal, recused)
    approve, reject = len(votes_for), len(votes_against)
    if approve >= quorum and approve > reject:
        return True
    if reject >= quorum and reject > approve:
        return False
    return None
