"""Every reporter and staff page, in Chromium with JavaScript off, on a phone and a desktop.

At 375×812 and 1280×900, in Swedish and in English, a reporter and the staff
walk to every page the app serves — the list is the app's own ``url_map``, so a
new page that this journey does not reach fails the test until it is visited
here or excluded with a reason. On each page:

- nothing is wider than the screen (``scrollWidth`` of the document at most
  the viewport's width: no sideways scrolling);
- axe-core (the copy the ``axe-playwright-python`` wheel ships) with the
  wcag2a, wcag2aa, wcag21a, wcag21aa and best-practice rules finds nothing.

The case page of a new case, at 1280×900, shows the report's text and the
next step's button on its first screen, folds the other actions, and is at
most two screens tall.

Axe runs inside the page that was loaded with JavaScript off: Playwright's
``evaluate`` still runs there, but timers never fire on such a page, so axe's
``setTimeout`` is replaced by a microtask before axe is injected. The page's
own markup is never touched.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.gate import require_browser
from tests.live_server import REPO_ROOT, LiveServer, _server_env

require_browser()

import pyotp  # noqa: E402
from axe_playwright_python.base import AXE_SCRIPT  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

PHONE = (375, 812)
DESKTOP = (1280, 900)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: Timers never fire with JavaScript off; axe waits on them. A microtask does the same job.
TIMER_SHIM = (
    "window.setTimeout = (fn, ms, ...args) => { Promise.resolve().then(() => fn(...args));"
    " return 0; }; window.clearTimeout = () => {};"
)
#: What sticks out on the right, for a failure message that says where to look.
WIDER_THAN_SCREEN = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .slice(-4)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (typeof e.className === 'string' && e.className
           ? '.' + e.className.split(' ').join('.') : '')
        + ' right=' + Math.round(e.getBoundingClientRect().right))"""

#: Endpoints that serve no page a person reads, each with the reason.
NOT_PAGES = {
    "static": "the style sheet and images",
    "ops.favicon": "an icon",
    "ops.healthz": "a health check for the proxy (text)",
    "ops.metrics": "Prometheus metrics (text)",
    "proof.signing_key": "the public signing key (text)",
    "proof.tree_head": "the signed tree head (text)",
    "proof.consistency": "a consistency proof for witnesses (JSON)",
    "proof.countersignatures_list": "the witnesses' countersignatures (JSON)",
    "proof.status_json": "the proof of submission as a JSON download",
    "reporter.choose_language": "a redirect back to the page the language was chosen on",
    "reporter.status_files": "the file upload answers with a redirect to /status",
    "reporter.status_message": "the message form answers with a redirect to /status",
    "reporter.leave": "a redirect to /status after the session is ended",
    "staff.logout": "a redirect to the sign-in page",
    "admin.remove_member": "a redirect to the desk's member page",
    "workspace.export": "the case file as a PDF download",
    "workspace.download": "a file of the case, as a download",
    "oversight.statistics_csv": "the statistics as a CSV download",
}

REPORT = {
    "what": (
        "Enhetschefen på inköpsavdelningen har under våren tilldelat tre uppdrag för "
        "IT-konsulter till samma firma utan upphandling. Firman ägs av chefens svåger. "
        "Uppdragen delades upp i belopp strax under gränsen för direktupphandling, och "
        "beställningarna gjordes med en veckas mellanrum. Jag har sett fakturorna i "
        "ekonomisystemet och mejlen där chefen ber om att uppdragen ska delas upp."
    ),
    "when": "mars–maj i år",
    "where": "Inköpsavdelningen, huvudkontoret",
    "persons": "enhetschef K, ekonomiassistent L",
}


