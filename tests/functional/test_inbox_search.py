"""The inbox for a real backlog: search by reference, filters, order, pages,
"needs my action", the desk lead's workload, and oversight paged.

Cases are received through the case service as the intake would route them
(bribery → the anti-corruption team), with the days chosen, so the case
index holds what production holds; members sign in past both factors and
read the pages like a person would. Nothing is decrypted on these pages.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from caseflow.domain.commands import Acknowledge, Assess, Assign, DeclareConflict, Receive
from caseflow.domain.dates import STOCKHOLM
from caseflow.domain.vocabulary import RetaliationRisk, Severity
from caseflow.service.cases import Step
from caseflow.service.inbox import INBOX_PAGE_SIZE
from caseflow.service.tick import Tick
from reporting.statistics import overview
from tests.functional.staff_pages import text
from tests.functional.workspace_pages import CASE_LINK, signed_in


def today() -> date:
    return datetime.now(STOCKHOLM).date()


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time().replace(hour=10), STOCKHOLM)


def receive(deployment: Any, case_id: str, day: date, *steps: Any, **extra: Any) -> None:
    """A report received on ``day``, then ``steps`` (commands) on the same day."""
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
    cases.execute(case_id, [Step(command), *(Step(s) for s in steps)], now=at(day))


def hexid(n: int, prefix: str = "") -> str:
    return (prefix + f"{n:032x}")[:32] if prefix else f"{n:08x}" + "0" * 24


def listed(response: Any) -> list[str]:
    return CASE_LINK.findall(response.get_data(as_text=True))


def page_links(response: Any, label: str = "inbox") -> dict[str, dict[str, list[str]]]:
    """The page navigation's links: their text (or rel) to their query."""
    page = response.get_data(as_text=True)
    nav = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', page, re.S)
    if nav is None:
        return {}
    found = {}
    for attrs, inner in re.findall(r"<a ([^>]*)>(.*?)</a>", nav.group(1)):
        href = re.search(r'href="([^"]*)"', attrs).group(1).replace("&amp;", "&")
        rel = re.search(r'rel="(\w+)"', attrs)
        found[rel.group(1) if rel else inner] = parse_qs(urlsplit(href).query)
    return found


def test_a_case_is_found_by_its_whole_reference_or_the_start_of_it_as_typed(deployment):
    day = today() - timedelta(days=2)
    wanted = "4f2a91c0" + "7" * 24
    sibling = "4f2a0000" + "1" * 24
    other = "9b000000" + "2" * 24
    for case_id in (wanted, sibling, other):
        receive(deployment, case_id, day)
    client, _member = signed_in(deployment)

    assert set(listed(client.get("/staff/inbox"))) == {wanted, sibling, other}
    # As on the inbox (the first eight), with capitals, spaces or dashes.
    for typed in ("4f2a91c0", "4F2A 91C0", "4f2a-91c0", wanted, wanted.upper()):
        response = client.get("/staff/inbox", query_string={"reference": typed})
        assert response.status_code == 200
        assert listed(response) == [wanted], typed
        assert f'value="{typed}"' in response.get_data(as_text=True)  # the search stays typed
    assert set(listed(client.get("/staff/inbox?reference=4f2a"))) == {wanted, sibling}
    nothing = client.get("/staff/inbox?reference=4f2a91c1")
    assert nothing.status_code == 200 and listed(nothing) == []
    assert "Inget ärende matchar" in text(nothing) or "No case matches" in text(nothing)


def test_a_reference_or_a_choice_that_cannot_be_is_refused_with_the_form_kept(deployment):
    receive(deployment, hexid(1), today())
    client, _member = signed_in(deployment)
    response = client.get("/staff/inbox?reference=4f2x-91&category=bribery")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="4f2x-91"' in page and 'aria-invalid="true"' in page
    assert "bara siffrorna 0-9 och bokstäverna a-f" in text(response)
    assert page.startswith("<!doctype html>") or "<html" in page
    assert re.search(r"<title>Fel:", page)
    client.get("/lang/en")
    english = client.get("/staff/inbox?reference=zz")
    assert english.status_code == 400
    assert "A case reference has only the digits 0-9 and the letters a-f" in text(english)
    for bad in ("sort=priority", "order=sideways", "page=abc", "page=0", "due=5", "status=lost"):
        assert client.get(f"/staff/inbox?{bad}").status_code == 400, bad
    # A page past the end is the last page, not an error (a bookmark outlives a backlog).
    late = client.get("/staff/inbox?page=99")
    assert late.status_code == 200 and listed(late) == [hexid(1)]


