"""The reporter's side of a case: submit, follow up with the receipt, converse.

Everything a reporter writes is sealed under the case key here, before it is
handed to the case service and the store. The store only ever sees
ciphertext and the routing metadata listed in SECURITY.md (category, agency,
desk, day of receipt).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from nacl.public import PublicKey

from caseflow.clock import Clock, reporter_day, system_clock
from caseflow.domain import CaseState, Status
from caseflow.domain.commands import AddReporterFile, AddReporterMessage, Receive, Withdraw
from caseflow.domain.dates import add_days
from caseflow.domain.policies.deadlines import feedback_due
from caseflow.service.cases import REPORTER, CaseService, KeyEpochChanged, Step, state_of
from caseflow.service.uploads import DescribedFile, SealedUpload, file_meta_item_id
from caseflow.store import RecordedEvent
from caseflow.store.records import (
    desk_members_table,
    files_table,
    grants_table,
    reporter_index_table,
)
from config.settings import Settings
from crypto import InvalidReceipt
from crypto.kdf import KdfCost, ReporterKeys, derive_reporter_keys
from crypto.receipt import Receipt
from crypto.sealing import CaseKey, open_item, seal_grant, seal_item
from crypto.signing import Signer
from identity import key_log
from identity.accounts import staff_names
from identity.case_epochs import item_epoch
from identity.names import named_accounts
from identity.reporter_sessions import CaseAccess, open_access

REPORT_ITEM = "report"
CONTACT_ITEM = "contact"

#: A receipt that cannot be anybody's: derived when the typed one is malformed,
#: so a malformed code costs the same time as a wrong one (no timing oracle).
_DECOY_RECEIPT = Receipt.generate()


#: The salt role of a receipt's derivation (crypto.kdf.KdfCost.to_text).
RECEIPT_SALT = "tenant_salt"


def receipt_costs(conn: sa.Connection, configured: KdfCost) -> tuple[KdfCost, ...]:
    """Every Argon2id cost a receipt check must derive with, in a fixed order.

    The distinct costs stored in ``reporter_index`` (found by stepping
    through the index on ``kdf``: one indexed lookup per cost, not a scan)
    and the configured one, which new receipts use. A deployment has one
    or, after a change of cost, two.

    :raises ValueError: if a stored cost is not one this code can read
        (failing closed: guessing a cost would lock the reporter out silently).
    """
    column = reporter_index_table.c.kdf
    texts: list[str] = []
    while True:
        query = sa.select(sa.func.min(column))
        if texts:
            query = query.where(column > texts[-1])
        text = conn.execute(query).scalar()
        if text is None:
            break
        texts.append(text)
    costs = {KdfCost.from_text(text, RECEIPT_SALT) for text in texts} | {configured}
    return tuple(sorted(costs, key=lambda cost: cost.to_text(RECEIPT_SALT)))


#: Events whose sealed body the reporter never sees, even though their key opens it.
STAFF_ONLY_EVENTS = frozenset({"InternalNoteAdded"})


def note_item(note_id: str) -> str:
    return f"note:{note_id}"


def message_item(message_id: str) -> str:
    return f"message:{message_id}"


@dataclass(frozen=True)
class Report:
    """What the reporter wrote. Lives only in memory, and sealed."""

    category: str
    agency: str
    what: str
    when: str = ""
    where: str = ""
    persons: str = ""
    senior_officials: bool = False
    contact: str | None = None

    def to_sealable(self) -> bytes:
        body = {"what": self.what, "when": self.when, "where": self.where, "persons": self.persons}
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


@dataclass(frozen=True)
class Submission:
    """A case being submitted: its id and key exist before the form is parsed."""

    case_id: str
    key: CaseKey


class UploadTarget(Protocol):
    """Where an upload is sealed as it streams in: a case id and a key."""

    case_id: str
    key: CaseKey


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "reporter_message" | "desk_message" | "file" | "moved" | "referred"
    on: date
    text: str = ""
    file_name: str = ""
    file_size: int = 0
    #: For files: what the check found, as {"sv", "en", "removed"} (see app.file_review).
    file_notes: tuple[dict[str, Any], ...] = ()
    file_checked: bool = True


@dataclass(frozen=True)
class ReporterView:
    case_id: str
    status: str
    received_on: date
    acknowledged_on: date | None
    acknowledge_by: date
    feedback_by: date | None
    feedback_given_on: date | None
    category: str
    agency: str
    report: dict[str, str]
    contact: str | None
    timeline: tuple[TimelineEntry, ...]
    #: Why the desk rejected the report, as written to the reporter (None: not rejected).
    rejection_reason: str | None = None
    #: Whether the case is still being handled (it can be written to and withdrawn).
    is_open: bool = True


def reporter_status(state: CaseState) -> str:
    """The status a reporter is told, in the words of app.reporter.STATUS_TEXT."""
    if state.status is Status.SHREDDED:
        return "shredded"
    if state.feedback_given_on is not None and state.is_open:  # a closed case says how it ended
        return "feedback_given"
    return state.status.value


class Intake:
    """The reporter-facing service."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        cases: CaseService,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.cases = cases
        self.clock = clock
        #: Checks the desk keys the report is sealed to (identity.key_log).
        self.log_key = Signer(settings.signing_seed).public_key

    # -- submitting ---------------------------------------------------------

    def begin(self) -> Submission:
        return Submission(case_id=secrets.token_hex(16), key=CaseKey.generate())

    def new_upload(self, target: UploadTarget, name: str, content_type: str) -> SealedUpload:
        return SealedUpload(
            self.engine,
            target.case_id,
            target.key,
            max_bytes=self.settings.max_file_bytes,
            name=name,
            content_type=content_type,
        )

    def submit(
        self, submission: Submission, report: Report, files: Sequence[DescribedFile] = ()
    ) -> Receipt:
        """Seal and store a new case; return the receipt, which exists nowhere else."""
        receipt = Receipt.generate()
        reporter = derive_reporter_keys(receipt, self.settings.tenant_salt, self.settings.kdf)
        case_id, key = submission.case_id, submission.key
        bodies = {"ReportReceived": seal_item(key, case_id, REPORT_ITEM, report.to_sealable())}
        if report.contact:
            bodies["ReporterContactProvided"] = seal_item(
                key, case_id, CONTACT_ITEM, report.contact.encode()
            )
        receive = Receive(
            case_id=case_id,
            actor=REPORTER,
            category=report.category,
            agency=report.agency,
            received_on=reporter_day(self.clock()),
            senior_officials_involved=report.senior_officials,
            desk_members=self._desk_members(),
            # Matched here, while the text is in memory and before it is
            # sealed: the case records who is recused, never what matched.
            named_staff=self._named_staff(report.persons),
            contact_provided=bool(report.contact),
        )

        def grant_and_index(
            conn: sa.Connection, state: CaseState, recorded: list[RecordedEvent]
        ) -> None:
            desks = self._desk_public_keys(conn, [state.desk or "", *state.consulted_desks])
            rows = [
                {
                    "case_id": case_id,
                    "recipient": f"desk:{desk}",
                    "sealed_key": seal_grant(key, case_id, public),
                }
                for desk, public in desks.items()
            ]
            rows.append(
                {
                    "case_id": case_id,
                    "recipient": REPORTER,
                    "sealed_key": seal_grant(key, case_id, reporter.public_key),
                }
            )
            conn.execute(sa.insert(grants_table), rows)
            conn.execute(
                sa.insert(reporter_index_table).values(
                    lookup_tag=reporter.lookup_tag,
                    case_id=case_id,
                    public_key=bytes(reporter.public_key),
                    kdf=self.settings.kdf.to_text(RECEIPT_SALT),
                )
            )
            _record_files(conn, case_id, files)

        steps = [Step(receive, bodies), *self._file_steps(case_id, key, files)]
        self.cases.execute(case_id, steps, after_append=grant_and_index)
        return receipt

    def _named_staff(self, persons: str) -> tuple[str, ...]:
        """The accounts whose names appear in "who was involved" (identity/names.py)."""
        if not persons.strip():
            return ()
        with self.engine.connect() as conn:
            names = staff_names(conn)
        return named_accounts(persons, names)

    def _desk_members(self) -> dict[str, frozenset[str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(desk_members_table.c.desk_id, desk_members_table.c.staff_id)
            ).all()
        members: dict[str, set[str]] = {}
        for row in rows:
            members.setdefault(row.desk_id, set()).add(row.staff_id)
        return {desk: frozenset(staff) for desk, staff in members.items()}

    def _desk_public_keys(self, conn: sa.Connection, desks: list[str]) -> dict[str, PublicKey]:
        # Failing closed: a case nobody can read is worse than a refused one,
        # and a case sealed to a key the signed log does not name is worse
        # still. Raises key_log.DeskKeyMismatch (a 503, and `visselpipa check`
        # names the desk) or LookupError.
        return key_log.current_desk_keys(conn, desks, self.log_key)

    @staticmethod
    def _file_steps(
        case_id: str, key: CaseKey, files: Sequence[DescribedFile], epoch: int | None = None
    ) -> list[Step]:
        return [
            Step(
                AddReporterFile(case_id=case_id, actor=REPORTER, file_id=f.sealed.file_id),
                {
                    "ReporterFileAdded": seal_item(
                        key,
                        case_id,
                        file_meta_item_id(f.sealed.file_id),
                        json.dumps(f.description(), ensure_ascii=False).encode(),
                    )
                },
                epoch=epoch,
            )
            for f in files
        ]

    # -- following up -------------------------------------------------------

    def receipt_costs(self) -> tuple[KdfCost, ...]:
        """The costs every receipt check derives with (see :func:`receipt_costs`)."""
        with self.engine.connect() as conn:
            return receipt_costs(conn, self.settings.kdf)

    def open_case(self, typed_receipt: str) -> CaseAccess | None:
        """The case behind a typed receipt, or None.

        Malformed, unknown and wrong receipts take the same path: one Argon2id
        derivation per cost in use (:meth:`receipt_costs`) and one index
        lookup for all the tags at once, so neither the answer nor its timing
        tells them apart, nor which cost a receipt was made with.
        """
        try:
            receipt: Receipt | None = Receipt.parse(typed_receipt)
        except InvalidReceipt:
            receipt = None
        with self.engine.connect() as conn:
            costs = receipt_costs(conn, self.settings.kdf)
        candidates: dict[bytes, tuple[str, ReporterKeys]] = {}
        for cost in costs:
            keys = derive_reporter_keys(receipt or _DECOY_RECEIPT, self.settings.tenant_salt, cost)
            candidates[keys.lookup_tag] = (cost.to_text(RECEIPT_SALT), keys)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    reporter_index_table.c.lookup_tag,
                    reporter_index_table.c.kdf,
                    reporter_index_table.c.case_id,
                ).where(reporter_index_table.c.lookup_tag.in_(list(candidates)))
            ).all()
            found = None
            for row in rows:
                kdf, keys = candidates[bytes(row.lookup_tag)]
                # A tag is only this receipt's if it was derived with the row's own cost.
                if row.kdf == kdf:
                    found = (row, keys)
            if found is None or receipt is None:
                return None
            row, keys = found
            # Every epoch's reporter grant (identity.case_epochs), in the same
            # connection: a shredded case has none, and opens nothing.
            return open_access(conn, row.case_id, keys.private_key)

    def view(self, access: CaseAccess) -> ReporterView:
        """Decrypt the case for its reporter: their report, messages, status."""
        stored = self.cases.store.read_stream(access.case_id)
        state = state_of(stored)
        if state.received_on is None:
            raise LookupError("the case has no report")
        received = stored[0]
        case_id, keys = access.case_id, access.keys
        report = json.loads(
            open_item(keys.for_epoch(1), case_id, REPORT_ITEM, received.body or b"")
        )
        contact: str | None = None
        rejection_reason: str | None = None
        timeline: list[TimelineEntry] = []
        for event in stored[1:]:
            on = date.fromisoformat(event.recorded_at[:10])
            if event.type == "CaseReopened":
                rejection_reason = None
            if event.type == "DeskChanged":  # the reporter is told who handles the case now
                timeline.append(TimelineEntry("moved", on, text=str(event.meta["to_desk"])))
                continue
            if event.type == "ReferredToAuthority":
                timeline.append(TimelineEntry("referred", on, text=str(event.meta["authority"])))
                continue
            if event.body is None or event.type in STAFF_ONLY_EVENTS:
                continue
            key = keys.for_epoch(item_epoch(event.meta))
            if event.type == "ReporterContactProvided":
                contact = open_item(key, case_id, CONTACT_ITEM, event.body).decode()
            elif event.type == "ReporterFileAdded":
                described = json.loads(
                    open_item(key, case_id, file_meta_item_id(event.meta["file_id"]), event.body)
                )
                timeline.append(
                    TimelineEntry(
                        "file",
                        on,
                        file_name=described["name"],
                        file_size=int(described["size"]),
                        file_notes=tuple(described.get("notes", ())),
                        file_checked=bool(described.get("checked", True)),
                    )
                )
            elif event.type == "CaseAssessed":
                text = open_item(key, case_id, message_item(event.meta["message_id"]), event.body)
                rejection_reason = text.decode()
            elif "message_id" in event.meta:
                text = open_item(key, case_id, message_item(event.meta["message_id"]), event.body)
                kind = "reporter_message" if event.actor == REPORTER else "desk_message"
                timeline.append(TimelineEntry(kind, on, text=text.decode()))
        rules = self.cases.rules.deadlines
        return ReporterView(
            case_id=case_id,
            status=reporter_status(state),
            received_on=state.received_on,
            acknowledged_on=state.acknowledged_on,
            acknowledge_by=add_days(state.received_on, rules.acknowledge_within_days),
            feedback_by=feedback_due(state, rules),
            feedback_given_on=state.feedback_given_on,
            category=state.category or "",
            agency=state.agency or "",
            report=report,
            contact=contact,
            timeline=tuple(timeline),
            rejection_reason=rejection_reason,
            is_open=state.is_open,
        )

    def withdraw(self, access: CaseAccess) -> None:
        """The reporter withdraws the report: the case closes as withdrawn.

        :raises CommandRefused: the case is already closed.
        """
        self.cases.execute(access.case_id, [Step(Withdraw(access.case_id, REPORTER), {})])

    def add_message(self, access: CaseAccess, text: str) -> None:
        """A follow-up message from the reporter."""
        for attempt in (1, 2):
            message_id = secrets.token_hex(12)
            sealed = seal_item(access.key, access.case_id, message_item(message_id), text.encode())
            command = AddReporterMessage(access.case_id, REPORTER, message_id)
            step = Step(command, {"ReporterMessageAdded": sealed}, epoch=access.keys.current_epoch)
            try:
                self.cases.execute(access.case_id, [step])
                return
            except KeyEpochChanged:
                # A desk member left between opening the keys and storing:
                # nothing was stored. Open the new epoch with the reporter's
                # key and seal again (checked again in the append).
                with self.engine.connect() as conn:
                    fresh = open_access(conn, access.case_id, access.private_key)
                if attempt == 2 or fresh is None:
                    raise
                access = fresh

    def add_files(self, access: CaseAccess, files: Sequence[DescribedFile]) -> None:
        def record(conn: sa.Connection, state: CaseState, recorded: list[RecordedEvent]) -> None:
            _record_files(conn, access.case_id, files)

        # The files were sealed under access.key too (app.reporter): the
        # epoch check in the append covers them with their descriptions.
        steps = self._file_steps(access.case_id, access.key, files, access.keys.current_epoch)
        self.cases.execute(access.case_id, steps, after_append=record)


def _record_files(conn: sa.Connection, case_id: str, files: Sequence[DescribedFile]) -> None:
    if files:
        conn.execute(
            sa.insert(files_table),
            [
                {
                    "id": f.sealed.file_id,
                    "case_id": case_id,
                    "encrypted_bytes": f.sealed.encrypted_bytes,
                }
                for f in files
            ],
        )