def _endpoints(server: LiveServer) -> set[str]:
    """Every endpoint of the app the server runs, from its url_map."""
    script = (
        "import json; from app import create_app; "
        "print(json.dumps(sorted({r.endpoint for r in create_app().url_map.iter_rules()})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=_server_env(server.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found: set[str] = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return found


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


def _account(server: LiveServer, tmp: Path, username: str, role: str, desk: str | None) -> str:
    password = f"layout {secrets.token_urlsafe(12)}"
    password_file = tmp / f"{username}.password"
    password_file.write_text(password + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    _visselpipa(server, "add-user", username, "--role", role, "--password-file", str(password_file))
    if desk:
        recovery = str(server.data_dir / "recovery-key.txt")
        _visselpipa(server, "add-desk-member", desk, username, "--recovery-key", recovery)
    return password


# -- what each page is checked for -----------------------------------------------------


@dataclass
class Sweep:
    """The pages seen in one viewport and language, and what was wrong with them."""

    width: int
    seen: set[str] = field(default_factory=set)
    wrong: dict[str, list[str]] = field(default_factory=dict)

    def check(self, page: Page, endpoint: str, name: str | None = None) -> None:
        """Check the page now loaded in ``page``, counted as ``endpoint``."""
        expect(page.locator("main#main")).to_have_count(1)
        name = name or endpoint
        found: list[str] = []
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > self.width:
            wide = page.evaluate(WIDER_THAN_SCREEN, self.width)
            found.append(f"{scroll_width} px wide (screen {self.width}): {wide}")
        page.evaluate(TIMER_SHIM)
        page.evaluate(AXE_SCRIPT)
        violations = page.evaluate(
            "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
            ".then(r => r.violations.map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' '))"
            ".join(', ')))",
            AXE_TAGS,
        )
        found += [f"axe: {v}" for v in violations]
        self.seen.add(endpoint)
        tall = page.evaluate("document.documentElement.scrollHeight")
        print(f"{self.width} px wide: {name}: {scroll_width}×{tall} px")
        if found:
            self.wrong[f"{name} ({page.url})"] = found


def _language(page: Page, code: str) -> None:
    page.goto(f"/lang/{code}?next=/")


def _sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/staff/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()


def _enrol(page: Page, sweep: Sweep | None = None) -> pyotp.TOTP:
    expect(page).to_have_url(re.compile(r"/staff/enrol$"))
    if sweep:
        sweep.check(page, "staff.enrol")
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().replace(" ", ""))
    page.locator("#code").fill(totp.now())
    page.locator("main form button[type=submit]").click()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    if sweep:
        sweep.check(page, "staff.enrol", "the recovery codes after enrolment")
    page.locator("main a[href='/staff/']").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))
    return totp


def _report(page: Page, report: dict[str, str] = REPORT) -> str:
    """Send a report on /report (procurement: the anti-corruption desk); its receipt code."""
    page.goto("/report")
    page.locator("#category").select_option("procurement")
    page.locator("#agency").select_option("trafikverket")
    for name, text in report.items():
        page.locator(f"#{name}").fill(text)
    page.locator("#contact_choice-0").check()
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("#receipt-code")).to_have_count(1)
    return page.locator("#receipt-code").inner_text().strip()


def _open_status(page: Page, receipt: str) -> None:
    """The reporter's case on /status: the receipt code, unless the session has it open."""
    page.goto("/status")
    if page.locator("#receipt").count():
        page.locator("#receipt").fill(receipt)
        page.locator("main form button[type=submit]").click()
    expect(page.locator("#messages")).to_have_count(1)


def _case_link(page: Page) -> str:
    """The first case of the inbox (the nearest deadline: the newest report)."""
    link = page.locator("table.inbox tr.case-row a").first
    href = link.get_attribute("href")
    assert href
    return href


# -- the deployment ------------------------------------------------------------------


@dataclass
class World:
    server: LiveServer
    tmp: Path
    reporter: Any  # a browser context with the older case open on /status
    receipt: str
    older_case: str  # a case with a question and an answer
    admin: Any
    oversight: Any
    endpoints: set[str]


@pytest.fixture(scope="module")
def world(
    browser: Any, live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("accounts")
    contexts: list[Any] = []

    def context() -> Any:
        made = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=False,
            locale="sv-SE",
            viewport={"width": DESKTOP[0], "height": DESKTOP[1]},
        )
        made.set_default_timeout(15_000)
        contexts.append(made)
        return made

    # A case a step further on: acknowledged, a question, the reporter's answer.
    reporter = context()
    page = reporter.new_page()
    receipt = _report(page)
    lead = context().new_page()
    _sign_in(lead, "forsta", _account(live_server, tmp, "forsta", "desk_lead", "anticorruption"))
    _enrol(lead)
    lead.goto("/staff/inbox")
    older_case = _case_link(lead)
    lead.goto(older_case)
    lead.locator("#action-acknowledge textarea").fill("Tack, vi har tagit emot rapporten.")
    lead.locator("#action-acknowledge button[type=submit]").click()
    lead.locator("#group-reporter > summary").click()
    question = "Vilka datum gjordes beställningarna?"
    lead.locator("#action-request_information textarea").fill(question)
    lead.locator("#action-request_information button[type=submit]").click()
    expect(lead.locator("#timeline")).to_contain_text("Vilka datum")
    _open_status(page, receipt)
    page.locator("#message").fill("Den 3 mars, den 10 mars och den 17 mars.")
    page.locator("form[action='/status/message'] button[type=submit]").click()
    expect(page.locator("#messages li.reporter_message")).to_have_count(1)

    admin = context()
    _sign_in(admin.new_page(), "adam", _account(live_server, tmp, "adam", "administrator", None))
    _enrol(admin.pages[0])
    oversight = context()
    _sign_in(oversight.new_page(), "olga", _account(live_server, tmp, "olga", "oversight", None))
    _enrol(oversight.pages[0])
    try:
        yield World(
            live_server,
            tmp,
            reporter,
            receipt,
            older_case,
            admin,
            oversight,
            _endpoints(live_server),
        )
    finally:
        for made in contexts:
            made.close()


