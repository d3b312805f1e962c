"""Staff in Chromium with JavaScript off, in Swedish, against the real server.

A reporter reports a conflict of interest (routed to the anti-corruption desk,
with the ethics desk consulted). An investigator of the anti-corruption desk
signs in for the first time (password, then TOTP enrolment), finds the case in
the inbox, reads it, acknowledges it and asks a question; the reporter reads
both on /status and answers; the investigator sees the answer, assesses,
investigates, records a finding and begins deliberation. A member of the
ethics committee (consulted desk) then issues a recommendation with a due
date. Screenshots of the inbox and the case go to test-artifacts/screenshots/.

The staff accounts are created the way an operator does it: ``visselpipa
add-user`` and ``visselpipa add-desk-member --recovery-key`` against the
running server's data directory.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.gate import require_browser
from tests.live_server import REPO_ROOT, LiveServer, _server_env

require_browser()

import pyotp  # noqa: E402
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

# Conflicts of interest go to the anti-corruption desk and consult the ethics
# desk (config/rules/routing.toml), so one case reaches both the investigator
# and the ethics committee through the real workflow.
CATEGORY = "Jäv och intressekonflikter"
AGENCY = "Trafikverket"
RECEIPT_RE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$")


def _shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


# -- staff accounts, as an operator creates them -------------------------------------


def _visselpipa(server: LiveServer, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO_ROOT,
        env=_server_env(server.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"visselpipa {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def _add_member(server: LiveServer, tmp: Path, username: str, role: str, desk: str) -> str:
    """A new staff account on one desk; its password."""
    password = f"browser {secrets.token_urlsafe(12)}"
    password_file = tmp / f"{username}.password"
    password_file.write_text(password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    _visselpipa(server, "add-user", username, "--role", role, "--password-file", str(password_file))
    recovery = str(server.data_dir / "recovery-key.txt")
    _visselpipa(server, "add-desk-member", desk, username, "--recovery-key", recovery)
    return password


# -- staff pages ---------------------------------------------------------------------


def _first_sign_in(page: Page, username: str, password: str) -> pyotp.TOTP:
    """Password, then the TOTP enrolment of a first sign-in, to the staff home page."""
    page.goto("/staff/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Logga in")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(password)
    page.get_by_role("button", name="Fortsätt").click()

    expect(page).to_have_url(re.compile(r"/staff/enrol$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ställ in din andra faktor")
    expect(page.locator("figure.qr svg")).to_have_count(1)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Kod").fill(totp.now())
    page.get_by_role("button", name="Bekräfta").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Dina återställningskoder")
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Jag har sparat dem: fortsätt").click()
    expect(page).to_have_url(re.compile(r"/staff/?$"))
    return totp


def _action(page: Page, kind: str) -> Locator:
    """The form of one action on the case page (one small form per action),
    unfolding the group it is folded into, as a person clicks its summary."""
    folded = page.locator(f"details.action-group:not([open]):has(section#action-{kind}) > summary")
    if folded.count():
        folded.click()
    return page.locator(f"section#action-{kind}")


def _done(page: Page, label: str, state: str) -> None:
    """What the member sees after an action: the confirmation and the case's state."""
    expect(page.get_by_role("status")).to_have_text(f"Klart: {label}.")
    expect(page.locator("#case-status")).to_have_text(state)


def _open_status(page: Page, receipt: str) -> None:
    page.goto("/status")
    page.get_by_label("Din kvittokod").fill(receipt)
    page.get_by_role("button", name="Öppna mitt ärende").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ditt ärende")


# -- the journey ---------------------------------------------------------------------


