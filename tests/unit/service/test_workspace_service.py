"""The workspace service: access per case, recusal, the version check under a race."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from caseflow.domain import CommandKind, Status
from caseflow.domain.commands import DeclareConflict
from caseflow.service.cases import CaseService, Step
from caseflow.service.intake import Intake, Report
from caseflow.service.workspace import (
    COMMITTEE_KINDS,
    INBOX_PAGE_SIZE,
    AccessDenied,
    Action,
    ActionNotOffered,
    CaseChanged,
    InboxFilter,
    Workspace,
    allowed_kinds,
)
from caseflow.store.projections import case_index_table
from config.settings import load_settings
from crypto.signing import Signer
from identity.bootstrap import bootstrap


@dataclass(frozen=True)
class Staff:
    id: str
    role: str
    desks: tuple[str, ...]


@pytest.fixture
def world(engine, tmp_path):
    settings = load_settings(
        environ={},
        overrides={
            "secret_key": secrets.token_urlsafe(40),
            "tenant_salt": secrets.token_hex(16),
            "signing_seed": secrets.token_hex(32),
            "data_dir": str(tmp_path / "data"),
            "database_url": str(engine.url),
            "kdf_time_cost": 1,
            "kdf_memory_kib": 8,
            "kdf_parallelism": 1,
            "insecure_test_kdf": True,
        },
    )
    desks = bootstrap(engine, settings).created_desks
    cases = CaseService(engine, settings.rules)
    intake = Intake(engine, settings, cases)
    workspace = Workspace(cases, Signer(settings.signing_seed).public_key)
    return settings, desks, cases, intake, workspace


def _keys(desks, staff):
    return lambda desk: desks[desk] if desk in staff.desks else None


def _submit(intake, category="procurement", what="Avtalet gick till chefens kusin utan annons."):
    submission = intake.begin()
    receipt = intake.submit(submission, Report(category, "trafikverket", what))
    return submission.case_id, receipt


def test_a_member_of_the_desk_reads_the_report_others_do_not(world):
    _settings, desks, cases, intake, workspace = world
    case_id, _ = _submit(intake)
    anna = Staff("s-anna", "investigator", ("anticorruption",))
    view = workspace.open_case_for(anna, _keys(desks, anna), case_id)
    assert view.readable
    assert view.report["what"] == "Avtalet gick till chefens kusin utan annons."
    assert view.state.status is Status.RECEIVED
    assert CommandKind.ACKNOWLEDGE in view.allowed
    assert [d.days_left for d in view.deadlines][0] == 7

    for outsider in (
        Staff("s-eva", "committee_member", ("ethics",)),  # not consulted on procurement
        Staff("s-olle", "oversight", ("oversight",)),
        Staff("s-adm", "administrator", ("anticorruption",)),  # a role that sees no content
        Staff("s-aud", "auditor", ("anticorruption",)),
    ):
        with pytest.raises(AccessDenied):
            workspace.open_case_for(outsider, _keys(desks, outsider), case_id)
    with pytest.raises(AccessDenied):
        workspace.open_case_for(anna, _keys(desks, anna), "0" * 32)
    with pytest.raises(AccessDenied):
        workspace.open_case_for(anna, _keys(desks, anna), "../../etc/passwd")


def test_a_recused_member_is_refused_although_the_desk_key_would_open_it(world):
    _settings, desks, cases, intake, workspace = world
    case_id, _ = _submit(intake)
    bo = Staff("s-bo", "investigator", ("anticorruption",))
    cases.execute(case_id, [Step(DeclareConflict(case_id, bo.id, bo.id, "min svåger"))])
    with pytest.raises(AccessDenied):
        workspace.open_case_for(bo, _keys(desks, bo), case_id)
    with pytest.raises(AccessDenied):
        workspace.act(bo, _keys(desks, bo), case_id, 2, Action(CommandKind.ADD_INTERNAL_NOTE, "x"))


def test_a_consulted_desk_reads_the_case_too(world):
    _settings, desks, _cases, intake, workspace = world
    case_id, _ = _submit(intake, category="conflict_of_interest")
    eva = Staff("s-eva", "committee_member", ("ethics",))
    view = workspace.open_case_for(eva, _keys(desks, eva), case_id)
    assert view.readable and "kusin" in view.report["what"]


def test_racing_actions_on_one_version_store_exactly_one(world):
    _settings, desks, cases, intake, workspace = world
    case_id, _ = _submit(intake)
    members = [Staff(f"s-{i}", "investigator", ("anticorruption",)) for i in range(6)]
    seen = cases.load(case_id).version
    outcomes: list[str] = []
    start = threading.Barrier(len(members))

    def note(staff: Staff) -> None:
        start.wait()
        try:
            workspace.act(
                staff,
                _keys(desks, staff),
                case_id,
                seen,
                Action(CommandKind.ADD_INTERNAL_NOTE, staff.id),
            )
            outcomes.append("stored")
        except CaseChanged:
            outcomes.append("changed")

    threads = [threading.Thread(target=note, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["changed"] * 5 + ["stored"]
    stored = cases.store.read_stream(case_id)
    assert [e.type for e in stored].count("InternalNoteAdded") == 1
    assert cases.load(case_id).version == seen + 1


def test_notes_are_sealed_and_skipped_by_the_reporters_view(world):
    _settings, desks, cases, intake, workspace = world
    case_id, receipt = _submit(intake)
    anna = Staff("s-anna", "investigator", ("anticorruption",))
    workspace.act(
        anna, _keys(desks, anna), case_id, 1, Action(CommandKind.ADD_INTERNAL_NOTE, "NOTE-5521")
    )
    view = workspace.open_case_for(anna, _keys(desks, anna), case_id)
    assert [n.text for n in view.notes] == ["NOTE-5521"]
    assert all(b"NOTE-5521" not in (e.body or b"") for e in cases.store.read_stream(case_id))
    access = intake.open_case(str(receipt))
    reporter_view = intake.view(access)
    assert not any("NOTE-5521" in entry.text for entry in reporter_view.timeline)


def test_committee_actions_are_for_committee_members_on_the_ethics_desk(world):
    _settings, desks, cases, intake, workspace = world
    case_id, _ = _submit(
        intake, category="partisan_bias", what="Chefen gynnar partikamrater vid tillsättningar."
    )
    eva = Staff("s-eva", "committee_member", ("ethics",))
    ivar = Staff("s-ivar", "investigator", ("ethics",))
    steps = [
        Action(CommandKind.ACKNOWLEDGE, "Mottaget."),
        Action(
            CommandKind.ASSESS,
            values={
                "admissible": True,
                "severity": "medium",
                "retaliation_risk": "low",
                "reason": "ok",
            },
        ),
        Action(CommandKind.OPEN_INVESTIGATION),
        Action(
            CommandKind.RECORD_FINDING,
            values={"substantiated": True, "subject_id": "p-1", "severity": "medium"},
        ),
        Action(CommandKind.BEGIN_DELIBERATION),
    ]
    for action in steps:
        workspace.act(eva, _keys(desks, eva), case_id, cases.load(case_id).version, action)
    state = cases.load(case_id)
    assert state.status is Status.DELIBERATING
    assert allowed_kinds(eva, state) >= COMMITTEE_KINDS
    assert CommandKind.EXTEND_FEEDBACK_DEADLINE not in allowed_kinds(eva, state)  # internal
    assert not COMMITTEE_KINDS & allowed_kinds(ivar, state)
    with pytest.raises(ActionNotOffered):
        workspace.act(
            ivar,
            _keys(desks, ivar),
            case_id,
            state.version,
            Action(CommandKind.ISSUE_RECOMMENDATION, values={"agency": "trafikverket"}),
        )
    workspace.act(
        eva,
        _keys(desks, eva),
        case_id,
        state.version,
        Action(CommandKind.ISSUE_RECOMMENDATION, values={"agency": "trafikverket", "due_on": None}),
    )
    assert len(cases.load(case_id).recommendations) == 1


def _index_row(case_id, desk, status, due, consulted="", assignee=None, category="bribery"):
    return {
        "case_id": case_id,
        "desk": desk,
        "consulted_desks": consulted,
        "category": category,
        "agency": "trafikverket",
        "status": status,
        "assignee": assignee,
        "severity": None,
        "retaliation_risk": None,
        "outcome": None,
        "received_on": None,
        "closed_on": None,
        "next_deadline_on": due,
        "next_deadline_kind": None if due is None else "feedback",
        "escalation_level": None,
        "senior_officials": False,
        "oversight_informed": False,
        "wake_on": due,
        "version": 1,
    }


def test_the_inbox_merges_own_and_consulted_desks_by_deadline(world, engine):
    _settings, _desks, _cases, _intake, workspace = world
    today = workspace.today()
    rows = [
        # 120 open anti-corruption cases, due from 30 days ago to 89 days ahead
        *(
            _index_row(
                f"a{i:03}",
                "anticorruption",
                "investigating",
                today + timedelta(days=i - 30),
                assignee="s-eva" if i % 10 == 0 else None,
            )
            for i in range(120)
        ),
        # consulted: two ethics cases that consult anti-corruption (one in a pair of desks)
        _index_row("c001", "ethics", "received", today - timedelta(days=100), "anticorruption"),
        _index_row(
            "c002", "ethics", "received", today + timedelta(days=3), "anticorruption oversight"
        ),
        # closed, shredded, and another desk's cases
        _index_row("z001", "anticorruption", "concluded", today + timedelta(days=700)),
        _index_row("z002", "anticorruption", "shredded", None),
        *(
            _index_row(f"o{i:03}", "oversight", "received", today - timedelta(days=200))
            for i in range(5)
        ),
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(case_index_table), rows)
    eva = Staff("s-eva", "investigator", ("anticorruption",))

    box = workspace.inbox(eva, InboxFilter())
    assert box.total == 122 and box.pages == 3
    ids = [r.case_id for r in box.rows]
    assert len(ids) == INBOX_PAGE_SIZE
    assert ids[:3] == ["c001", "a000", "a001"]  # the most overdue first, consulted included
    assert box.rows[0].consulted and box.rows[0].days_left == -100
    assert not any(i.startswith("o") for i in ids)
    assert box.counts == {"investigating": 120, "received": 2, "concluded": 1, "shredded": 1}
    assert box.overdue == 31  # a000..a029 and c001

    last = workspace.inbox(eva, InboxFilter(page=3))
    assert [r.case_id for r in last.rows][-1] == "a119" and len(last.rows) == 22
    everything = workspace.inbox(eva, InboxFilter(status="all", page=3))
    assert [r.case_id for r in everything.rows][-2:] == ["z001", "z002"]  # no deadline last
    overdue = workspace.inbox(eva, InboxFilter(overdue=True))
    assert overdue.total == 31 and all(r.days_left < 0 for r in overdue.rows)
    mine = workspace.inbox(eva, InboxFilter(mine=True))
    assert mine.total == 12 and {r.assignee for r in mine.rows} == {"s-eva"}
    admin = Staff("s-adm", "administrator", ("anticorruption",))
    assert workspace.inbox(admin, InboxFilter()).total == 0
