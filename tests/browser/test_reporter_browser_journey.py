"""A reporter with JavaScript off, in Swedish, against the real server in Chromium.

Reports, keeps the receipt, comes back later in a fresh browser, reads the
status and the deadlines, writes to the desk and switches to English. Also:
a wrong code and an empty form. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import calendar
import re
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.gate import require_browser

require_browser()

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

RECEIPT_RE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$")
CATEGORY = "Jäv eller favorisering vid upphandling"
AGENCY = "Trafikverket"
FILE_NAME = "utvärdering anbud.txt"


def _shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def _plus_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _deadline(page: Page, label: str) -> date:
    text = page.locator(f"dl.deadlines dt:text-is('{label}') + dd").inner_text()
    match = re.match(r"\d{4}-\d{2}-\d{2}", text.strip())
    assert match, f"no ISO date after “{label}”: {text!r}"
    return date.fromisoformat(match.group(0))


def test_report_then_follow_the_case_later(new_context: Any, screenshots: Path) -> None:
    marker = f"MARK-{secrets.token_hex(4)}"
    page = new_context().new_page()

    # The start page, in Swedish, and on to the form.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Rapportera missförhållanden i statsförvaltningen"
    )
    page.get_by_role("link", name="Börja rapportera").click()
    expect(page).to_have_url(re.compile(r"/report$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapportera ett missförhållande")

    # Fill it in as a person would: by the visible labels.
    page.get_by_label("Vilken sorts missförhållande gäller det?").select_option(label=CATEGORY)
    page.get_by_label("Vilken myndighet gäller det?").select_option(label=AGENCY)
    page.get_by_label("Vad har hänt?").fill(
        f"Enhetschefen tilldelade ramavtalet till en väns bolag utan konkurrens. {marker}"
    )
    page.get_by_label("När hände det?").fill("i våras")
    page.get_by_label("Var hände det?").fill("Region Syd, inköpsenheten")
    page.get_by_label("Nej, jag förblir anonym").check()
    page.get_by_label("Bevisfiler (frivilligt)").set_input_files(
        files=[
            {
                "name": FILE_NAME,
                "mimeType": "text/plain",
                "buffer": b"Anbud A: 1 200 000 kr\nAnbud B: 950 000 kr\n",
            }
        ]
    )
    _shot(page, screenshots, "reporter-report-form")
    page.get_by_role("button", name="Skicka rapporten").click()

    # The receipt, shown once.
    expect(page.get_by_role("heading", level=1)).to_have_text("Din rapport har tagits emot")
    receipt = page.locator("#receipt-code").inner_text().strip()
    assert RECEIPT_RE.match(receipt), f"not a receipt code: {receipt!r}"
    _shot(page, screenshots, "reporter-receipt")

    # Later, in a fresh browser: lower case, spaces instead of dashes.
    later = new_context().new_page()
    later.goto("/status")
    expect(later.get_by_role("heading", level=1)).to_have_text("Följ ditt ärende")
    later.get_by_label("Din kvittokod").fill(receipt.lower().replace("-", " "))
    later.get_by_role("button", name="Öppna mitt ärende").click()

    expect(later.get_by_role("heading", level=1)).to_have_text("Ditt ärende")
    expect(later.locator("#case-status")).to_contain_text("Mottagen")
    submission = later.locator("#submission")
    expect(submission).to_contain_text(marker)
    expect(submission).to_contain_text(CATEGORY)
    expect(submission).to_contain_text(AGENCY)
    expect(submission).to_contain_text("Region Syd, inköpsenheten")
    expect(later.locator("#files")).to_contain_text(FILE_NAME)

    # The two legal deadlines: 7 days, then 3 months from day 7.
    received = _deadline(later, "Mottagen")
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    assert abs((received - today).days) <= 1, f"received on {received}, today is {today}"
    acknowledge_by = received + timedelta(days=7)
    assert _deadline(later, "Handläggarna ska bekräfta mottagandet senast") == acknowledge_by
    assert _deadline(later, "Handläggarna ska ge dig återkoppling senast") == _plus_months(
        acknowledge_by, 3
    )
    _shot(later, screenshots, "reporter-status")
    later.set_viewport_size({"width": 390, "height": 844})
    _shot(later, screenshots, "reporter-status-390px")
    later.set_viewport_size({"width": 1280, "height": 900})

    # A message to the desk, listed afterwards.
    message = f"Jag har fler dokument om det här. {marker}-svar"
    later.get_by_label("Skriv till handläggarna").fill(message)
    later.get_by_role("button", name="Skicka meddelande").click()
    expect(later.get_by_role("status")).to_contain_text("Ditt meddelande har skickats.")
    sent = later.locator("#messages ol.messages li")
    expect(sent).to_have_count(1)
    expect(sent.first).to_contain_text(message)
    expect(sent.first).to_contain_text("Från dig")

    # English is one click away, and the case stays open.
    later.get_by_role("link", name="English").click()
    expect(later.locator("html")).to_have_attribute("lang", "en")
    expect(later.get_by_role("heading", level=1)).to_have_text("Your case")
    expect(later.locator("#messages")).to_contain_text(message)
    _shot(later, screenshots, "reporter-status-en")


def test_a_wrong_code_is_not_found(new_context: Any) -> None:
    page = new_context().new_page()
    page.goto("/status")
    page.get_by_label("Din kvittokod").fill("7KQ2-M9XD-4HVB-TR1C-PW8E")
    page.get_by_role("button", name="Öppna mitt ärende").click()
    expect(page.get_by_role("alert")).to_contain_text("Inget ärende hittades för koden.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Följ ditt ärende")
    expect(page.get_by_label("Din kvittokod")).to_have_value("7KQ2-M9XD-4HVB-TR1C-PW8E")


def test_an_empty_report_lists_what_to_fix_and_keeps_the_text(
    new_context: Any, screenshots: Path
) -> None:
    page = new_context(width=390, height=844).new_page()
    page.goto("/report")
    page.get_by_label("Var hände det?").fill("Huvudkontoret, plan 4")
    page.get_by_role("button", name="Skicka rapporten").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Något behöver rättas")
    expect(summary).to_contain_text("Välj vilken sorts missförhållande det gäller.")
    expect(summary).to_contain_text("Välj vilken myndighet det gäller.")
    expect(summary).to_contain_text("Beskriv vad som har hänt.")
    expect(summary).not_to_contain_text("Choose")
    expect(summary.get_by_role("link", name="Beskriv vad som har hänt.")).to_have_attribute(
        "href", "#what"
    )
    expect(page.get_by_label("Var hände det?")).to_have_value("Huvudkontoret, plan 4")
    expect(page.get_by_label("Vad har hänt?")).to_have_attribute("aria-invalid", "true")
    _shot(page, screenshots, "reporter-report-errors-390px")
