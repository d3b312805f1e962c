"""The staff side of a case: the inbox, the decrypted case, and the desk's actions.

The counterpart of :meth:`caseflow.service.intake.Intake.view` with a desk key
instead of the reporter's: a member of the case's desk (or of a consulted
desk) opens the desk's grant, and with the case key reads the report, the
contact details, the messages, the internal notes and the file descriptions.

Keys are sealed per desk, so anyone of the desk *could* decrypt; the access
check here adds what the cryptography cannot express: a recused member (named
in the report, or who declared a conflict) is refused the case, and roles that
must see no content (administrators, auditors) are refused whatever desk they
belong to. The same :class:`AccessDenied` answers "no such case" and "not
yours", so case ids cannot be probed.

Every action runs as a command through :class:`~caseflow.service.cases.CaseService`
with ``actor = <staff id>``. Text for the reporter (acknowledgement,
questions, feedback) and internal notes are sealed under the case key before
they are handed on. An action names the case version the member saw: when
the case changed in between, :class:`CaseChanged` is raised *inside* the
append's transaction, so an action is never applied to a state its author did
not see, never lost and never doubled.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from nacl.public import PrivateKey

from caseflow.clock import STOCKHOLM, Clock, system_clock
from caseflow.domain import TABLE, CaseState, CommandKind, Status
from caseflow.domain.commands import (
    Acknowledge,
    AddInternalNote,
    Assess,
    Assign,
    BeginDeliberation,
    Command,
    Conclude,
    DecideSanction,
    DeclareConflict,
    ExtendFeedbackDeadline,
    GiveFeedback,
    IssueRecommendation,
    OpenInvestigation,
    PlaceHold,
    ProposeSanction,
    RecordFinding,
    RecordImplementation,
    Refer,
    ReleaseHold,
    Reopen,
    RequestInformation,
    Vote,
)
from caseflow.domain.errors import CaseflowError, CommandRefused
from caseflow.domain.policies.deadlines import Deadline, open_deadlines
from caseflow.domain.rules import DeadlineRules
from caseflow.domain.vocabulary import ChannelType, Outcome, RetaliationRisk, Severity
from caseflow.service.cases import REPORTER, CaseService, KeyEpochChanged, Step, state_of
from caseflow.service.inbox import (
    INBOX_PAGE_SIZE as INBOX_PAGE_SIZE,  # re-exported: the inbox lived here
)
from caseflow.service.inbox import (
    Inbox,
    InboxFilter,
    StaffLike,
    Workload,
    read_inbox,
    read_workload,
)
from caseflow.service.inbox import (
    InboxRow as InboxRow,  # re-exported
)
from caseflow.service.intake import CONTACT_ITEM, REPORT_ITEM, message_item, note_item
from caseflow.service.projections import earlier_findings
from caseflow.service.uploads import file_item_id, file_meta_item_id
from caseflow.store import RecordedEvent
from caseflow.store.blobs import blob_exists, open_blob
from caseflow.store.records import (
    desk_members_table,
    files_table,
    grants_table,
    staff_table,
)
from crypto import CryptoError
from crypto.files import decrypt_stream
from crypto.sealing import CaseKey, CaseKeys, open_item, seal_item
from identity import key_log
from identity.case_epochs import item_epoch, open_case_keys, seal_all_epochs
from identity.roles import CASE_ROLES, COMMITTEE_ROLE

#: The desk whose committee members deliberate: recommendations and sanctions
#: (the id of the ethics committee in config/desks.toml).
COMMITTEE_DESK = "ethics"

#: Commands that are the committee's alone.
COMMITTEE_KINDS = frozenset(
    {
        CommandKind.ISSUE_RECOMMENDATION,
        CommandKind.RECORD_IMPLEMENTATION,
        CommandKind.PROPOSE_SANCTION,
        CommandKind.VOTE,
        CommandKind.DECIDE_SANCTION,
    }
)

#: What the workspace offers as forms (the reporter's, the intake's and the
#: clock's commands are not staff actions; referral is not offered yet).
STAFF_KINDS = frozenset(
    {
        CommandKind.ACKNOWLEDGE,
        CommandKind.ASSIGN,
        CommandKind.DECLARE_CONFLICT,
        CommandKind.ASSESS,
        CommandKind.REQUEST_INFORMATION,
        CommandKind.OPEN_INVESTIGATION,
        CommandKind.RECORD_FINDING,
        CommandKind.GIVE_FEEDBACK,
        CommandKind.EXTEND_FEEDBACK_DEADLINE,
        CommandKind.BEGIN_DELIBERATION,
        CommandKind.CONCLUDE,
        CommandKind.REOPEN,
        CommandKind.ADD_INTERNAL_NOTE,
        CommandKind.REFER,
        CommandKind.PLACE_HOLD,
        CommandKind.RELEASE_HOLD,
        *COMMITTEE_KINDS,
    }
)

#: A desk id to the member's private key of that desk (None: not a member).
DeskKeys = Callable[[str], PrivateKey | None]


class AccessDenied(CaseflowError):
    """The case does not exist, or this member may not open it: the same answer."""

    def __init__(self) -> None:
        super().__init__("this case cannot be opened with your account")


class ActionNotOffered(CommandRefused):
    """The action is not one this member may take on the case in its state."""


class CaseChanged(CaseflowError):
    """The case moved on since the member loaded it; nothing was stored."""

    def __init__(self, seen: int, current: int) -> None:
        super().__init__(f"the case changed (version {seen} seen, {current} now)")
        self.seen = seen
        self.current = current


# -- what the case page shows ------------------------------------------------------


@dataclass(frozen=True)
class TimelineItem:
    """One event of the case as staff see it."""

    version: int
    type: str
    actor: str  # "reporter", "system", or a staff member's username (or id)
    when: str  # a day (reporter events) or a time to the second (staff, clock)
    meta: Mapping[str, Any]
    text: str | None = None  # a message or a note, decrypted
    file_id: str | None = None
    unreadable: bool = False  # a sealed body that did not open

    @property
    def is_message(self) -> bool:
        return "message_id" in self.meta and self.text is not None

    @property
    def from_reporter(self) -> bool:
        return self.actor == REPORTER


@dataclass(frozen=True)
class CaseFile:
    file_id: str
    name: str
    size: int
    content_type: str
    added_on: str
    notes: tuple[dict[str, Any], ...] = ()
    checked: bool = True


@dataclass(frozen=True)
class DeadlineView:
    deadline: Deadline
    days_left: int  # negative: overdue by that many days


@dataclass(frozen=True)
class Member:
    id: str
    username: str
    role: str


@dataclass(frozen=True)
class StaffCaseView:
    """The decrypted case, for one authorised member, at one version."""

    case_id: str
    state: CaseState
    readable: bool  # False when no grant of the member's desks opens (shredded, moved)
    report: Mapping[str, str] | None
    contact: str | None
    timeline: tuple[TimelineItem, ...]
    files: tuple[CaseFile, ...]
    deadlines: tuple[DeadlineView, ...]
    allowed: frozenset[CommandKind]
    desk_members: tuple[Member, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return self.state.version

    @property
    def messages(self) -> tuple[TimelineItem, ...]:
        return tuple(item for item in self.timeline if item.is_message)

    @property
    def notes(self) -> tuple[TimelineItem, ...]:
        return tuple(item for item in self.timeline if item.type == "InternalNoteAdded")


def allowed_kinds(
    staff: StaffLike, state: CaseState, deadlines: DeadlineRules | None = None
) -> frozenset[CommandKind]:
    """The actions offered to ``staff`` on the case now: what the transition table
    allows in its state, among the staff actions, the committee's only to them.

    ``deadlines`` (the deployment's, default: an internal channel) decide whether
    the feedback deadline can be extended at all.
    """
    kinds = TABLE.commands_in(state.status) & STAFF_KINDS
    if (deadlines or DeadlineRules()).channel is not ChannelType.EXTERNAL:
        # An internal channel never extends the feedback deadline (Act 2021:890).
        kinds -= {CommandKind.EXTEND_FEEDBACK_DEADLINE}
    committee = staff.role == COMMITTEE_ROLE and COMMITTEE_DESK in _case_desks_of(staff, state)
    if not committee:
        kinds -= COMMITTEE_KINDS
    # A hold is placed when there is none and released when there is one
    # (an archive decision is never released).
    if state.hold is not None:
        kinds -= {CommandKind.PLACE_HOLD}
    if state.hold is None or state.archived:
        kinds -= {CommandKind.RELEASE_HOLD}
    return frozenset(kinds)


def _case_desks_of(staff: StaffLike, state: CaseState) -> list[str]:
    """The member's desks that hold the case, the primary desk first."""
    case_desks = [state.desk, *state.consulted_desks]
    return [d for d in case_desks if d and d in staff.desks]


def check_access(staff: StaffLike, state: CaseState) -> list[str]:
    """The desks through which ``staff`` may open the case; raise :class:`AccessDenied`."""
    if state.status is Status.NEW or staff.role not in CASE_ROLES:
        raise AccessDenied()
    desks = _case_desks_of(staff, state)
    if not desks or staff.id in state.recused:
        raise AccessDenied()
    return desks


def _hand_key_to_desk(
    conn: sa.Connection,
    case_id: str,
    keys: CaseKeys,
    from_desk: str | None,
    to_desk: str,
    log_key: bytes,
) -> None:
    """A referral to another desk: seal every epoch's key to it; take the old desk's grants away.

    Sealed only to the desk key the signed log names (identity.key_log):
    :class:`key_log.DeskKeyMismatch` when the desks table says otherwise.
    """
    try:
        public = key_log.current_desk_keys(conn, [to_desk], log_key)[to_desk]
    except LookupError:
        raise CommandRefused(
            CommandKind.REFER, case_id, f"the desk {to_desk} has no key yet"
        ) from None
    if from_desk:
        conn.execute(
            sa.delete(grants_table).where(
                grants_table.c.case_id == case_id, grants_table.c.recipient == f"desk:{from_desk}"
            )
        )
    seal_all_epochs(conn, case_id, keys, f"desk:{to_desk}", public)


def days_between(day: date, today: date) -> int:
    return (day - today).days


# -- the action a member submits ------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A staff action as typed: its kind and its checked values.

    ``text`` is the message to the reporter or the note (sealed before it is
    stored); the rest are command fields.
    """

    kind: CommandKind
    text: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)


_BODY_EVENT = {
    CommandKind.ACKNOWLEDGE: "CaseAcknowledged",
    CommandKind.REQUEST_INFORMATION: "MessageToReporterSent",
    CommandKind.GIVE_FEEDBACK: "FeedbackGiven",
}


class Workspace:
    """The staff workspace's service. Views ask for this; it asks the case service."""

    def __init__(self, cases: CaseService, log_key: bytes, clock: Clock = system_clock) -> None:
        """``log_key``: the deployment's public signing key, which checks the
        desk key a referral seals to."""
        self.cases = cases
        self.engine = cases.engine
        self.log_key = log_key
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(STOCKHOLM).date()

    # -- the inbox ---------------------------------------------------------------

    def inbox(self, staff: StaffLike, wanted: InboxFilter) -> Inbox:
        """The member's page of the inbox (:mod:`caseflow.service.inbox`). Nothing is decrypted."""
        with self.engine.connect() as conn:
            return read_inbox(conn, staff, wanted, self.today())

    def workload(self, staff: StaffLike) -> tuple[Workload, ...]:
        """The open cases per member of each desk of ``staff`` (for desk leads)."""
        with self.engine.connect() as conn:
            return read_workload(conn, staff, self.today())

    # -- the case ----------------------------------------------------------------

    def open_case_for(self, staff: StaffLike, desk_keys: DeskKeys, case_id: str) -> StaffCaseView:
        """The decrypted case for ``staff``; :class:`AccessDenied` when it is not theirs.

        .. warning::
           The view holds plaintext: render it and drop it; never cache,
           log or store it.
        """
        if not _plausible_id(case_id):
            raise AccessDenied()
        stored = self.cases.store.read_stream(case_id)
        state = state_of(stored)
        desks = check_access(staff, state)
        keys = self._case_keys(case_id, desks, desk_keys)
        return self._view(staff, state, stored, keys)

    def _case_keys(
        self, case_id: str, desks: Sequence[str], desk_keys: DeskKeys
    ) -> CaseKeys | None:
        """Every epoch key of the case the member's ``desks`` open; None if none opens."""
        # The desk keys first: opening one may clean up after a rotation
        # (older grants sealed again to the newest key); grants are read after.
        holders = {f"desk:{d}": [k] for d in desks if (k := desk_keys(d)) is not None}
        if not holders:
            return None
        with self.engine.connect() as conn:
            return open_case_keys(conn, case_id, holders)

    def _view(
        self,
        staff: StaffLike,
        state: CaseState,
        stored: Sequence[RecordedEvent],
        keys: CaseKeys | None,
    ) -> StaffCaseView:
        case_id = state.case_id
        names = self._usernames()
        report: dict[str, str] | None = None
        contact: str | None = None
        timeline: list[TimelineItem] = []
        files: list[CaseFile] = []
        for event in stored:
            text: str | None = None
            unreadable = False
            item = _item_of(event)
            if keys is not None and event.body is not None and item is not None:
                try:
                    key = keys.for_epoch(item_epoch(event.meta))
                    plain = open_item(key, case_id, item, event.body)
                except CryptoError:
                    unreadable = True
                else:
                    if event.type == "ReportReceived":
                        report = json.loads(plain)
                    elif event.type == "ReporterContactProvided":
                        contact = plain.decode()
                    elif event.type == "ReporterFileAdded":
                        files.append(_case_file(event, plain))
                    else:
                        text = plain.decode()
            timeline.append(
                TimelineItem(
                    version=event.version,
                    type=event.type,
                    actor=names.get(event.actor, event.actor),
                    when=event.recorded_at,
                    meta=event.meta,
                    text=text,
                    file_id=event.meta.get("file_id"),
                    unreadable=unreadable,
                )
            )
        today = self.today()
        deadlines = tuple(
            DeadlineView(d, days_between(d.due_on, today))
            for d in open_deadlines(state, self.cases.rules.deadlines)
        )
        return StaffCaseView(
            case_id=case_id,
            state=state,
            readable=keys is not None,
            report=report,
            contact=contact,
            timeline=tuple(timeline),
            files=tuple(files),
            deadlines=deadlines,
            allowed=allowed_kinds(staff, state, self.cases.rules.deadlines)
            if keys is not None
            else frozenset(),
            desk_members=self.members_of(state.desk, exclude=state.recused),
            names=names,
        )

    def _usernames(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {
                row.id: row.username
                for row in conn.execute(sa.select(staff_table.c.id, staff_table.c.username))
            }

    def members_of(self, desk: str, exclude: frozenset[str] = frozenset()) -> tuple[Member, ...]:
        """The members of ``desk`` (minus ``exclude``), by username."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(staff_table.c.id, staff_table.c.username, staff_table.c.role)
                .join(desk_members_table, desk_members_table.c.staff_id == staff_table.c.id)
                .where(desk_members_table.c.desk_id == desk)
                .order_by(staff_table.c.username)
            ).all()
        return tuple(Member(r.id, r.username, r.role) for r in rows if r.id not in exclude)

    # -- acting ------------------------------------------------------------------

    def act(
        self,
        staff: StaffLike,
        desk_keys: DeskKeys,
        case_id: str,
        seen_version: int,
        action: Action,
        now: datetime | None = None,
    ) -> list[RecordedEvent]:
        """Run ``action`` as ``staff`` on the case as they saw it at ``seen_version``.

        :raises AccessDenied: the case is not theirs (or does not exist).
        :raises CaseChanged: the case is no longer at ``seen_version``; nothing stored.
        :raises CommandRefused: the workflow refuses (the message says why).
        """
        if not _plausible_id(case_id):
            raise AccessDenied()
        state = self.cases.load(case_id)
        desks = check_access(staff, state)
        if state.version != seen_version:
            raise CaseChanged(seen_version, state.version)
        if action.kind not in STAFF_KINDS or action.kind not in allowed_kinds(
            staff, state, self.cases.rules.deadlines
        ):
            raise ActionNotOffered(
                action.kind, case_id, f"not offered while the case is {state.status}"
            )
        keys = self._case_keys(case_id, desks, desk_keys)
        if keys is None:
            raise AccessDenied()
        command, bodies = self._command(staff, state, keys.current, action)

        def unchanged(conn: sa.Connection, after: CaseState, recorded: list[RecordedEvent]) -> None:
            # Inside the append's transaction: if a concurrent writer got in
            # first, the case service decided again on the newer state; that
            # is not the state the member saw, so undo rather than guess.
            first = recorded[0].version if recorded else after.version + 1
            if first != seen_version + 1:
                raise CaseChanged(seen_version, first - 1)
            # A referral to another desk, or a substitute desk taking a case
            # whose whole desk is recused: the case key goes with the case,
            # in this transaction, so the new desk can open it at once.
            for event in recorded:
                if event.type == "DeskChanged" and event.meta.get("to_desk"):
                    to_desk = str(event.meta["to_desk"])
                    _hand_key_to_desk(conn, case_id, keys, state.desk, to_desk, self.log_key)

        # The epoch is checked in the append's transaction for the bodies,
        # and for a referral too: it hands over every epoch's key it opened.
        step = Step(command, bodies, epoch=keys.current_epoch)
        try:
            return self.cases.execute(case_id, [step], now=now, after_append=unchanged)
        except KeyEpochChanged:
            # A member left a desk of the case meanwhile: nothing was stored,
            # and the member submits again (with the new epoch's key).
            raise CaseChanged(seen_version, state.version) from None

    def _command(
        self, staff: StaffLike, state: CaseState, key: CaseKey, action: Action
    ) -> tuple[Command, dict[str, bytes]]:
        """The command for ``action``, its bodies sealed under ``key`` (the newest epoch's)."""
        case_id, actor, v = state.case_id, staff.id, action.values
        kind = action.kind
        if kind in _BODY_EVENT:
            message_id = secrets.token_hex(12)
            sealed = seal_item(key, case_id, message_item(message_id), action.text.encode())
            maker = {
                CommandKind.ACKNOWLEDGE: Acknowledge,
                CommandKind.REQUEST_INFORMATION: RequestInformation,
                CommandKind.GIVE_FEEDBACK: GiveFeedback,
            }[kind]
            return maker(case_id, actor, message_id), {_BODY_EVENT[kind]: sealed}
        if kind is CommandKind.ADD_INTERNAL_NOTE:
            note_id = secrets.token_hex(12)
            sealed = seal_item(key, case_id, note_item(note_id), action.text.encode())
            return AddInternalNote(case_id, actor, note_id), {"InternalNoteAdded": sealed}
        command: Command
        match kind:
            case CommandKind.ASSIGN:
                command = Assign(case_id, actor, str(v["assignee"]))
            case CommandKind.DECLARE_CONFLICT:
                members = frozenset(m.id for m in self.members_of(state.desk))
                others = {
                    desk: frozenset(m.id for m in self.members_of(desk))
                    for desk in self.cases.rules.routing.desks
                    if desk != state.desk
                }
                command = DeclareConflict(
                    case_id, actor, actor, str(v["reason"]), members, other_desks=others
                )
            case CommandKind.ASSESS:
                admissible = bool(v["admissible"])
                bodies: dict[str, bytes] = {}
                message_id = ""
                if not admissible and action.text.strip():
                    # The reason owed to the reporter: sealed under the case
                    # key like every other message to them.
                    message_id = secrets.token_hex(12)
                    bodies["CaseAssessed"] = seal_item(
                        key, case_id, message_item(message_id), action.text.encode()
                    )
                command = Assess(
                    case_id,
                    actor,
                    admissible,
                    Severity(v["severity"]),
                    RetaliationRisk(v["retaliation_risk"]),
                    str(v["reason"]),
                    message_id,
                )
                return command, bodies
            case CommandKind.OPEN_INVESTIGATION:
                command = OpenInvestigation(case_id, actor)
            case CommandKind.RECORD_FINDING:
                command = RecordFinding(
                    case_id,
                    actor,
                    secrets.token_hex(8),
                    bool(v["substantiated"]),
                    str(v["subject_id"]),
                    Severity(v["severity"]),
                )
            case CommandKind.EXTEND_FEEDBACK_DEADLINE:
                command = ExtendFeedbackDeadline(case_id, actor, str(v["reason"]), int(v["months"]))
            case CommandKind.BEGIN_DELIBERATION:
                command = BeginDeliberation(case_id, actor)
            case CommandKind.CONCLUDE:
                command = Conclude(case_id, actor, Outcome(v["outcome"]), str(v["reason"]))
            case CommandKind.REOPEN:
                command = Reopen(case_id, actor, str(v["reason"]))
            case CommandKind.ISSUE_RECOMMENDATION:
                command = IssueRecommendation(
                    case_id, actor, secrets.token_hex(8), str(v["agency"]), v.get("due_on")
                )
            case CommandKind.RECORD_IMPLEMENTATION:
                command = RecordImplementation(
                    case_id, actor, str(v["recommendation_id"]), v["implemented_on"]
                )
            case CommandKind.PROPOSE_SANCTION:
                subject = str(v["subject_id"])
                committee = frozenset(
                    m.id for m in self.members_of(COMMITTEE_DESK) if m.role == COMMITTEE_ROLE
                )
                with self.engine.connect() as conn:
                    earlier = earlier_findings(conn, subject, case_id)
                command = ProposeSanction(
                    case_id, actor, secrets.token_hex(8), subject, committee, earlier
                )
            case CommandKind.VOTE:
                command = Vote(case_id, actor, str(v["proposal_id"]), bool(v["approve"]))
            case CommandKind.REFER:
                target = str(v["to"])
                kind_of, _, name = target.partition(":")
                command = Refer(
                    case_id,
                    actor,
                    str(v["reason"]),
                    to_desk=name if kind_of == "desk" else None,
                    to_authority=name if kind_of == "authority" else None,
                )
            case CommandKind.PLACE_HOLD:
                command = PlaceHold(case_id, actor, bool(v["archive"]), str(v["reason"]))
            case CommandKind.RELEASE_HOLD:
                command = ReleaseHold(case_id, actor, str(v["reason"]))
            case CommandKind.DECIDE_SANCTION:
                command = DecideSanction(
                    case_id, actor, str(v["proposal_id"]), secrets.token_hex(8)
                )
            case _:
                raise ActionNotOffered(kind, case_id, "not a staff action")
        return command, {}

    # -- files -------------------------------------------------------------------

    def open_file(
        self, staff: StaffLike, desk_keys: DeskKeys, case_id: str, file_id: str
    ) -> tuple[CaseFile, Iterator[bytes]]:
        """A file of the case and its plaintext as a stream of pieces.

        .. warning::
           Each piece is authenticated before it is yielded, but a truncated
           blob is only detected at its end: the stream then raises and the
           download breaks off, so the browser reports a failed download
           rather than a silently shortened file.
        """
        if not _plausible_id(case_id) or not _plausible_id(file_id):
            raise AccessDenied()
        stored = self.cases.store.read_stream(case_id)
        desks = check_access(staff, state_of(stored))
        keys = self._case_keys(case_id, desks, desk_keys)
        added = next(
            (
                e
                for e in stored
                if e.type == "ReporterFileAdded" and e.meta.get("file_id") == file_id and e.body
            ),
            None,
        )
        if keys is None or added is None or added.body is None:
            raise AccessDenied()
        try:
            key = keys.for_epoch(item_epoch(added.meta))
            plain = open_item(key, case_id, file_meta_item_id(file_id), added.body)
        except CryptoError:
            raise AccessDenied() from None
        described = _case_file(added, plain)
        with self.engine.connect() as conn:
            known = conn.execute(
                sa.select(files_table.c.id).where(
                    files_table.c.id == file_id, files_table.c.case_id == case_id
                )
            ).first()
            stored_blob = known is not None and blob_exists(conn, file_id)
        if not stored_blob:
            raise AccessDenied()
        return described, _stream(self.engine, key, case_id, file_id)


def _case_file(event: RecordedEvent, plain: bytes) -> CaseFile:
    """A file's description as the reporter's upload sealed it."""
    described = json.loads(plain)
    return CaseFile(
        file_id=event.meta["file_id"],
        name=str(described.get("name", "")),
        size=int(described.get("size", 0)),
        content_type=str(described.get("content_type", "")),
        added_on=event.recorded_at[:10],
        notes=tuple(described.get("notes", ())),
        checked=bool(described.get("checked", True)),
    )


def _stream(engine: sa.Engine, key: CaseKey, case_id: str, file_id: str) -> Iterator[bytes]:
    with open_blob(engine, file_id) as source:
        yield from decrypt_stream(key, case_id, file_item_id(file_id), source)


def _plausible_id(value: str) -> bool:
    # Case and file ids are random hex; anything else cannot exist, and is
    # refused before it reaches a query or a path.
    return 0 < len(value) <= 64 and all(c in "0123456789abcdef" for c in value)


def _item_of(event: RecordedEvent) -> str | None:
    """The item id a stored event's sealed body was sealed under (SECURITY.md)."""
    if event.type == "ReportReceived":
        return REPORT_ITEM
    if event.type == "ReporterContactProvided":
        return CONTACT_ITEM
    if event.type == "ReporterFileAdded":
        return file_meta_item_id(str(event.meta["file_id"]))
    if event.type == "InternalNoteAdded":
        return note_item(str(event.meta["note_id"]))
    if "message_id" in event.meta:
        return message_item(str(event.meta["message_id"]))
    return None
