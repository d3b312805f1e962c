"""/staff/notifications: a member sets their own address and switches the daily mail.

Without JavaScript, Swedish first and English; a mistake comes back with
what was typed and a message; the administrator sees whether a member's
mail is on, never the address.
"""

from __future__ import annotations

import re

from tests.functional.pages import hidden_fields
from tests.functional.staff_pages import add_member, enrol, sign_in, text


def signed_in(deployment, username="anna", role="investigator", desks=("anticorruption",)):
    member = add_member(deployment, username=username, role=role, desks=desks)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    enrol(client)
    return client


def save(client, **fields):
    page = client.get("/staff/notifications").get_data(as_text=True)
    data = {k: v for k, v in hidden_fields(page).items() if k in ("csrf_token",)}
    data.update(fields)
    return client.post("/staff/notifications", data=data)


def test_a_member_sets_an_address_and_switches_the_mail_on_and_off(deployment):
    client = signed_in(deployment)
    page = client.get("/staff/notifications")
    assert page.status_code == 200
    words = text(page)
    assert "Aviseringar" in words and "07:00" in words
    assert "aldrig vad" in words  # what the mail never says
    # This deployment has no SMTP server: the page says so, and keeps the choice.
    assert 'id="mail-not-set-up"' in page.get_data(as_text=True)
    assert 'name="enabled"' in page.get_data(as_text=True)
    assert "<script" not in page.get_data(as_text=True)

    saved = save(client, email="anna@myndighet.example", enabled="y")
    assert saved.status_code == 303
    again = client.get("/staff/notifications")
    html = again.get_data(as_text=True)
    assert "Det dagliga brevet skickas till anna@myndighet.example" in text(again)
    assert 'value="anna@myndighet.example"' in html
    assert re.search(r'<input[^>]*checked[^>]*name="enabled"|name="enabled"[^>]*checked', html)

    off = save(client, email="anna@myndighet.example")
    assert off.status_code == 303
    html = client.get("/staff/notifications").get_data(as_text=True)
    assert "Du får ingen e-post" in html
    assert not re.search(r'name="enabled"[^>]*checked|checked[^>]*name="enabled"', html)


def test_a_bad_address_comes_back_with_what_was_typed_in_both_languages(deployment):
    client = signed_in(deployment)
    wrong = save(client, email="anna at myndighet", enabled="y")
    assert wrong.status_code == 400
    html = wrong.get_data(as_text=True)
    assert 'value="anna at myndighet"' in html
    assert "Skriv en adress som namn@myndighet.se." in text(wrong)
    assert "<title>Fel:" in html
    assert 'aria-invalid="true"' in html

    client.get("/lang/en")
    missing = save(client, email="", enabled="y")
    assert missing.status_code == 400
    assert "Enter the address the daily mail should go to." in text(missing)
    assert "<title>Error:" in missing.get_data(as_text=True)
    assert "Notifications" in text(missing)


def test_the_administrator_sees_whether_mail_is_on_but_not_the_address(deployment):
    member = signed_in(deployment, "anna")
    save(member, email="anna.hemlig@myndighet.example", enabled="y")
    signed_in(deployment, "bertil")
    admin = signed_in(deployment, "admin", "administrator", ())
    html = admin.get("/staff/admin").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="account-list".*?</table>', html, re.S).group(0)
    rows = {
        re.search(r"<td>([^<]+)</td>", row).group(1): re.search(
            r'class="mail-choice">([^<]+)<', row
        ).group(1)
        for row in re.findall(r"<tr><td>.*?</tr>", table, re.S)
    }
    assert rows["anna"] == "på" and rows["bertil"] == "av"
    assert "anna.hemlig" not in html


def test_the_form_needs_its_csrf_token(deployment):
    client = signed_in(deployment)
    refused = client.post(
        "/staff/notifications", data={"email": "anna@myndighet.example", "enabled": "y"}
    )
    assert refused.status_code == 400
    html = client.get("/staff/notifications").get_data(as_text=True)
    assert 'value="anna@myndighet.example"' not in html
