"""The reporter's side of a case: submit, follow up with the receipt, converse.

Everything a reporter writes is sealed under the case key here, before it is
handed to the store. The store only ever sees ciphertext and the routing
metadata listed in SECURITY.md (category, agency, desk, day of receipt).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from nacl.public import PublicKey

from caseflow.service import deadlines
from caseflow.service.clock import Clock, reporter_day, system_clock
from caseflow.service.uploads import SealedFile, SealedUpload, file_meta_item_id
from caseflow.store import ConcurrencyConflict, EventStore, NewEvent
from caseflow.store.records import (
    desks_table,
    files_table,
    grants_table,
    reporter_index_table,
)
from config.settings import Settings
from crypto import CryptoError, InvalidReceipt
from crypto.kdf import derive_reporter_keys
from crypto.receipt import Receipt
from crypto.sealing import CaseKey, open_grant, open_item, seal_grant, seal_item

REPORT_ITEM = "report"
CONTACT_ITEM = "contact"
REPORTER = "reporter"

#: A receipt that cannot be anybody's: derived when the typed one is malformed,
#: so a malformed code costs the same time as a wrong one (no timing oracle).
_DECOY_RECEIPT = Receipt.generate()


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
        body = {
            "what": self.what,
            "when": self.when,
            "where": self.where,
            "persons": self.persons,
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


@dataclass
class Submission:
    """A case being submitted: its id and key exist before the form is parsed,
    so that files can be sealed while they stream in."""

    case_id: str
    key: CaseKey
    uploads: list[SealedUpload] = field(default_factory=list)

    def discard(self) -> None:
        for upload in self.uploads:
            upload.discard()
        self.uploads.clear()


@dataclass(frozen=True)
class CaseAccess:
    """What an open reporter session holds: the case and its key, never the receipt."""

    case_id: str
    key: CaseKey

    def __repr__(self) -> str:
        return f"CaseAccess(case_id={self.case_id!r}, key=<hidden>)"


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "report" | "reporter_message" | "desk_message" | "file" | "status"
    on: date
    text: str = ""
    file_name: str = ""
    file_size: int = 0
    status: str = ""


@dataclass(frozen=True)
class ReporterView:
    case_id: str
    status: str
    received_on: date
    acknowledged_on: date | None
    acknowledge_by: date
    feedback_by: date
    category: str
    agency: str
    report: dict[str, str]
    contact: str | None
    timeline: tuple[TimelineEntry, ...]


#: Event types that change what the reporter is told, and the status they mean.
STATUS_BY_EVENT = {
    "ReportReceived": "received",
    "CaseAcknowledged": "acknowledged",
    "CaseAssessed": "assessed",
    "InvestigationOpened": "investigating",
    "InformationRequested": "information_requested",
    "FeedbackGiven": "feedback_given",
    "CaseReferred": "referred",
    "CaseConcluded": "concluded",
    "CaseRejected": "rejected",
    "CaseReopened": "reopened",
}


class Intake:
    """The reporter-facing service."""

    def __init__(self, engine: sa.Engine, settings: Settings, clock: Clock = system_clock):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.store = EventStore(engine)

    # -- submitting ---------------------------------------------------------

    def begin(self) -> Submission:
        return Submission(case_id=secrets.token_hex(16), key=CaseKey.generate())

    def new_upload(
        self, submission_or_access: Submission | CaseAccess, name: str, content_type: str
    ) -> SealedUpload:
        upload = SealedUpload(
            self.settings.data_dir,
            submission_or_access.case_id,
            submission_or_access.key,
            max_bytes=self.settings.max_file_bytes,
            name=name,
            content_type=content_type,
        )
        if isinstance(submission_or_access, Submission):
            submission_or_access.uploads.append(upload)
        return upload

    def submit(
        self, submission: Submission, report: Report, files: Sequence[SealedFile] = ()
    ) -> Receipt:
        """Seal and store a new case; return the receipt, which exists nowhere else."""
        category = self.settings.category(report.category)
        receipt = Receipt.generate()
        reporter = derive_reporter_keys(receipt, self.settings.tenant_salt, self.settings.kdf)
        case_id, key = submission.case_id, submission.key
        today = reporter_day(self.clock())
        consulted: list[str] = []
        events = [
            NewEvent(
                type="ReportReceived",
                actor=REPORTER,
                recorded_at=today.isoformat(),
                meta={
                    "case_id": case_id,
                    "category": category.id,
                    "agency": report.agency,
                    "desk": category.desk,
                    "consulted_desks": consulted,
                    "received_on": today.isoformat(),
                    "senior_officials_involved": report.senior_officials,
                    "named_staff": [],
                },
                body=seal_item(key, case_id, REPORT_ITEM, report.to_sealable()),
            )
        ]
        if report.contact:
            events.append(
                NewEvent(
                    type="ReporterContactProvided",
                    actor=REPORTER,
                    recorded_at=today.isoformat(),
                    meta={"case_id": case_id, "added_on": today.isoformat()},
                    body=seal_item(key, case_id, CONTACT_ITEM, report.contact.encode()),
                )
            )
        events.extend(self._file_events(case_id, key, files, today))
        with self.engine.begin() as conn:
            desk_keys = self._desk_public_keys(conn, [category.desk, *consulted])
            self.store.append(conn, case_id, 0, events)
            conn.execute(
                sa.insert(grants_table),
                [
                    {
                        "case_id": case_id,
                        "recipient": f"desk:{desk}",
                        "sealed_key": seal_grant(key, case_id, public),
                    }
                    for desk, public in desk_keys.items()
                ]
                + [
                    {
                        "case_id": case_id,
                        "recipient": REPORTER,
                        "sealed_key": seal_grant(key, case_id, reporter.public_key),
                    }
                ],
            )
            conn.execute(
                sa.insert(reporter_index_table).values(
                    lookup_tag=reporter.lookup_tag,
                    case_id=case_id,
                    public_key=bytes(reporter.public_key),
                )
            )
            self._record_files(conn, case_id, files)
        return receipt

    def _desk_public_keys(self, conn: sa.Connection, desks: list[str]) -> dict[str, PublicKey]:
        rows = conn.execute(
            sa.select(desks_table.c.id, desks_table.c.public_key).where(desks_table.c.id.in_(desks))
        ).all()
        found = {row.id: PublicKey(row.public_key) for row in rows}
        missing = set(desks) - set(found)
        if missing:
            # Failing closed: a case nobody can read is worse than a refused one.
            raise LookupError(f"desk(s) without a key: {sorted(missing)}; run `visselpipa init`")
        return found

    def _file_events(
        self, case_id: str, key: CaseKey, files: Sequence[SealedFile], today: date
    ) -> list[NewEvent]:
        return [
            NewEvent(
                type="ReporterFileAdded",
                actor=REPORTER,
                recorded_at=today.isoformat(),
                meta={"case_id": case_id, "file_id": f.file_id, "added_on": today.isoformat()},
                body=seal_item(
                    key,
                    case_id,
                    file_meta_item_id(f.file_id),
                    json.dumps(
                        {"name": f.name, "content_type": f.content_type, "size": f.size},
                        ensure_ascii=False,
                    ).encode(),
                ),
            )
            for f in files
        ]

    def _record_files(self, conn: sa.Connection, case_id: str, files: Sequence[SealedFile]) -> None:
        if files:
            conn.execute(
                sa.insert(files_table),
                [
                    {"id": f.file_id, "case_id": case_id, "encrypted_bytes": f.path.stat().st_size}
                    for f in files
                ],
            )

    # -- following up -------------------------------------------------------

    def open_case(self, typed_receipt: str) -> CaseAccess | None:
        """The case behind a typed receipt, or None.

        Malformed, unknown and wrong receipts take the same path: one Argon2id
        derivation and one index lookup, so neither the answer nor its timing
        tells them apart.
        """
        try:
            receipt = Receipt.parse(typed_receipt)
        except InvalidReceipt:
            receipt = None
        reporter = derive_reporter_keys(
            receipt or _DECOY_RECEIPT, self.settings.tenant_salt, self.settings.kdf
        )
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(reporter_index_table.c.case_id, grants_table.c.sealed_key)
                .join(grants_table, grants_table.c.case_id == reporter_index_table.c.case_id)
                .where(reporter_index_table.c.lookup_tag == reporter.lookup_tag)
                .where(grants_table.c.recipient == REPORTER)
            ).first()
        if row is None or receipt is None:
            return None
        try:
            key = open_grant(row.sealed_key, row.case_id, reporter.private_key)
        except CryptoError:
            return None
        return CaseAccess(row.case_id, key)

    def view(self, access: CaseAccess) -> ReporterView:
        """Decrypt the case for its reporter: their report, messages, status."""
        events = self.store.read_stream(access.case_id)
        received = events[0]
        received_on = date.fromisoformat(received.meta["received_on"])
        report = json.loads(
            open_item(access.key, access.case_id, REPORT_ITEM, received.body or b"")
        )
        contact: str | None = None
        status, acknowledged_on = "received", None
        timeline: list[TimelineEntry] = [TimelineEntry("report", received_on)]
        for event in events[1:]:
            on = date.fromisoformat(event.recorded_at[:10])
            if event.type in STATUS_BY_EVENT:
                status = STATUS_BY_EVENT[event.type]
                timeline.append(TimelineEntry("status", on, status=status))
                if event.type == "CaseAcknowledged" and acknowledged_on is None:
                    acknowledged_on = on
            if event.type == "ReporterContactProvided":
                contact = open_item(
                    access.key, access.case_id, CONTACT_ITEM, event.body or b""
                ).decode()
            elif event.type in {"ReporterMessageAdded", "MessageToReporterSent"}:
                text = open_item(
                    access.key, access.case_id, _message_item(event.meta), event.body or b""
                ).decode()
                kind = (
                    "reporter_message" if event.type == "ReporterMessageAdded" else "desk_message"
                )
                timeline.append(TimelineEntry(kind, on, text=text))
            elif event.type == "ReporterFileAdded":
                meta = json.loads(
                    open_item(
                        access.key,
                        access.case_id,
                        file_meta_item_id(event.meta["file_id"]),
                        event.body or b"",
                    )
                )
                timeline.append(
                    TimelineEntry("file", on, file_name=meta["name"], file_size=int(meta["size"]))
                )
        return ReporterView(
            case_id=access.case_id,
            status=status,
            received_on=received_on,
            acknowledged_on=acknowledged_on,
            acknowledge_by=deadlines.acknowledge_by(received_on),
            feedback_by=deadlines.feedback_by(received_on, acknowledged_on),
            category=received.meta["category"],
            agency=received.meta["agency"],
            report=report,
            contact=contact,
            timeline=tuple(timeline),
        )

    def add_message(self, access: CaseAccess, text: str) -> None:
        """A follow-up message from the reporter."""
        today = reporter_day(self.clock()).isoformat()
        message_id = secrets.token_hex(12)
        self._append(
            access,
            NewEvent(
                type="ReporterMessageAdded",
                actor=REPORTER,
                recorded_at=today,
                meta={"case_id": access.case_id, "message_id": message_id, "added_on": today},
                body=seal_item(access.key, access.case_id, f"message:{message_id}", text.encode()),
            ),
        )

    def add_files(self, access: CaseAccess, files: Sequence[SealedFile]) -> None:
        today = reporter_day(self.clock())
        events = self._file_events(access.case_id, access.key, files, today)
        self._append(access, *events, files=files)

    def send_to_reporter(self, access: CaseAccess, text: str, actor: str) -> None:
        """A message from the desk to the reporter (the staff workspace calls this)."""
        now = self.clock()
        message_id = secrets.token_hex(12)
        self._append(
            access,
            NewEvent(
                type="MessageToReporterSent",
                actor=actor,
                recorded_at=now.isoformat(timespec="seconds"),
                meta={
                    "case_id": access.case_id,
                    "message_id": message_id,
                    "sent_at": now.isoformat(timespec="seconds"),
                    "actor": actor,
                },
                body=seal_item(access.key, access.case_id, f"message:{message_id}", text.encode()),
            ),
        )

    def _append(
        self, access: CaseAccess, *events: NewEvent, files: Sequence[SealedFile] = ()
    ) -> None:
        # Reporter follow-ups never conflict in substance: retry on a version
        # race so that a message is never lost to a concurrent staff action.
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    version = self.store.stream_version(conn, access.case_id)
                    self.store.append(conn, access.case_id, version, list(events))
                    self._record_files(conn, access.case_id, files)
                return
            except ConcurrencyConflict:
                if attempt == 4:
                    raise


def _message_item(meta: dict[str, Any]) -> str:
    return f"message:{meta['message_id']}"