def test_filters_order_and_page_numbers_keep_each_other(deployment):
    start = today() - timedelta(days=80)
    count = INBOX_PAGE_SIZE + 12
    ids = [hexid(n + 1) for n in range(count)]
    for n, case_id in enumerate(ids):
        receive(deployment, case_id, start + timedelta(days=n))
    receive(deployment, hexid(500), start, category="partisan_bias")  # routed to ethics
    calm = hexid(0)  # acknowledged and assessed today: nothing due within 7 days
    receive(
        deployment,
        calm,
        today(),
        Acknowledge(calm, "ana", "m-calm"),
        Assess(calm, "ana", True, Severity.LOW, RetaliationRisk.LOW, "inom ramen"),
        category="fraud",
    )
    client, _member = signed_in(deployment)

    newest_first = client.get("/staff/inbox?category=bribery&sort=received&order=desc")
    assert newest_first.status_code == 200
    assert listed(newest_first) == ids[::-1][:INBOX_PAGE_SIZE]
    assert f"{count} ärenden matchar" in text(newest_first)
    links = page_links(newest_first)
    assert set(links) >= {"next", "2"} and "prev" not in links
    for query in (links["next"], links["2"]):
        assert query == {
            "category": ["bribery"],
            "sort": ["received"],
            "order": ["desc"],
            "page": ["2"],
        }
    second = client.get("/staff/inbox", query_string={k: v[0] for k, v in links["next"].items()})
    assert listed(second) == ids[::-1][INBOX_PAGE_SIZE:]
    assert "prev" in page_links(second) and "next" not in page_links(second)
    assert 'aria-current="page"' in second.get_data(as_text=True)

    # Oldest first, by reference, by last activity: each its own order.
    assert listed(client.get("/staff/inbox?sort=received"))[:3] == ids[:3]
    assert listed(client.get("/staff/inbox?sort=reference&order=desc"))[0] == ids[-1]
    assert listed(client.get("/staff/inbox?sort=activity&order=desc"))[:2] == [calm, ids[-1]]
    # The default: next deadline first, i.e. the oldest report's acknowledgement.
    everything = listed(client.get("/staff/inbox"))
    assert everything[0] == ids[0] and calm not in everything
    assert listed(client.get("/staff/inbox?page=2"))[-1] == calm  # due in 14 days: last
    # The deadline window, the missed deadlines included.
    assert listed(client.get("/staff/inbox?due=7&page=2")) == ids[INBOX_PAGE_SIZE:]
    assert listed(client.get("/staff/inbox?due=14&page=2")) == [*ids[INBOX_PAGE_SIZE:], calm]
    # A column heading sorts by it and keeps the filters.
    head = newest_first.get_data(as_text=True)
    assert 'aria-sort="descending"' in head
    assert re.search(
        r'href="/staff/inbox\?[^"]*category=bribery[^"]*sort=received[^"]*order=asc', head
    )


def test_needs_my_action_lists_what_waits_for_me(deployment):
    anna_client, anna = signed_in(deployment, "anna")
    lead_client, lead = signed_in(deployment, "lena", "desk_lead")
    _, bo = signed_in(deployment, "bo")
    now_day = today()
    old = now_day - timedelta(days=120)

    def handled(case_id: str, day: date, who: str, acknowledge: bool = True) -> None:
        steps: list[Any] = [Assign(case_id, lead.id, who)]
        if acknowledge:
            steps += [
                Acknowledge(case_id, who, f"m-{case_id[:4]}"),
                Assess(case_id, who, True, Severity.LOW, RetaliationRisk.LOW, "inom ramen"),
            ]
        receive(deployment, case_id, day, *steps)

    waiting = hexid(0xA1)  # mine, received: to acknowledge
    calm = hexid(0xA2)  # mine, assessed today: nothing due for two weeks
    late = hexid(0xA3)  # mine, assessed long ago: feedback and inactivity missed
    theirs = hexid(0xA4)  # Bo's, late
    nobody = hexid(0xA5)  # nobody assigned
    handled(waiting, now_day, anna.id, acknowledge=False)
    handled(calm, now_day, anna.id)
    handled(late, old, anna.id)
    handled(theirs, old, bo.id)
    receive(deployment, nobody, now_day)

    mine = anna_client.get("/staff/inbox?action=y")
    assert mine.status_code == 200
    assert set(listed(mine)) == {waiting, late}
    assert "Behöver min åtgärd" in text(mine)
    assert set(listed(anna_client.get("/staff/inbox?mine=y"))) == {waiting, calm, late}
    # The desk lead's own step is to assign what nobody has.
    assert set(listed(lead_client.get("/staff/inbox?action=y"))) == {nobody}


def test_the_desk_lead_sees_the_workload_of_the_desk_per_member(deployment):
    lead_client, lead = signed_in(deployment, "lena", "desk_lead")
    anna_client, anna = signed_in(deployment, "anna")
    old = today() - timedelta(days=120)
    for n in range(3):
        receive(deployment, hexid(0xB0 + n), old, Assign(hexid(0xB0 + n), lead.id, anna.id))
    receive(deployment, hexid(0xC0), today(), Assign(hexid(0xC0), lead.id, anna.id))
    receive(deployment, hexid(0xD0), today())
    receive(deployment, hexid(0xD1), old)
    hidden = hexid(0xE0)
    receive(deployment, hidden, old)
    cases = deployment.app.extensions["visselpipa.cases"]
    cases.execute(hidden, [Step(DeclareConflict(hidden, lead.id, lead.id, "min syster"))])

    assert anna_client.get("/staff/workload").status_code == 403
    response = lead_client.get("/staff/workload")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    def cells(row_id: str) -> list[str]:
        row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
        assert row, row_id
        return re.findall(r"<td>(\d+)</td>", row.group(1))

    # Open, overdue, due within 7 days (the new case's acknowledgement).
    assert cells(f"load-anticorruption-{anna.id}") == ["4", "3", "1"]
    assert cells(f"load-anticorruption-{lead.id}") == ["0", "0", "0"]
    # The case the lead is recused from is not counted: two unassigned, not three.
    assert cells("load-anticorruption-nobody") == ["2", "1", "1"]
    assert f'href="/staff/inbox?assignee={anna.id}"' in page
    by_anna = lead_client.get(f"/staff/inbox?assignee={anna.id}")
    assert len(listed(by_anna)) == 4
    assert "Arbetsbörda" in text(lead_client.get("/staff/inbox"))  # the menu links it


