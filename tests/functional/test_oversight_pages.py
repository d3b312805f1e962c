"""Oversight and statistics pages: who may open them, what they show, and no content.

A report carrying a unique marker goes through the reporter's pages; no
oversight or statistics page (nor the export) may ever show it.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from defusedxml import ElementTree

from caseflow.domain.commands import (
    Acknowledge,
    Assess,
    OpenInvestigation,
    Receive,
    RecordFinding,
)
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.vocabulary import RetaliationRisk, Severity
from caseflow.service.cases import Step
from caseflow.service.tick import Tick
from caseflow.store.records import grants_table
from tests.functional.pages import submit_report
from tests.functional.staff_pages import add_member, enrol, sign_in, text

SVG = re.compile(r"<svg\b.*?</svg>", re.S)
SVG_NS = "{http://www.w3.org/2000/svg}"


def signed_in(deployment: Any, username: str, role: str, desks: tuple[str, ...] = ()) -> Any:
    """A client past both factors for a new account with ``role``."""
    member = add_member(deployment, username=username, role=role, desks=desks)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    enrol(client)
    return client


def now() -> datetime:
    return datetime.now(STOCKHOLM)


def receive(deployment: Any, case_id: str, day: date, **extra: Any) -> None:
    cases = deployment.app.extensions["visselpipa.cases"]
    command = Receive(
        case_id=case_id,
        actor="reporter",
        category=extra.pop("category", "bribery"),
        agency=extra.pop("agency", "skatteverket"),
        received_on=day,
        senior_officials_involved=False,
        **extra,
    )
    cases.execute(
        case_id, [Step(command)], now=datetime.combine(day, datetime.min.time(), STOCKHOLM)
    )


def svg_charts(page: str) -> dict[str, Any]:
    """Every inline chart, parsed as XML (it must be well-formed), by id."""
    return {tree.get("id"): tree for tree in (ElementTree.fromstring(s) for s in SVG.findall(page))}


def chart_texts(tree: Any) -> list[str]:
    return [t.text or "" for t in tree.iter(f"{SVG_NS}text")]


def test_who_may_open_oversight_and_statistics(deployment):
    expected = {
        # role: (oversight, statistics, admin)
        "investigator": (403, 403, 403),
        "desk_lead": (403, 200, 403),
        "committee_member": (403, 200, 403),
        "oversight": (200, 200, 403),
        "administrator": (403, 403, 200),
        "auditor": (200, 200, 403),
    }
    for role, codes in expected.items():
        client = signed_in(deployment, f"user-{role}", role)
        got = tuple(
            client.get(path).status_code
            for path in ("/staff/oversight", "/staff/statistics", "/staff/admin")
        )
        assert got == codes, role
        assert client.get("/staff/statistics.csv").status_code == codes[1], role
    anonymous = deployment.client()
    for path in ("/staff/oversight", "/staff/statistics", "/staff/statistics.csv"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/staff/login"


def test_oversight_sees_escalations_flags_and_counts_but_no_content(deployment):
    marker = f"MARKER-{secrets.token_hex(8)}"
    reporter = deployment.client()
    status, _page = submit_report(reporter, what=f"Kontraktet gick till vännen {marker}")
    assert status == 200

    today = now().date()
    receive(deployment, "late-case", today - timedelta(days=30))
    # Three substantiated cases against one agency: a systemic flag.
    cases = deployment.app.extensions["visselpipa.cases"]
    for n in range(3):
        case_id = f"tull-{n}"
        receive(deployment, case_id, today - timedelta(days=3), agency="tullverket")
        cases.execute(
            case_id,
            [
                Step(Acknowledge(case_id, "ana", f"m-{n}")),
                Step(Assess(case_id, "ana", True, Severity.HIGH, RetaliationRisk.LOW, "ok")),
                Step(OpenInvestigation(case_id, "ana")),
                Step(RecordFinding(case_id, "bo", f"f-{n}", True, "subject-9", Severity.HIGH)),
            ],
        )
    Tick(deployment.engine, deployment.settings.rules).run(now())

    client = signed_in(deployment, "kof", "oversight", ("oversight",))
    response = client.get("/staff/oversight")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in page and " style=" not in page and "<style" not in page

    escalated = re.search(r'<table[^>]*id="escalated-cases".*?</table>', page, re.S)
    assert escalated, "no escalation table"
    row = re.search(
        r'<tr><td><code title="late-case">late-cas</code>.*?</tr>', escalated.group(0), re.S
    )
    assert row, "the late case is not listed as escalated"
    cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row.group(0))[1:]]
    # Desk, deadline, level (Tillsyn = oversight), due day, days overdue.
    assert cells == [
        "Antikorruptionsgruppen",
        "Bekräftelse",
        "Tillsyn",
        (today - timedelta(days=23)).isoformat(),
        "23",
    ]
    flags = re.search(r'<table[^>]*id="agency-flags".*?</table>', page, re.S)
    assert flags and "Tullverket" in flags.group(0) and "<td>3</td>" in flags.group(0)
    # No case routed elsewhere becomes a link to its page.
    assert "/staff/cases/" not in page

    pages = [page]
    for path in (
        "/staff/statistics",
        "/staff/statistics?published=y",
        "/staff/statistics.csv",
        f"/staff/statistics?first={today:%Y-%m}&last={today:%Y-%m}",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        pages.append(response.get_data(as_text=True))
    for shown in pages:
        assert marker not in shown
        assert "Kontraktet gick till" not in shown


def test_a_case_routed_to_oversight_links_to_its_page_for_oversight_members(deployment):
    today = now().date()
    # Every member of the routed desk is recused: the case goes to oversight.
    receive(
        deployment,
        "to-oversight",
        today - timedelta(days=20),
        named_staff=("ana",),
        desk_members={"anticorruption": frozenset({"ana"}), "oversight": frozenset({"olle"})},
    )
    receive(deployment, "elsewhere", today - timedelta(days=20))
    state = deployment.app.extensions["visselpipa.cases"].load("to-oversight")
    assert state.desk == "oversight"
    with deployment.engine.begin() as conn:
        conn.execute(
            sa.insert(grants_table),
            [{"case_id": "to-oversight", "recipient": "desk:oversight", "sealed_key": b"k" * 80}],
        )
    member = signed_in(deployment, "kof", "oversight", ("oversight",)).get("/staff/oversight")
    page = member.get_data(as_text=True)
    assert '<a href="/staff/cases/to-oversight" title="to-oversight">' in page
    assert (
        "/staff/cases/elsewhere" not in page and '<code title="elsewhere">elsewher</code>' in page
    )
    # An auditor holds no desk key: references only.
    auditor = signed_in(deployment, "revisor", "auditor").get("/staff/oversight")
    assert "/staff/cases/" not in auditor.get_data(as_text=True)


def test_statistics_charts_are_svg_with_the_figures_and_tables(deployment):
    reporter = deployment.client()
    for _ in range(3):
        status, _page = submit_report(reporter, category="procurement")
        assert status == 200
    month = f"{now():%Y-%m}"
    client = signed_in(deployment, "lead", "desk_lead", ("anticorruption",))

    response = client.get(f"/staff/statistics?first={month}&last={month}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert " style=" not in page and "<style" not in page and "<script" not in page
    charts = svg_charts(page)
    assert set(charts) >= {"chart-months", "chart-categories", "chart-desks", "chart-outcomes"}
    months = chart_texts(charts["chart-months"])
    assert months == [month, "3"]
    categories = chart_texts(charts["chart-categories"])
    assert "3" in categories and any(t.startswith("Jäv eller favorisering") for t in categories)
    assert "Antikorruptionsgruppen" in chart_texts(charts["chart-desks"])
    bars = [r for r in charts["chart-months"].iter(f"{SVG_NS}rect") if r.get("fill") == "#005a9c"]
    assert float(bars[0].get("width")) > 0
    table = re.search(r'<table[^>]*id="table-categories".*?</table>', page, re.S)
    assert table and "<td>3</td>" in table.group(0)
    assert "75 %" not in page  # nothing acknowledged yet: no share to show

    # The published form: 3 is "<5" in the table and in the chart, with no bar.
    published = client.get(f"/staff/statistics?first={month}&last={month}&published=y")
    page = published.get_data(as_text=True)
    table = re.search(r'<table[^>]*id="table-categories".*?</table>', page, re.S)
    assert table and "<td>&lt;5</td>" in table.group(0) and "<td>3</td>" not in table.group(0)
    charts = svg_charts(page)
    assert chart_texts(charts["chart-months"]) == [month, "<5"]
    bars = [r for r in charts["chart-months"].iter(f"{SVG_NS}rect") if r.get("fill") == "#005a9c"]
    assert float(bars[0].get("width")) == 0

    export = client.get(f"/staff/statistics.csv?first={month}&last={month}")
    assert export.mimetype == "text/csv"
    assert export.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert ["received_by_category", month, "procurement", "<5"] in rows
    assert ["received_by_desk", month, "anticorruption", "<5"] in rows


def test_a_bad_month_range_shows_the_form_again(deployment):
    client = signed_in(deployment, "kof", "oversight", ("oversight",))
    cases = {
        "first=2026-13&last=2026-12": "ÅÅÅÅ-MM",
        "first=mars&last=2026-03": "ÅÅÅÅ-MM",
        "first=2026-05&last=2026-03": "före",
        "first=2000-01&last=2026-03": "högst 120",
        "first=1999-12&last=2000-01": "mellan 2000 och 2100",
        "first=%00%ff&last=%3Cscript%3E": "ÅÅÅÅ-MM",
    }
    for query, message in cases.items():
        response = client.get(f"/staff/statistics?{query}")
        assert response.status_code == 400, query
        assert message in text(response), query
        assert "<script>" not in response.get_data(as_text=True)
        assert client.get(f"/staff/statistics.csv?{query}").status_code == 400, query
    # What was typed comes back in the form.
    response = client.get("/staff/statistics?first=mars&last=2026-03")
    assert 'value="mars"' in response.get_data(as_text=True)
    # A long query string is refused, not a crash.
    assert client.get("/staff/statistics?first=" + "9" * 5000).status_code == 400
