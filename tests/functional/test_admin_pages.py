"""Administration: accounts and desk membership, with no case content anywhere.

The administrator lists and creates accounts and removes desk members; a desk
lead who is a member of a desk adds members to it (the administrator holds no
desk key). Every form is checked for bad input, CSRF and role.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import sqlalchemy as sa

from caseflow.store.records import desk_members_table, staff_table
from identity import accounts
from tests.functional.pages import hidden_fields, submit_report
from tests.functional.staff_pages import add_member, enrol, sign_in, text

NEW_PASSWORD = "fyra slumpade ord blir ett lösen"


def signed_in(deployment: Any, username: str, role: str, desks: tuple[str, ...] = ()) -> Any:
    member = add_member(deployment, username=username, role=role, desks=desks)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    enrol(client)
    return client


def members_of(deployment: Any, desk: str) -> set[str]:
    m, s = desk_members_table, staff_table
    with deployment.engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(s.c.username).join(m, m.c.staff_id == s.c.id).where(m.c.desk_id == desk)
            ).scalars()
        )


def create_account(client: Any, **fields: str) -> Any:
    page = client.get("/staff/admin/accounts/new").get_data(as_text=True)
    data = {"username": "", "role": "investigator", "password": "", "confirm": ""}
    data.update(fields)
    return client.post("/staff/admin/accounts/new", data={**hidden_fields(page), **data})


def test_the_account_list_shows_roles_desks_second_factor_and_locks(deployment):
    admin = signed_in(deployment, "admin", "administrator")
    add_member(deployment, "ny", "investigator", ("anticorruption",))
    add_member(deployment, "spärrad", "committee_member", ("ethics",))
    # Five wrong passwords lock the account for a while.
    for _ in range(deployment.settings.login_max_failures):
        sign_in(deployment.client(), "spärrad", "fel lösenord")

    page = admin.get("/staff/admin")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    table = re.search(r'<table[^>]*id="account-list".*?</table>', html, re.S).group(0)
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr><td>.*?</tr>", table, re.S)
        )
    }
    assert rows["admin"][1:] == ["Administratör", "inga", "inställd", "nej"]
    assert rows["admin"][0] == "inget namn angivet Ändra namn för admin"
    assert rows["ny"][1:] == ["Utredare", "Antikorruptionsgruppen", "inte än", "nej"]
    assert rows["spärrad"][2:] == ["Etiknämnden", "inte än", "spärrat"]
    assert "add-desk-member" in html  # how to add a member without a desk key
    assert "<script" not in html and " style=" not in html


def test_admin_pages_show_no_case_and_no_content(deployment):
    marker = f"MARKER-{secrets.token_hex(8)}"
    status, _page = submit_report(deployment.client(), what=f"Mutor till chefen {marker}")
    assert status == 200
    with deployment.engine.connect() as conn:
        case_id = conn.execute(sa.text("SELECT case_id FROM case_index")).scalar_one()
    admin = signed_in(deployment, "admin", "administrator")
    lead = signed_in(deployment, "lead", "desk_lead", ("anticorruption",))
    for client, path in (
        (admin, "/staff/admin"),
        (admin, "/staff/admin/accounts/new"),
        (lead, "/staff/desks/anticorruption/members"),
    ):
        page = client.get(path).get_data(as_text=True)
        assert marker not in page and case_id not in page, path
        assert "/staff/cases/" not in page, path
        if client is admin:
            assert "/staff/inbox" not in page, path
    # The administrator reaches no case-derived page at all.
    for path in ("/staff/statistics", "/staff/oversight", "/staff/desks/anticorruption/members"):
        assert admin.get(path).status_code == 403, path


def test_creating_an_account_then_signing_in_with_it(deployment):
    admin = signed_in(deployment, "admin", "administrator")
    response = create_account(
        admin, username="  nils ", role="desk_lead", password=NEW_PASSWORD, confirm=NEW_PASSWORD
    )
    assert response.status_code == 303 and response.headers["Location"] == "/staff/admin"
    listing = text(admin.get("/staff/admin"))
    assert "Kontot nils skapades" in listing
    with deployment.engine.connect() as conn:
        created = accounts.staff_by_username(conn, "nils")
    assert created is not None and created.role == "desk_lead"
    first = sign_in(deployment.client(), "nils", NEW_PASSWORD)
    assert first.headers["Location"] == "/staff/enrol"  # second factor at first sign-in


def test_a_bad_account_form_comes_back_with_what_was_typed_but_no_password(deployment):
    admin = signed_in(deployment, "admin", "administrator")
    add_member(deployment, "anna", "investigator", ())
    cases = [
        ({"username": "bertil", "password": NEW_PASSWORD, "confirm": "annat"}, "skiljer sig åt"),
        ({"username": "bertil", "password": "kort", "confirm": "kort"}, "Använd mellan 12"),
        (
            {"username": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "Ange ett användarnamn",
        ),
        ({"username": "ANNA", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "finns redan"),
        (
            {"username": "b\u0000x", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
            "utan mellanslag",
        ),
        ({"username": "x" * 151, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "under 150"),
        (
            {
                "username": "bertil",
                "role": "superuser",
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
            "",
        ),
    ]
    for fields, message in cases:
        response = create_account(admin, **fields)
        assert response.status_code == 400, fields
        page = response.get_data(as_text=True)
        assert message in text(response), fields
        assert NEW_PASSWORD not in page and 'value="kort"' not in page
        if fields["username"] == "bertil":
            assert 'value="bertil"' in page
    with deployment.engine.connect() as conn:
        assert accounts.staff_by_username(conn, "bertil") is None
    # Without the CSRF token: refused, nothing created.
    response = admin.post(
        "/staff/admin/accounts/new",
        data={
            "username": "cecilia",
            "role": "investigator",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    with deployment.engine.connect() as conn:
        assert accounts.staff_by_username(conn, "cecilia") is None


def test_removing_a_member_from_a_desk(deployment):
    admin = signed_in(deployment, "admin", "administrator")
    leaver = add_member(deployment, "lämnar", "investigator", ("anticorruption", "ethics"))
    page = admin.get("/staff/admin").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]

    response = admin.post(
        "/staff/admin/desks/anticorruption/remove",
        data={"csrf_token": token, "staff_id": leaver.id},
    )
    assert response.status_code == 303
    assert "lämnar" not in members_of(deployment, "anticorruption")
    assert "lämnar" in members_of(deployment, "ethics")
    with deployment.engine.connect() as conn:
        assert accounts.open_desk_key(conn, "anticorruption", leaver.id, leaver.private_key) is None
    assert "Medlemmen togs bort" in text(admin.get("/staff/admin"))

    # Again: no longer a member. An unknown desk, a missing id, no token.
    again = {"csrf_token": token, "staff_id": leaver.id}
    assert admin.post("/staff/admin/desks/anticorruption/remove", data=again).status_code == 404
    assert admin.post("/staff/admin/desks/nowhere/remove", data=again).status_code == 404
    missing = admin.post("/staff/admin/desks/ethics/remove", data={"csrf_token": token})
    assert missing.status_code == 400
    no_token = admin.post("/staff/admin/desks/ethics/remove", data={"staff_id": leaver.id})
    assert no_token.status_code == 400
    assert "lämnar" in members_of(deployment, "ethics")
    # Only an administrator may remove members.
    lead = signed_in(deployment, "lead", "desk_lead", ("ethics",))
    lead_token = hidden_fields(lead.get("/staff/desks/ethics/members").get_data(as_text=True))
    refused = lead.post(
        "/staff/admin/desks/ethics/remove", data={**lead_token, "staff_id": leaver.id}
    )
    assert refused.status_code == 403


def test_a_desk_lead_adds_a_member_to_their_own_desk(deployment):
    lead = signed_in(deployment, "lead", "desk_lead", ("anticorruption",))
    newcomer = add_member(deployment, "ny", "investigator", ())
    add_member(deployment, "chef", "administrator", ())
    page = lead.get("/staff/desks/anticorruption/members")
    assert page.status_code == 200
    fields = hidden_fields(page.get_data(as_text=True))

    refusals = {
        "okänd": "Det finns inget konto",
        "chef": "aldrig en gruppnyckel",
        "lead": "redan medlem",
        "": "Ange ett användarnamn",
    }
    for username, message in refusals.items():
        response = lead.post(
            "/staff/desks/anticorruption/members", data={**fields, "username": username}
        )
        assert response.status_code in (400, 409), username
        assert message in text(response), username
        assert f'value="{username}"' in response.get_data(as_text=True)
    assert "chef" not in members_of(deployment, "anticorruption")

    response = lead.post("/staff/desks/anticorruption/members", data={**fields, "username": "ny"})
    assert response.status_code == 303
    assert "ny är nu medlem" in text(lead.get("/staff/desks/anticorruption/members"))
    with deployment.engine.connect() as conn:
        key = accounts.open_desk_key(conn, "anticorruption", newcomer.id, newcomer.private_key)
    assert bytes(key) == bytes(deployment.desk_keys["anticorruption"])

    # Not a member of the ethics desk: no key to give, so no page.
    assert lead.get("/staff/desks/ethics/members").status_code == 403
    investigator = signed_in(deployment, "utredare", "investigator", ("anticorruption",))
    assert investigator.get("/staff/desks/anticorruption/members").status_code == 403
    assert investigator.get("/staff/admin").status_code == 403
