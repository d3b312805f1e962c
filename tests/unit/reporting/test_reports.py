"""Published reports on a data set whose answers are known by construction.

Two quarters of 2026, driven through the real case service with chosen
dates (see :func:`_two_quarters`); every expected value below is worked out
by hand from that story. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import Engine

from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    Conclude,
    GiveFeedback,
    Receive,
    Refer,
)
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.vocabulary import Outcome, RetaliationRisk, Severity
from caseflow.service.cases import CaseService, Step
from caseflow.store import parse_head, sign_checkpoint, verify_log
from config.settings import Settings, load_settings
from crypto.signing import Signer
from reporting.reports import (
    COMPLEMENT,
    WITHHELD_COUNT,
    annual_supervisor_report,
    parse_quarter,
    quarterly_report,
    render_csv,
    render_html,
    render_pdf,
)

#: A day after 2026, when every report of the year may be made.
LATER = date(2027, 1, 5)

MEMBERS = {
    "anticorruption": frozenset({"ana", "bo"}),
    "ethics": frozenset({"cecilia", "dan", "eva"}),
    "oversight": frozenset({"olle"}),
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        {"VISSELPIPA_DATA_DIR": str(tmp_path / "data"), "VISSELPIPA_DATABASE_URL": database_url},
        require_secrets=False,
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM)


def receive(cases: CaseService, case_id: str, day: date, category: str) -> None:
    command = Receive(
        case_id=case_id,
        actor="reporter",
        category=category,
        agency="skatteverket",
        received_on=day,
        senior_officials_involved=False,
        desk_members=MEMBERS,
    )
    cases.execute(
        case_id, [Step(command)], now=datetime.combine(day, datetime.min.time(), STOCKHOLM)
    )


def run(cases: CaseService, case_id: str, now: str, *commands: Any) -> None:
    cases.execute(case_id, [Step(c) for c in commands], now=at(now))


def assessed(case_id: str, admissible: bool = True) -> Assess:
    return Assess(case_id, "ana", admissible, Severity.LOW, RetaliationRisk.LOW, "triage", "why")


def _two_quarters(engine: Engine, settings: Settings) -> None:
    """Q1 2026: 12 bribery (2 Feb), 6 fraud (2 Mar), 3 partisan bias (10 Mar).
    Q2 2026: 7 procurement (6 Apr), 5 partisan bias (4 May).

    Acknowledged: b00–b09 on 4 Feb (2 days), b10–b11 on 20 Feb (18, late),
    f* on 5 Mar (3 days), p* on 2 Apr (23, late; after Q1), r* on 8 Apr
    (2 days), q* on 15 May (11, late). Feedback: b00–b04 on 20 Mar (46 days),
    r0–r5 on 1 Jun (56 days). Concluded: b05–b09 no further action and b10
    rejected on 25 Mar; b11 referred to the police and concluded on 15 Apr;
    f0–f4 no further action on 20 May.
    """
    cases = CaseService(engine, settings.rules)
    b = [f"b{n:02}" for n in range(12)]
    f = [f"f{n}" for n in range(6)]
    p = [f"p{n}" for n in range(3)]
    r = [f"r{n}" for n in range(7)]
    q = [f"q{n}" for n in range(5)]
    for ids, day, category in (
        (b, date(2026, 2, 2), "bribery"),
        (f, date(2026, 3, 2), "fraud"),
        (p, date(2026, 3, 10), "partisan_bias"),
        (r, date(2026, 4, 6), "procurement"),
        (q, date(2026, 5, 4), "partisan_bias"),
    ):
        for case_id in ids:
            receive(cases, case_id, day, category)
    for ids, moment in (
        (b[:10], "2026-02-04 10:00"),
        (b[10:], "2026-02-20 10:00"),
        (f, "2026-03-05 10:00"),
        (p, "2026-04-02 10:00"),
        (r, "2026-04-08 10:00"),
        (q, "2026-05-15 10:00"),
    ):
        for case_id in ids:
            run(cases, case_id, moment, Acknowledge(case_id, "ana", f"ack-{case_id}"))
    for case_id in b[:5]:
        run(cases, case_id, "2026-03-20 10:00", GiveFeedback(case_id, "ana", f"fb-{case_id}"))
    for case_id in r[:6]:
        run(cases, case_id, "2026-06-01 10:00", GiveFeedback(case_id, "ana", f"fb-{case_id}"))
    nothing = Outcome.NO_FURTHER_ACTION
    for case_id in b[5:10]:
        run(
            cases,
            case_id,
            "2026-03-25 10:00",
            assessed(case_id),
            Conclude(case_id, "ana", nothing, "x"),
        )
    run(cases, "b10", "2026-03-25 10:00", assessed("b10", admissible=False))
    run(
        cases,
        "b11",
        "2026-04-15 10:00",
        assessed("b11"),
        Refer("b11", "ana", "a crime", to_authority="Polismyndigheten"),
        Conclude("b11", "ana", Outcome.REFERRED, "referred"),
    )
    for case_id in f[:5]:
        closing = Conclude(case_id, "ana", nothing, "x")
        run(cases, case_id, "2026-05-20 10:00", assessed(case_id), closing)


def _csv(text: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "label", "period", "value"]
    return {(section, label): (period, value) for section, label, period, value in rows[1:]}


def test_quarters_are_parsed_and_bad_ones_refused() -> None:
    assert parse_quarter("2026Q3") == (date(2026, 7, 1), date(2026, 9, 30))
    assert parse_quarter("2026q1") == (date(2026, 1, 1), date(2026, 3, 31))
    for bad in ("2026Q5", "2026Q0", "2026-Q3", "26Q1", "1999Q4", ""):
        with pytest.raises(ValueError):
            parse_quarter(bad)


def test_first_quarter_figures_equal_the_known_answers(engine: Engine, settings: Settings) -> None:
    _two_quarters(engine, settings)
    report = quarterly_report(engine, settings, "2026Q1", today=LATER)
    got = _csv(render_csv(report, "en"))

    assert got[("received_by_category", "Bribery")] == ("2026Q1", "12")
    assert got[("received_by_category", "Partisan or ideological bias")] == ("2026Q1", "<5")
    # One <5 with the total shown would give it away: fraud (6) is hidden too.
    assert got[("received_by_category", "Fraud, embezzlement or breach of trust")][1] == COMPLEMENT
    assert got[("received_by_category", "Reports received")] == ("2026Q1", "21")
    assert got[("received_by_desk", "Ethics committee")][1] == "<5"
    assert got[("received_by_desk", "Anti-corruption team")][1] == COMPLEMENT
    assert got[("received_by_desk", "Oversight")][1] == "0"

    # Acknowledgement judged on 31 March: the partisan-bias reports (due 17
    # March) were acknowledged only on 2 April, so they count as late.
    assert got[("acknowledgement", "Cases judged")][1] == "21"
    assert got[("acknowledgement", "Within the deadline")][1] == "16"
    assert got[("acknowledgement", "After the deadline")][1] == "5"
    assert got[("acknowledgement", "Share within the deadline")][1] == "76 %"
    assert got[("acknowledgement", "Median, days")][1] == "2"
    assert got[("feedback", "Cases judged")][1] == "5"
    assert got[("feedback", "Share within the deadline")][1] == "100 %"
    assert got[("feedback", "Median, days")][1] == "46"

    # Five with no further action and one rejected, 6 concluded: "x" (5 or
    # more) beside the total would leave "rejected = 6 - at least 5 = 1", so
    # the 5 is withheld without its size ("..").
    assert got[("outcomes", "No further action")][1] == WITHHELD_COUNT
    assert got[("outcomes", "Rejected at assessment")][1] == "<5"
    assert got[("outcomes", "Cases concluded")][1] == "6"

    # Open on 31 March: 12 at anti-corruption, 3 at ethics.
    assert got[("open_at_end", "Ethics committee")] == ("2026-03-31", "<5")
    assert got[("open_at_end", "Anti-corruption team")] == ("2026-03-31", COMPLEMENT)
    assert got[("open_at_end", "Open cases")] == ("2026-03-31", "15")
    assert got[("recommendations", "Issued")][1] == "0"


def test_second_quarter_figures_equal_the_known_answers(engine: Engine, settings: Settings) -> None:
    _two_quarters(engine, settings)
    quarterly_report(engine, settings, "2026Q1", today=LATER)  # published first, in April
    got = _csv(render_csv(quarterly_report(engine, settings, "2026Q2", today=LATER), "en"))

    procurement = "Favouritism or conflict of interest in procurement"
    assert got[("received_by_category", procurement)][1] == "7"
    assert got[("received_by_category", "Partisan or ideological bias")][1] == "5"
    assert got[("received_by_category", "Bribery")][1] == "0"
    assert got[("received_by_category", "Reports received")][1] == "12"
    assert got[("received_by_desk", "Anti-corruption team")][1] == "7"
    assert got[("received_by_desk", "Ethics committee")][1] == "5"
    assert got[("acknowledgement", "Within the deadline")][1] == "7"
    assert got[("acknowledgement", "After the deadline")][1] == "5"
    assert got[("acknowledgement", "Share within the deadline")][1] == "58 %"
    assert got[("feedback", "Cases judged")][1] == "6"
    assert got[("feedback", "Median, days")][1] == "56"
    assert got[("open_at_end", "Anti-corruption team")] == ("2026-06-30", "13")
    assert got[("open_at_end", "Ethics committee")] == ("2026-06-30", "8")
    assert got[("open_at_end", "Open cases")] == ("2026-06-30", "21")
    # No further action 5, referred 1: the referral is protected.
    assert got[("outcomes", "Referred to another authority")][1] == "<5"
    assert got[("outcomes", "No further action")][1] == WITHHELD_COUNT
    assert got[("outcomes", "Cases concluded")][1] == "6"


def test_supervisor_report_for_the_year(engine: Engine, settings: Settings) -> None:
    _two_quarters(engine, settings)
    for quarter in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"):
        quarterly_report(engine, settings, quarter, today=LATER)
    got = _csv(render_csv(annual_supervisor_report(engine, settings, 2026, today=LATER), "en"))

    assert got[("received_by_category", "Reports received")] == ("2026", "33")
    # 3 in the first quarter (<5) and 5 in the second: 8 would give the 3 away.
    assert got[("received_by_category", "Partisan or ideological bias")][1] == COMPLEMENT
    assert got[("followed_up", "Acknowledged")][1] == "33"
    assert got[("followed_up", "Not acknowledged")][1] == "0"
    assert got[("followed_up", "Assessed")][1] == "12"
    assert got[("followed_up", "Not assessed")][1] == "21"
    # Referred 1 and rejected 1 of 12 concluded: with no further action (10)
    # shown they would add up to 2, so both would be 1. It is hidden.
    assert got[("outcomes", "Referred to another authority")][1] == "<5"
    assert got[("outcomes", "Rejected at assessment")][1] == "<5"
    assert got[("outcomes", "No further action")][1] == COMPLEMENT
    assert got[("outcomes", "Cases concluded")][1] == "12"
    assert got[("referrals", "Cases referred")][1] == "<5"
    assert got[("acknowledgement", "Cases judged")][1] == "33"
    assert got[("acknowledgement", "Within the deadline")][1] == "23"
    assert got[("acknowledgement", "Share within the deadline")][1] == "70 %"
    # Feedback: 11 in time; f5, p*, q*, r6 past due without it (10 late).
    assert got[("feedback", "Cases judged")][1] == "21"
    assert got[("feedback", "Within the deadline")][1] == "11"
    assert got[("feedback", "Share within the deadline")][1] == "52 %"
    assert got[("feedback", "Median, days")][1] == "56"


def _possible(values: list[str], total: int) -> list[tuple[int, ...]]:
    """Every assignment of the hidden cells of one table that a reader cannot rule out."""
    ranges = [
        range(1, 5) if v == "<5" else range(5, total + 1) if v == COMPLEMENT else [int(v)]
        for v in values
    ]
    return [combo for combo in itertools.product(*ranges) if sum(combo) == total]


def test_a_small_category_cannot_be_recovered_from_the_total(
    engine: Engine, settings: Settings
) -> None:
    _two_quarters(engine, settings)
    report = quarterly_report(engine, settings, "2026Q1", today=LATER)
    section = next(s for s in report.sections if s.key == "received_by_category")
    cells = [line.value for line in section.lines if not line.total]
    total = int(report.value("received_by_category", "total"))
    partisan = [line.key for line in section.lines].index("partisan_bias")
    assert cells[partisan] == "<5"
    # The reader's arithmetic leaves the three partisan-bias reports anywhere in 1–4.
    assert {combo[partisan] for combo in _possible(cells, total)} == {1, 2, 3, 4}
    # And by desk: ethics is hidden with anti-corruption, whatever the total.
    desks = next(s for s in report.sections if s.key == "received_by_desk")
    desk_cells = [line.value for line in desks.lines if not line.total]
    assert len({combo[1] for combo in _possible(desk_cells, total)}) > 1


def test_html_pdf_and_csv_carry_the_figures_and_the_newest_checkpoint(
    engine: Engine, settings: Settings
) -> None:
    _two_quarters(engine, settings)
    signer = Signer(bytes(range(32)))
    sign_checkpoint(engine, signer, at("2026-07-01 02:00"))
    newest = sign_checkpoint(engine, signer, at("2026-07-02 02:00"))
    report = quarterly_report(engine, settings, "2026Q2", today=LATER)
    assert report.checkpoint is not None and report.checkpoint.seq == newest.seq
    head_hash = str(newest.meta["head_hash"])

    page = render_html(report, "sv")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.tags[:2] == ["html", "head"] and "svg" in parser.tags
    assert "Mutor och bestickning" in page and head_hash in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )

    pdf = PdfReader(io.BytesIO(render_pdf(report, "sv")))
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Jäv eller favorisering vid upphandling" in text  # å ä ö in the core font
    assert "Andel inom tidsfristen" in text and "58 %" in text
    assert head_hash[:64] in text.replace("\n", "")
    assert signer.key_id in text

    rows = _csv(render_csv(report, "sv"))
    assert rows[("checkpoint", "head_hash")] == ("2026Q2", head_hash)
    assert rows[("checkpoint", "key_id")] == ("2026Q2", signer.key_id)
    # What the report says a reader can do: write the printed fields as a head
    # file, and verify the log against it.
    printed = {
        name: value for (section, name), (_, value) in rows.items() if section == "checkpoint"
    }
    head = parse_head(
        json.dumps(
            {
                "format": "visselpipa-tree-head",
                "version": 1,
                "tree_size": int(printed["tree_size"]),
                **{
                    k: printed[k]
                    for k in ("root_hash", "head_hash", "signed_at", "key_id", "signature")
                },
            }
        ).encode()
    )
    assert verify_log(engine, signer.public_key, expected=head).anchored
    assert "--expect" in page


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