# -- the journey ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375x812", "1280x900"])
def test_every_page_fits_the_screen_and_passes_axe(
    world: World, browser: Any, viewport: tuple[int, int], language: str
) -> None:
    width, height = viewport
    sweep = Sweep(width)

    def fresh() -> Page:
        made = browser.new_context(
            base_url=world.server.url,
            java_script_enabled=False,
            locale="sv-SE",
            viewport={"width": width, "height": height},
        )
        made.set_default_timeout(15_000)
        page: Page = made.new_page()
        _language(page, language)
        return page

    def at_size(context: Any) -> Page:
        page: Page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        _language(page, language)
        return page

    # The reporter: the front page, the external channels, the form, its errors,
    # the receipt and the proof, then the case with messages on /status.
    reporter = fresh()
    for path, endpoint in (
        ("/", "reporter.index"),
        ("/external", "reporter.external"),
        ("/privacy", "privacy.notice"),
    ):
        reporter.goto(path)
        sweep.check(reporter, endpoint)
    reporter.goto("/report")
    sweep.check(reporter, "reporter.report")
    reporter.locator("#what").fill("kort")
    reporter.locator("main form button[type=submit]").last.click()
    expect(reporter.locator(".error-summary")).to_have_count(1)
    sweep.check(reporter, "reporter.report", "the report form with errors")
    _report(reporter)
    sweep.check(reporter, "reporter.report", "the receipt")
    reporter.locator("form[action='/receipt/proof'] button[value=page]").click()
    sweep.check(reporter, "proof.receipt_download", "the proof from the receipt")
    reporter.goto("/status")
    sweep.check(reporter, "reporter.status", "the receipt form")
    reporter.locator("#receipt").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    reporter.locator("main form button[type=submit]").click()
    sweep.check(reporter, "reporter.status", "the receipt form with a wrong code")
    reporter.goto("/nope")
    sweep.check(reporter, "not found", "the page for an unknown address")

    status = at_size(world.reporter)
    _open_status(status, world.receipt)
    expect(status.locator("#messages li.desk_message")).to_have_count(2)
    sweep.check(status, "reporter.status", "the reporter's case with messages")
    status.goto("/status/proof")
    sweep.check(status, "proof.status_page")
    # The confirmation before withdrawing (not confirmed: the case stays open).
    status.goto("/status/withdraw")
    sweep.check(status, "reporter.status_withdraw", "the confirmation of a withdrawal")

    # A desk lead's first sign-in, then every page of the workspace.
    username = f"lead{language}{width}"
    password = _account(world.server, world.tmp, username, "desk_lead", "anticorruption")
    lead = fresh()
    lead.goto("/staff/login")
    sweep.check(lead, "staff.login")
    lead.locator("#username").fill(username)
    lead.locator("main form button[type=submit]").click()
    sweep.check(lead, "staff.login", "the sign-in with errors")
    _sign_in(lead, username, password)
    _enrol(lead, sweep)
    _language(lead, language)
    lead.goto("/staff/")
    sweep.check(lead, "staff.home")
    lead.goto("/staff/inbox")
    sweep.check(lead, "workspace.inbox")
    new_case = _case_link(lead)  # the newest report: sorted by deadline, it comes first
    lead.goto(world.older_case)
    sweep.check(lead, "workspace.case", "a case with a question and an answer")
    lead.goto(new_case)
    expect(lead.locator("#case-status")).to_have_count(1)
    sweep.check(lead, "workspace.case", "a new case")
    lead.locator("#group-records > summary").click()
    lead.locator("#action-add_internal_note textarea").fill("   ")
    lead.locator("#action-add_internal_note button[type=submit]").click()
    expect(lead.locator(".error-summary")).to_have_count(1)
    # The group that holds the form with the error comes back unfolded.
    expect(lead.locator("#group-records")).to_have_attribute("open", "")
    sweep.check(lead, "workspace.act", "a case with an error in a form")
    lead.goto("/staff/cases/0123456789abcdef")
    sweep.check(lead, "the 403 page", "a case that is not the member's")
    for path, endpoint in (
        ("/staff/statistics", "oversight.statistics"),
        ("/staff/password", "staff.password"),
        ("/staff/desks/anticorruption/members", "admin.desk_members"),
        ("/staff/notifications", "staff.notifications"),
        ("/staff/workload", "workspace.workload"),
    ):
        lead.goto(path)
        sweep.check(lead, endpoint)
    lead.goto("/staff/password")
    lead.locator("#current").fill("wrong")
    lead.locator("main form button[type=submit]").first.click()
    expect(lead.locator(".error-summary")).to_have_count(1)
    sweep.check(lead, "staff.password", "the password change with errors")

    again = fresh()
    _sign_in(again, username, password)
    expect(again).to_have_url(re.compile(r"/staff/login/code$"))
    sweep.check(again, "staff.login_code")

    # Administration and oversight.
    admin = at_size(world.admin)
    for path, endpoint in (
        ("/staff/admin", "admin.overview"),
        ("/staff/admin/accounts/new", "admin.new_account"),
    ):
        admin.goto(path)
        sweep.check(admin, endpoint)
    admin.locator("main form button[type=submit]").first.click()
    expect(admin.locator(".error-summary")).to_have_count(1)
    sweep.check(admin, "admin.new_account", "a new account with errors")
    admin.goto("/staff/admin")
    admin.locator("#account-list a[href*='/names']").first.click()
    sweep.check(admin, "admin.account_names")
    overseer = at_size(world.oversight)
    overseer.goto("/staff/oversight")
    sweep.check(overseer, "oversight.overview_page")

    missed = world.endpoints - set(NOT_PAGES) - sweep.seen
    assert not missed, f"pages this journey does not visit (visit or exclude them): {missed}"
    assert not set(NOT_PAGES) - world.endpoints, "exclusions of endpoints that no longer exist"
    assert sweep.wrong == {}, json.dumps(sweep.wrong, indent=1, ensure_ascii=False)


