"""Summaries one case offers to policies that look across cases.

Cross-case policies (agency patterns, the subject's sanction ladder) are pure
functions over lists of these, built by projections; they never see a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from caseflow.domain.vocabulary import Severity


@dataclass(frozen=True)
class FindingSummary:
    """One recorded finding, with what the cross-case policies need to know of its case."""

    case_id: str
    finding_id: str
    agency: str
    subject_id: str
    substantiated: bool
    severity: Severity
    found_on: date
    recorded_by: str