def test_a_recused_member_finds_nothing_of_the_case_by_any_search(deployment):
    client, anna = signed_in(deployment, "anna")
    case_id = hexid(0xF00D)
    receive(deployment, case_id, today() - timedelta(days=30))
    cases = deployment.app.extensions["visselpipa.cases"]
    cases.execute(case_id, [Step(Assign(case_id, anna.id, anna.id))])
    assert listed(client.get(f"/staff/inbox?reference={case_id}")) == [case_id]
    cases.execute(case_id, [Step(DeclareConflict(case_id, anna.id, anna.id, "min bror"))])
    for query in (
        f"reference={case_id}",
        f"reference={case_id[:8]}",
        "status=all",
        "action=y",
        "overdue=y",
        "due=7",
        "sort=reference",
        "sort=activity&order=desc",
    ):
        response = client.get(f"/staff/inbox?{query}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert listed(response) == [] and f'id="case-{case_id}"' not in page, query
        assert "0 ärenden matchar" in text(response), query


def test_oversight_lists_are_paged_with_the_figures_unchanged(deployment):
    day = today() - timedelta(days=30)
    total = 2 * 50 + 7
    for n in range(total):
        receive(deployment, hexid(0x1000 + n), day - timedelta(days=n))
    client, _ = signed_in(deployment, "kof", "oversight", ("oversight",))

    def overdue_rows(response: Any) -> list[str]:
        table = re.search(
            r'<table[^>]*id="overdue-cases".*?</table>', response.get_data(True), re.S
        )
        return re.findall(r'<code title="([0-9a-f]+)">', table.group(0))

    def counts(response: Any) -> str:
        return re.search(r'<table[^>]*id="open-counts".*?</table>', response.get_data(True), re.S)[
            0
        ]

    first = client.get("/staff/oversight")
    assert first.status_code == 200
    assert len(overdue_rows(first)) == 50
    assert f"Öppna ärenden med passerad tidsfrist: {total}." in text(first)
    assert overdue_rows(first)[0] == hexid(0x1000 + total - 1)  # the oldest first
    links = page_links(first)
    assert links["next"] == {"overdue_page": ["2"]} and links["3"] == {"overdue_page": ["3"]}
    last = client.get("/staff/oversight?overdue_page=3")
    assert overdue_rows(last) == [hexid(0x1000 + n) for n in range(6, -1, -1)]
    assert counts(last) == counts(first)
    assert client.get("/staff/oversight?overdue_page=30").status_code == 200  # the last page
    refused = client.get("/staff/oversight?overdue_page=tre")
    assert refused.status_code == 400
    assert "Den sidan finns inte" in text(refused)
    assert len(first.get_data()) < 60_000  # one page of each list, not every case

    # The escalated list (after the tick climbed the ladder): the same pages.
    Tick(deployment.engine, deployment.settings.rules).run(at(today()))
    rules = deployment.settings.rules
    whole = overview(deployment.engine, rules, today(), page_size=1000)
    assert whole.escalated_total == total == len(whole.escalated)
    parts = [
        overview(deployment.engine, rules, today(), escalated_page=n, page_size=50).escalated
        for n in (1, 2, 3)
    ]
    assert [c.case_id for part in parts for c in part] == [c.case_id for c in whole.escalated]
    escalated_page = client.get("/staff/oversight?escalated_page=2&overdue_page=2")
    assert page_links(escalated_page) and "escalated_page=3" in escalated_page.get_data(True)
    assert "overdue_page=2" in escalated_page.get_data(True)  # the other list keeps its page


def test_only_desk_leads_open_the_workload(deployment):
    for n, (role, desks) in enumerate(
        (
            ("investigator", ("anticorruption",)),
            ("committee_member", ("ethics",)),
            ("oversight", ("oversight",)),
            ("administrator", ()),
            ("auditor", ()),
        )
    ):
        client, _ = signed_in(deployment, f"m{n}", role, desks)
        assert client.get("/staff/workload").status_code == 403, role
        assert 'href="/staff/workload"' not in client.get("/staff/").get_data(as_text=True)
    lead, _ = signed_in(deployment, "lena", "desk_lead")
    assert 'href="/staff/workload"' in lead.get("/staff/").get_data(as_text=True)