def test_a_new_case_shows_the_report_and_the_next_step_first(
    world: World, browser: Any, screenshots: Path
) -> None:
    """At 1280×900: the report's text and the next step's button on the first screen;
    the other actions folded; the whole page at most two screens tall."""
    width, height = DESKTOP
    reporter = browser.new_context(
        base_url=world.server.url, java_script_enabled=False, locale="sv-SE"
    )
    try:
        _report(reporter.new_page())
    finally:
        reporter.close()
    username = f"first{secrets.token_hex(3)}"
    password = _account(world.server, world.tmp, username, "investigator", "anticorruption")
    context = browser.new_context(
        base_url=world.server.url,
        java_script_enabled=False,
        locale="sv-SE",
        viewport={"width": width, "height": height},
    )
    try:
        page = context.new_page()
        _sign_in(page, username, password)
        _enrol(page)
        page.goto("/staff/inbox")
        page.goto(_case_link(page))
        expect(page.locator("#case-status")).to_have_text("Mottagen")
        page.screenshot(path=str(screenshots / "staff-case-new.png"), full_page=True)

        what = page.locator("#report dd").first
        expect(what).to_have_text(REPORT["what"])
        box = what.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box

        button = page.locator("#next-step button[type=submit]")
        expect(button).to_have_text("Bekräfta mottagandet")
        expect(button).to_be_visible()
        box = button.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= height, f"the next step's button is at {box}"

        # One form open (the next step); every other action folded into a named group.
        expect(page.locator("section.action:visible")).to_have_count(1)
        groups = page.locator("details.action-group")
        assert groups.count() >= 3
        for i in range(groups.count()):
            expect(groups.nth(i)).not_to_have_attribute("open", "")
            expect(groups.nth(i).locator("summary")).not_to_be_empty()
        # A folded group opens without JavaScript, and its forms are there.
        page.locator("#group-handling > summary").click()
        expect(page.locator("#action-assign button[type=submit]")).to_be_visible()
        page.reload()

        total = page.evaluate("document.documentElement.scrollHeight")
        print(f"a new case page at {width}×{height}: {total} px tall")
        assert total <= 2 * height, f"the new case page is {total} px tall"
    finally:
        context.close()
