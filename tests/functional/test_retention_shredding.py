"""Retention with a moved clock: a closed case is shredded two years on, a held one is not."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from caseflow.clock import STOCKHOLM
from caseflow.domain.commands import Acknowledge, Assess, Conclude, PlaceHold
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity
from caseflow.service.cases import CaseService, Step
from caseflow.service.intake import Intake, Report
from caseflow.service.tick import Tick
from caseflow.store import EventStore, create_engine, migrate, verify_chain
from caseflow.store.blobs import blob_chunks_table
from caseflow.store.projections import case_index_table
from caseflow.store.records import files_table, grants_table
from identity.bootstrap import bootstrap
from tests.functional.conftest import make_settings


def test_shredding_makes_the_case_unreadable_keeps_figures_and_spares_a_held_case(
    database_url, tmp_path
):
    settings = make_settings(database_url, tmp_path)
    engine = create_engine(database_url)
    migrate(engine)
    bootstrap(engine, settings, demo=False)
    submitted = datetime(2024, 3, 4, 10, 0, tzinfo=STOCKHOLM)
    cases = CaseService(engine, settings.rules, clock=lambda: submitted)
    intake = Intake(engine, settings, cases, clock=lambda: submitted)
    receipts, ids = [], []
    for what in ("Mutor vid upphandling av IT-drift.", "Jäv vid tillsättning."):
        submission = intake.begin()
        receipts.append(str(intake.submit(submission, Report("bribery", "tullverket", what))))
        ids.append(submission.case_id)
    closed = submitted + timedelta(days=2)
    for case_id in ids:
        cases.execute(
            case_id,
            [
                Step(Acknowledge(case_id, "ana", "m-1")),
                Step(Assess(case_id, "ana", True, Severity.LOW, RetaliationRisk.LOW, "ok")),
                Step(Conclude(case_id, "ana", Outcome.NOT_SUBSTANTIATED, "no evidence")),
            ],
            now=closed,
        )
    kept, shredded = ids
    cases.execute(kept, [Step(PlaceHold(kept, "ana", False, "appeal pending"))], now=closed)
    assert intake.open_case(receipts[1]) is not None

    # A sealed file in each case (as an upload stores it: a files row, blob rows).
    with engine.begin() as conn:
        for case_id in ids:
            conn.execute(
                sa.insert(files_table).values(id=f"f{case_id}", case_id=case_id, encrypted_bytes=9)
            )
            conn.execute(
                sa.insert(blob_chunks_table).values(
                    blob_id=f"f{case_id}", seq=0, day=19000, data=b"sealed..."
                )
            )

    # Kept through 6 March 2026; shredded on the 7th.
    tick = Tick(engine, settings.rules)
    warned = tick.run(datetime(2026, 2, 5, 8, 0, tzinfo=STOCKHOLM))
    assert warned.shredded == [] and warned.events_appended == 1  # the 30-day warning
    report = tick.run(datetime(2026, 3, 7, 8, 0, tzinfo=STOCKHOLM))
    assert report.shredded == [shredded]

    # Unreadable: no grant left for any desk or for the receipt.
    with engine.connect() as conn:
        holders = set(
            conn.execute(
                sa.select(grants_table.c.case_id).where(grants_table.c.case_id.in_(ids))
            ).scalars()
        )
        index = {row.case_id: row for row in conn.execute(sa.select(case_index_table))}
    assert holders == {kept}
    # Its sealed files are deleted with its key; the held case keeps its own.
    with engine.connect() as conn:
        files_left = set(conn.execute(sa.select(files_table.c.case_id)).scalars())
        blobs_left = set(conn.execute(sa.select(blob_chunks_table.c.blob_id)).scalars())
    assert files_left == {kept} and blobs_left == {f"f{kept}"}
    assert intake.open_case(receipts[1]) is None
    access = intake.open_case(receipts[0])
    assert access is not None and "Mutor" in intake.view(access).report["what"]

    # The figures survive: the index row keeps category, agency and dates.
    gone = index[shredded]
    assert (gone.status, gone.category, gone.agency) == ("shredded", "bribery", "tullverket")
    assert gone.received_on == submitted.date() and gone.outcome == "not_substantiated"
    assert index[kept].status == "concluded"
    # The shredding is an event, and the chain still verifies.
    assert EventStore(engine).read_stream(shredded)[-1].type == "CaseShredded"
    assert verify_chain(engine).ok
    engine.dispose()