def test_staff_handle_a_report_to_a_committee_recommendation(
    new_context: Any, live_server: LiveServer, screenshots: Path, tmp_path: Path
) -> None:
    marker = f"MARK-{secrets.token_hex(4)}"
    investigator = "granskare"
    committee_member = "namnden"
    investigator_password = _add_member(
        live_server, tmp_path, investigator, "investigator", "anticorruption"
    )
    committee_password = _add_member(
        live_server, tmp_path, committee_member, "committee_member", "ethics"
    )

    # 1. The reporter reports and keeps the receipt.
    reporter = new_context().new_page()
    reporter.goto("/report")
    reporter.get_by_label("Vilken sorts missförhållande gäller det?").select_option(label=CATEGORY)
    reporter.get_by_label("Vilken myndighet gäller det?").select_option(label=AGENCY)
    report_text = (
        "Avdelningschefen beviljade sin makes konsultfirma ett uppdrag utan att anmäla jäv."
    )
    reporter.get_by_label("Vad har hänt?").fill(report_text)
    reporter.get_by_label("Var hände det?").fill("Region Mitt, ledningsstaben")
    reporter.get_by_label("Nej, jag förblir anonym").check()
    reporter.get_by_role("button", name="Skicka rapporten").click()
    expect(reporter.get_by_role("heading", level=1)).to_have_text("Din rapport har tagits emot")
    receipt = reporter.locator("#receipt-code").inner_text().strip()
    assert RECEIPT_RE.match(receipt), f"not a receipt code: {receipt!r}"

    # 2. The investigator signs in for the first time and finds it in the inbox.
    staff = new_context().new_page()
    _first_sign_in(staff, investigator, investigator_password)
    staff.get_by_role("link", name="Öppna inkorgen").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Inkorg")
    rows = staff.locator("table.inbox tr.case-row")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator("td.days-left")).to_have_text("7 dagar kvar")
    expect(row).to_contain_text("Mottagen")
    expect(row).to_contain_text(CATEGORY)
    expect(row).to_contain_text(AGENCY)
    # Nothing is decrypted on the inbox.
    expect(staff.locator("main")).not_to_contain_text("konsultfirma")
    _shot(staff, screenshots, "staff-inbox")

    # 3. The case, decrypted; acknowledge with a message; ask a question.
    row.get_by_role("link").click()
    expect(staff).to_have_url(re.compile(r"/staff/cases/[0-9a-f]+$"))
    case_url = staff.url
    expect(staff.locator("#case-status")).to_have_text("Mottagen")
    expect(staff.locator("#report")).to_contain_text(report_text)
    expect(staff.locator("#report")).to_contain_text("Region Mitt, ledningsstaben")
    expect(staff.locator("#contact")).to_contain_text("anonym")
    _shot(staff, screenshots, "staff-case")

    acknowledgement = f"Tack, vi har tagit emot din rapport och läser den nu. {marker}-kv"
    form = _action(staff, "acknowledge")
    form.get_by_label("Meddelande till rapportören").fill(acknowledgement)
    form.get_by_role("button", name="Bekräfta mottagandet").click()
    _done(staff, "Bekräfta mottagandet", "Bekräftad")

    question = f"Vilket datum fattades beslutet om uppdraget? {marker}-fr"
    form = _action(staff, "request_information")
    form.get_by_label("Fråga").fill(question)
    form.get_by_role("button", name="Ställ en fråga till rapportören").click()
    _done(staff, "Ställ en fråga till rapportören", "Bekräftad")
    expect(staff.locator("#timeline")).to_contain_text(question)

    # 4. The reporter, in a fresh browser, reads both and answers.
    later = new_context().new_page()
    _open_status(later, receipt)
    from_desk = later.locator("#messages li.desk_message")
    expect(from_desk).to_have_count(2)
    expect(from_desk.nth(0)).to_contain_text(acknowledgement)
    expect(from_desk.nth(1)).to_contain_text(question)
    expect(from_desk.first).to_contain_text("Från handläggarna")
    answer = f"Beslutet fattades den 3 mars, enligt diariet. {marker}-sv"
    later.get_by_label("Skriv till handläggarna").fill(answer)
    later.get_by_role("button", name="Skicka meddelande").click()
    expect(later.get_by_role("status")).to_contain_text("Ditt meddelande har skickats.")
    expect(later.locator("#messages li.reporter_message")).to_contain_text(answer)

    # 5. The investigator sees the answer and takes the case to the committee.
    staff.goto(case_url)
    from_reporter = staff.locator("#timeline li.event-ReporterMessageAdded")
    expect(from_reporter).to_have_count(1)
    expect(from_reporter).to_contain_text("Meddelande från rapportören")
    expect(from_reporter).to_contain_text(answer)

    form = _action(staff, "assess")
    form.get_by_label("Ja", exact=True).check()
    form.get_by_label("Allvarlighetsgrad").select_option(label="Hög")
    form.get_by_label("Risk för repressalier mot rapportören").select_option(label="Medel")
    form.get_by_label("Motivering").fill("Jäv vid tilldelning av uppdrag: inom området.")
    form.get_by_role("button", name="Bedöm").click()
    _done(staff, "Bedöm", "Bedömd")

    _action(staff, "open_investigation").get_by_role("button", name="Inled en utredning").click()
    _done(staff, "Inled en utredning", "Under utredning")

    form = _action(staff, "record_finding")
    form.get_by_label("Ja", exact=True).check()
    form.get_by_label("Pseudonymt id för den berörda (aldrig ett namn)").fill("subj-17")
    form.get_by_label("Allvarlighetsgrad").select_option(label="Hög")
    form.get_by_role("button", name="Registrera en iakttagelse").click()
    _done(staff, "Registrera en iakttagelse", "Under utredning")
    finding = staff.locator("#timeline li.event-FindingRecorded")
    expect(finding).to_contain_text("Iakttagelse registrerad")
    expect(finding).to_contain_text("subject_id: subj-17")

    _action(staff, "begin_deliberation").get_by_role("button", name="Påbörja överläggning").click()
    _done(staff, "Påbörja överläggning", "Under överläggning")
    # Recommendations are the committee's alone: never offered to an investigator.
    expect(_action(staff, "issue_recommendation")).to_have_count(0)

    # 6. A member of the ethics committee (the consulted desk) recommends.
    committee = new_context().new_page()
    _first_sign_in(committee, committee_member, committee_password)
    committee.get_by_role("link", name="Öppna inkorgen").click()
    rows = committee.locator("table.inbox tr.case-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Under överläggning")
    expect(rows.first).to_contain_text("(rådfrågad)")
    rows.first.get_by_role("link").click()
    expect(committee).to_have_url(case_url)
    expect(committee.locator("#report")).to_contain_text(report_text)
    expect(committee.locator("#timeline")).to_contain_text(answer)

    due = date.today() + timedelta(days=60)
    form = _action(committee, "issue_recommendation")
    # The case's agency is preselected.
    expect(form.get_by_label("Till myndigheten").locator("option:checked")).to_have_text(AGENCY)
    form.get_by_label("Sista dag (tomt: standardtiden)").fill(due.isoformat())
    form.get_by_role("button", name="Utfärda en rekommendation").click()
    _done(committee, "Utfärda en rekommendation", "Under överläggning")
    issued = committee.locator("#timeline li.event-RecommendationIssued")
    expect(issued).to_contain_text("Rekommendation utfärdad")
    expect(issued).to_contain_text(f"due_on: {due.isoformat()}")
    expect(committee.locator("#deadlines")).to_contain_text(
        f"Rekommendation ska vara genomförd: {due.isoformat()}"
    )

    # The investigator sees the committee's recommendation on the case.
    staff.goto(case_url)
    expect(staff.locator("#timeline li.event-RecommendationIssued")).to_contain_text(
        due.isoformat()
    )


def test_a_member_switches_the_daily_mail_on_without_javascript(
    new_context: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    password = _add_member(live_server, tmp_path, "aviserad", "investigator", "anticorruption")
    page = new_context().new_page()
    _first_sign_in(page, "aviserad", password)
    page.get_by_role("link", name="Aviseringar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aviseringar")

    # A mistake comes back with what was typed, the error tied to its field.
    page.get_by_label("Din e-postadress").fill("aviserad på myndigheten")
    page.get_by_label("Skicka det dagliga brevet till mig").check()
    page.get_by_role("button", name="Spara").click()
    expect(page).to_have_title(re.compile(r"^Fel: "))
    field = page.get_by_label("Din e-postadress")
    expect(field).to_have_value("aviserad på myndigheten")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_contain_text("Skriv en adress som namn@myndighet.se.")
    expect(page.get_by_label("Skicka det dagliga brevet till mig")).to_be_checked()

    field.fill("aviserad@myndighet.example")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text(
        "Sparat. Det dagliga brevet skickas till aviserad@myndighet.example."
    )
    expect(page.get_by_label("Din e-postadress")).to_have_value("aviserad@myndighet.example")
    expect(page.get_by_label("Skicka det dagliga brevet till mig")).to_be_checked()
