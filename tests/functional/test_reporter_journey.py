"""The reporter's journey: read, report, keep the receipt, follow the case, converse."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from caseflow.domain.commands import GiveFeedback, RequestInformation
from caseflow.store import EventStore
from caseflow.store.records import grants_table, reporter_index_table
from crypto.sealing import CaseKeys, open_grant, open_item
from identity.reporter_sessions import CaseAccess
from tests.functional.pages import (
    hidden_fields,
    open_status,
    receipt_from,
    submit_report,
    text_of,
)


def test_start_page_explains_protection_in_swedish_and_links_external(client):
    page = client.get("/").get_data(as_text=True)
    text = text_of(page)
    assert "Inget system kan lova fullständig anonymitet" in text
    assert "Tor Browser" in text
    assert 'href="/external"' in page
    external = text_of(client.get("/external").get_data(as_text=True))
    assert "Konkurrensverket" in external and "Arbetsmiljöverket" in external


def test_start_page_states_the_protection_in_the_acts_own_terms(client):
    # Act 2021:890, 1 kap. and 4 kap.: reasonable grounds to believe the information
    # was true, misconduct in a work-related context of public interest (or EU law in
    # scope), protection for those who helped, and for an anonymous reporter later
    # identified. Not "good faith": that is not the Act's condition.
    text = text_of(client.get("/").get_data(as_text=True))
    assert "skäl att anta att det du rapporterade var sant" in text
    assert "allmänintresse" in text and "EU-rätt" in text
    assert "den som har hjälpt dig" in text
    assert "Rapporterar du anonymt och blir identifierad senare gäller samma skydd" in text
    assert "god tro" not in text
    english = text_of(client.get("/lang/en?next=/", follow_redirects=True).get_data(as_text=True))
    assert "reasonable grounds to believe that what you reported was true" in english
    assert "good faith" not in english


def test_english_is_one_click_away_and_stays(client):
    response = client.get("/lang/en?next=/report", follow_redirects=True)
    assert "Report misconduct" in text_of(response.get_data(as_text=True))
    assert "Which agency does it concern?" in text_of(client.get("/report").get_data(as_text=True))
    client.get("/lang/sv?next=/")
    assert "Vilken myndighet gäller det?" in text_of(client.get("/report").get_data(as_text=True))


def test_language_switch_never_redirects_off_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/lang/en", query_string={"next": target})
        assert response.status_code == 303
        assert response.headers["Location"] == "/"


def test_report_then_follow_the_case_with_the_receipt(deployment, client):
    status, page = submit_report(
        client,
        what="Anbudet från Bygg & Co vanns trots högsta priset; chefen är delägare.",
        when="i mars",
        where="Regionkontoret",
        persons="enhetschefen",
        files=(io.BytesIO(b"invoice 2026-03-01 Bygg & Co 1 200 000 kr"), "faktura.txt"),
    )
    assert status == 200, text_of(page)
    receipt = receipt_from(page)
    assert len(receipt.replace("-", "")) == 20

    # The code as a person might type it back: lower case, spaces instead of dashes.
    new_client = deployment.client()
    status, page = open_status(new_client, receipt.lower().replace("-", " "))
    assert status == 200
    text = text_of(page)
    assert "Mottagen. Handläggarna har ännu inte bekräftat din rapport." in text
    assert "&amp;amp;" not in page  # escaped once, not twice
    assert "Anbudet från Bygg & Co vanns trots högsta priset" in text
    assert "Regionkontoret" in text and "enhetschefen" in text and "i mars" in text
    assert "faktura.txt" in text
    assert "Trafikverket" in text
    assert "Inga: du är anonym." in text


def test_deadlines_shown_are_seven_days_and_three_months(deployment, client):
    status, page = submit_report(client)
    status, page = open_status(client, receipt_from(page))
    access = _only_case(deployment)
    view = deployment.app.extensions["visselpipa.intake"].view(access)
    text = text_of(page)
    assert (view.acknowledge_by - view.received_on).days == 7
    assert view.acknowledge_by.isoformat() in text
    assert view.feedback_by.isoformat() in text
    assert 89 <= (view.feedback_by - view.acknowledge_by).days <= 92

    # Once the desk has given feedback, the page says so instead of a deadline.
    deployment.desk_writes(access, "Tack, vi har tagit emot din rapport.")
    deployment.desk_writes(access, "Vi har inlett en granskning.", GiveFeedback)
    text = text_of(client.get("/status").get_data(as_text=True))
    assert "Handläggarna har gett dig återkoppling" in text
    assert "Vi har inlett en granskning." in text
    assert "Handläggarna ska ge dig återkoppling senast" not in text


def test_reporter_and_desk_converse_through_the_status_page(deployment, client):
    status, page = submit_report(client)
    receipt = receipt_from(page)
    status, page = open_status(client, receipt)
    response = client.post(
        "/status/message",
        data={**hidden_fields(page), "message": "Jag har fler mejl."},
        follow_redirects=True,
    )
    assert "Jag har fler mejl." in text_of(response.get_data(as_text=True))

    access = _only_case(deployment)
    deployment.desk_writes(access, "Tack, vi har tagit emot din rapport.")
    deployment.desk_writes(access, "Kan du skicka mejlen som fil?", RequestInformation)
    page = client.get("/status").get_data(as_text=True)
    text = text_of(page)
    assert "Bekräftad. Handläggarna har bekräftat att de tagit emot din rapport." in text
    assert "Tack, vi har tagit emot din rapport." in text
    assert "Kan du skicka mejlen som fil?" in text
    assert "Från handläggarna" in text

    response = client.post(
        "/status/files",
        data={**hidden_fields(page), "files": (io.BytesIO(b"From: boss"), "mejl.eml")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "mejl.eml" in text_of(response.get_data(as_text=True))


def test_case_goes_only_to_the_desk_of_its_category(deployment, client):
    submit_report(client, category="partisan_bias")
    with deployment.engine.connect() as conn:
        rows = conn.execute(sa.select(grants_table)).all()
    recipients = {row.recipient for row in rows}
    assert recipients == {"desk:ethics", "reporter"}
    grant = next(row for row in rows if row.recipient == "desk:ethics")
    key = open_grant(grant.sealed_key, grant.case_id, deployment.desk_keys["ethics"])
    event = EventStore(deployment.engine).read_stream(grant.case_id)[0]
    report = json.loads(open_item(key, grant.case_id, "report", event.body))
    assert report["what"].startswith("The head of unit awarded")
    assert event.meta["desk"] == "ethics" and event.meta["category"] == "partisan_bias"


def test_wrong_and_malformed_receipts_get_the_same_answer(client):
    answers = set()
    for typed in ("0000-0000-0000-0000-0000", "not a code", "7KQ2-M9XD-4HVB-TR1C-PW8X", "ä" * 30):
        status, page = open_status(client, typed)
        assert status == 400
        text = text_of(page).replace(typed, "<typed>")
        answers.add(text)
    assert len(answers) == 1
    assert "Inget ärende hittades för koden" in answers.pop()


def test_leaving_ends_the_session(client):
    status, page = submit_report(client)
    status, page = open_status(client, receipt_from(page))
    client.post("/status/leave", data=hidden_fields(page))
    page = client.get("/status").get_data(as_text=True)
    assert 'name="receipt"' in page


def test_reloading_the_receipt_page_does_not_create_a_second_case(deployment, client):
    page = client.get("/report").get_data(as_text=True)
    data = {
        **hidden_fields(page),
        "category": "bribery",
        "agency": "tullverket",
        "what": "A customs officer took cash to clear a shipment.",
        "contact_choice": "none",
    }
    first = client.post("/report", data=data)
    second = client.post("/report", data=data)
    assert first.status_code == 200 and second.status_code == 409
    with deployment.engine.connect() as conn:
        cases = conn.execute(sa.select(sa.func.count()).select_from(reporter_index_table))
        assert cases.scalar() == 1


def _only_case(deployment) -> CaseAccess:
    """The single case of a test, opened as its desk would (test helper)."""
    with deployment.engine.connect() as conn:
        grant = conn.execute(
            sa.select(grants_table).where(grants_table.c.recipient.like("desk:%"))
        ).one()
    desk = grant.recipient.split(":", 1)[1]
    key = open_grant(grant.sealed_key, grant.case_id, deployment.desk_keys[desk])
    # The desk's key stands in for the reporter's: only the case keys are used.
    return CaseAccess(grant.case_id, CaseKeys({1: key}), deployment.desk_keys[desk])


def test_file_sizes_read_naturally_in_each_language(deployment, client):
    status, page = submit_report(
        client,
        files=[(io.BytesIO(b"x" * 42), "liten.txt"), (io.BytesIO(b"x" * 70042), "stor.txt")],
    )
    status, page = open_status(client, receipt_from(page))
    text = text_of(page)
    assert "liten.txt (42 B," in text
    assert "stor.txt (68,4 KiB," in text
    client.get("/lang/en")
    assert "stor.txt (68.4 KiB," in text_of(client.get("/status").get_data(as_text=True))


def test_reporter_events_carry_the_day_and_never_a_time(deployment, client):
    submit_report(client, senior_officials="y", contact_choice="give", contact="via Signal")
    # The case's events (init signed the desks' keys in streams of their own).
    events = [
        e for e in EventStore(deployment.engine).read_all() if not e.stream_id.startswith("dk:")
    ]
    assert {e.type for e in events} >= {"ReportReceived", "OversightInformed"}
    for event in events:
        assert event.actor == "reporter"
        assert len(event.recorded_at) == 10  # YYYY-MM-DD
        for value in event.meta.values():
            if isinstance(value, str) and "T" in value and value[:4].isdigit():
                assert "T00:00:00" in value, (event.type, value)  # the day's start only


def test_the_leave_button_says_the_case_stays_open(client):
    status, page = submit_report(client)
    status, page = open_status(client, receipt_from(page))
    assert "Logga ut (ditt ärende fortsätter)" in text_of(page)
    assert "Stäng mitt ärende" not in text_of(page)


def test_a_message_typed_in_an_ended_session_comes_back_after_the_receipt(deployment, client):
    from caseflow.store.records import reporter_sessions_table

    receipt = receipt_from(submit_report(client)[1])
    status, page = open_status(client, receipt)
    token = hidden_fields(page)["csrf_token"]
    with deployment.engine.begin() as conn:  # the session ends while the reporter writes
        conn.execute(sa.delete(reporter_sessions_table))
    message = "Jag minns nu att mötet hölls den 4 mars <i>i</i> konferensrum B."
    response = client.post("/status/message", data={"csrf_token": token, "message": message})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Din session hade avslutats" in text_of(page)
    assert "konferensrum B.</textarea>" in page  # in the page itself, escaped
    assert "&lt;i&gt;i&lt;/i&gt;" in page
    # Nothing of it was kept on the server: not in any table.
    with deployment.engine.connect() as conn:
        for table in ("events", "reporter_sessions"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
            assert "konferensrum" not in repr(rows)
    fields = {**hidden_fields(page), "receipt": receipt, "pending_message": message}
    response = client.post("/status", data=fields)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Det har inte skickats" in text_of(page)
    assert "konferensrum B.</textarea>" in page
    # Sent only when the reporter presses Send.
    response = client.post(
        "/status/message",
        data={"csrf_token": hidden_fields(page)["csrf_token"], "message": message},
        follow_redirects=True,
    )
    assert "konferensrum B." in text_of(response.get_data(as_text=True))
