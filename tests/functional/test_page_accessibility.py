"""What axe does not check: skip link, hints and errors tied to fields, the error
summary focused and named in the title, unique ids, escaped translations,
plural forms, and Swedish pages in Swedish.

Every reporter and staff page a person reaches in a case's life is rendered
in both languages and read with the standard library's HTML parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from tests.functional.pages import hidden_fields, open_status, receipt_from, submit_report
from tests.functional.workspace_pages import CASE_LINK, act, signed_in

CONTROLS = {"input", "select", "textarea"}
#: "7 dag(ar)", "1 day(s)": a word that leaves its plural to the reader.
PLURAL_PLACEHOLDER = re.compile(r"\w+\((?:s|ar|er|or|na)\)")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    #: The classes of the enclosing elements, innermost last.
    within: tuple[str, ...]
    #: The nearest enclosing element with the class "field" (its position), if any.
    field_at: int | None


@dataclass
class Page:
    """The parts of a page these checks read."""

    elements: list[Element] = field(default_factory=list)
    title: str = ""
    text: str = ""


class _Reader(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._stack: list[tuple[str, str, int | None]] = []
        self._in_title = False
        self._skip_text = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v if v is not None else "") for k, v in attrs}
        classes = values.get("class", "")
        field_at = self._stack[-1][2] if self._stack else None
        position = len(self.page.elements)
        if "field" in classes.split():
            field_at = position
        self.page.elements.append(
            Element(tag, values, tuple(c for _, c, _ in self._stack), field_at)
        )
        if tag == "title":
            self._in_title = True
        if tag in {"script", "style"}:
            self._skip_text += 1
        if tag not in self.VOID:
            self._stack.append((tag, classes, field_at))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in {"script", "style"}:
            self._skip_text -= 1
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.page.title += data
        elif not self._skip_text:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = " ".join(" ".join(self._text).split())


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page


def problems(html: str, *, language: str) -> list[str]:
    """Everything wrong with one page, in words."""
    page = read(html)
    found: list[str] = []
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        found.append(f"ids used more than once: {repeated}")
    links = [e for e in page.elements if e.tag == "a"]
    if (
        not links
        or links[0].attrs.get("href") != "#main"
        or "skip-link" not in links[0].attrs.get("class", "")
    ):
        found.append("the first link is not a skip link to #main")
    if not any(e.tag == "main" and e.attrs.get("id") == "main" for e in page.elements):
        found.append('no <main id="main">')
    # Hints and errors inside a field are named by a control of that field.
    described: dict[int | None, set[str]] = {}
    for e in page.elements:
        if e.tag in CONTROLS and e.attrs.get("type") != "hidden":
            described.setdefault(e.field_at, set()).update(
                e.attrs.get("aria-describedby", "").split()
            )
    for e in page.elements:
        classes = e.attrs.get("class", "").split()
        in_field = e.tag == "p" and {"hint", "error"} & set(classes) and e.field_at is not None
        if in_field and e.attrs.get("id") not in described.get(e.field_at, set()):
            found.append(f"a {classes[0]} ({e.attrs.get('id', 'no id')}) no control names")
    summaries = [e for e in page.elements if "error-summary" in e.attrs.get("class", "").split()]
    errors_shown = bool(summaries) or any(
        "error" in e.attrs.get("class", "").split() for e in page.elements
    )
    if errors_shown:
        if not summaries:
            found.append("errors on the page, but no error summary at its top")
        elif any(s.attrs.get("tabindex") != "-1" or "autofocus" not in s.attrs for s in summaries):
            found.append("the error summary is not focused when the page loads")
        prefix = "Fel: " if language == "sv" else "Error: "
        if not page.title.startswith(prefix):
            found.append(f"the title does not start with {prefix!r}: {page.title!r}")
    unplural = PLURAL_PLACEHOLDER.findall(page.text)
    if unplural:
        found.append(f"no plural form: {unplural}")
    if language == "sv" and re.search(r"\breporter\b", page.text, re.I):
        found.append("the English word 'reporter' on a Swedish page")
    return found


def _english(client) -> None:
    client.get("/lang/en?next=/")


@dataclass
class Life:
    """A case with a report, a question and an answer, and the people around it."""

    deployment: object
    receipt: str
    case_id: str
    reporter: object
    lead: object
    admin: object
    oversight: object


@pytest.fixture
def life(deployment):
    reporter = deployment.client()
    status, page = submit_report(reporter, persons="enhetschef K")
    assert status == 200
    receipt = receipt_from(page)
    lead, _ = signed_in(deployment, username="lena", role="desk_lead")
    case_id = CASE_LINK.findall(lead.get("/staff/inbox").get_data(as_text=True))[0]
    assert act(lead, case_id, "acknowledge", message="Tack.").status_code == 303
    assert act(lead, case_id, "request_information", message="Vilket datum?").status_code == 303
    open_status(reporter, receipt)
    status_page = reporter.get("/status").get_data(as_text=True)
    reporter.post("/status/message", data={**hidden_fields(status_page), "message": "3 mars."})
    admin, _ = signed_in(deployment, username="adam", role="administrator", desks=())
    oversight, _ = signed_in(deployment, username="olga", role="oversight", desks=())
    return Life(deployment, receipt, case_id, reporter, lead, admin, oversight)


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code in (200, 404), (path, response.status_code)
    return response.get_data(as_text=True)


def _post_form(client, path: str, **fields: str) -> str:
    form = client.get(path).get_data(as_text=True)
    return client.post(path, data={**hidden_fields(form), **fields}).get_data(as_text=True)


def _pages(life: Life, language: str) -> dict[str, str]:
    fresh = life.deployment.client()
    for client in (life.reporter, life.lead, life.admin, life.oversight, fresh):
        if language == "en":
            _english(client)
    case = f"/staff/cases/{life.case_id}"
    pages = {path: _get(life.reporter, path) for path in ("/", "/report", "/external", "/nope")}
    pages["/report with errors"] = _post_form(life.reporter, "/report", what="kort")
    pages["/status"] = _get(fresh, "/status")
    pages["/status with a wrong code"] = _post_form(fresh, "/status", receipt="AAAA-BBBB")
    pages["/status of the case"] = open_status(life.reporter, life.receipt)[1]
    pages["/status/withdraw"] = _get(life.reporter, "/status/withdraw")
    pages["/status/withdraw with errors"] = _post_form(life.reporter, "/status/withdraw")
    pages["/privacy"] = _get(fresh, "/privacy")
    pages["/staff/login"] = _get(fresh, "/staff/login")
    pages["/staff/login with errors"] = _post_form(fresh, "/staff/login", username="x")
    for path in (
        "/staff/",
        "/staff/inbox",
        case,
        "/staff/statistics",
        "/staff/password",
        "/staff/notifications",
    ):
        pages[path] = _get(life.lead, path)
    pages["/staff/desks/anticorruption/members"] = _get(
        life.lead, "/staff/desks/anticorruption/members"
    )
    pages[f"{case} with errors"] = act(
        life.lead, life.case_id, "add_internal_note", note=""
    ).get_data(as_text=True)
    pages["/staff/password with errors"] = _post_form(life.lead, "/staff/password", new="kort")
    pages["/staff/notifications with errors"] = _post_form(
        life.lead, "/staff/notifications", email="inte en adress", enabled="y"
    )
    for path in ("/staff/admin", "/staff/admin/accounts/new"):
        pages[path] = _get(life.admin, path)
    pages["/staff/admin/accounts/new with errors"] = _post_form(
        life.admin, "/staff/admin/accounts/new", username=""
    )
    pages["/staff/oversight"] = _get(life.oversight, "/staff/oversight")
    return pages


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_page_meets_what_axe_does_not_check(life, language):
    pages = _pages(life, language)
    wrong = {path: problems(html, language=language) for path, html in pages.items()}
    for path, found in sorted(wrong.items()):
        print(path, found)
    assert {path: p for path, p in wrong.items() if p} == {}


def test_a_translated_string_is_text_not_markup(life):
    """A translation that names a path with ``<desk>`` in it shows it, as any text."""
    for language, placeholder in (("sv", "<grupp>"), ("en", "<desk>")):
        if language == "en":
            _english(life.admin)
        page = read(_get(life.admin, "/staff/admin"))
        assert f"/staff/desks/{placeholder}/members" in page.text, language
