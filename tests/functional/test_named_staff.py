"""Staff named in a report are recused at intake, before the report is sealed.

The finding: `named_staff` was always empty (accounts had only user names),
so a member named in a report saw it in their inbox and could open it.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from caseflow.store.events import events_table
from tests.functional.pages import hidden_fields, submit_report
from tests.functional.staff_pages import text
from tests.functional.workspace_pages import CASE_LINK, signed_in

PERSONS = "Enhetschefen LIND, Anna och en konsult"
SECRET_PART = "konsult"


def _give_names(deployment, admin, member, display, others=""):
    page = admin.get(f"/staff/admin/accounts/{member.id}/names").get_data(as_text=True)
    return admin.post(
        f"/staff/admin/accounts/{member.id}/names",
        data={**hidden_fields(page), "display_name": display, "other_names": others},
    )


def test_a_member_named_in_a_report_never_sees_it(deployment):
    admin, _ = signed_in(deployment, "admin", "administrator", ())
    anna_client, anna = signed_in(deployment, "anna", "investigator", ("anticorruption",))
    bo_client, _ = signed_in(deployment, "bo", "investigator", ("anticorruption",))
    saved = _give_names(deployment, admin, anna, "Anna Lind", "Anna Lindqvist")
    assert saved.status_code == 303
    assert "Anna Lind" in text(admin.get("/staff/admin"))

    status, _ = submit_report(deployment.client(), persons=PERSONS)
    assert status == 200
    # Bo handles it; Anna sees nothing of it, not even its row.
    (case_id,) = CASE_LINK.findall(bo_client.get("/staff/inbox").get_data(as_text=True))
    assert case_id not in anna_client.get("/staff/inbox").get_data(as_text=True)
    assert anna_client.get(f"/staff/cases/{case_id}").status_code in (403, 404)
    # The case records who is recused, and nothing of what matched.
    with deployment.engine.connect() as conn:
        meta = json.loads(
            conn.execute(
                sa.select(events_table.c.meta).where(
                    events_table.c.stream_id == case_id, events_table.c.type == "ReportReceived"
                )
            ).scalar_one()
        )
        stored = conn.execute(sa.select(events_table.c.meta)).scalars().all()
    assert meta["named_staff"] == [anna.id]
    assert not any("Lind" in m or SECRET_PART in m for m in stored)


def test_a_report_naming_nobody_on_staff_recuses_nobody(deployment):
    admin, _ = signed_in(deployment, "admin", "administrator", ())
    anna_client, anna = signed_in(deployment, "anna", "investigator", ("anticorruption",))
    _give_names(deployment, admin, anna, "Anna Lind")
    submit_report(deployment.client(), persons="Anna Lindberg på ekonomi")
    assert CASE_LINK.findall(anna_client.get("/staff/inbox").get_data(as_text=True))


def test_when_the_whole_desk_is_named_oversight_gets_the_case(deployment):
    admin, _ = signed_in(deployment, "admin", "administrator", ())
    anna_client, anna = signed_in(deployment, "anna", "investigator", ("anticorruption",))
    watcher, _ = signed_in(deployment, "tilda", "oversight", ("oversight",))
    _give_names(deployment, admin, anna, "Anna Lind")
    submit_report(deployment.client(), persons="Anna Lind")
    assert not CASE_LINK.findall(anna_client.get("/staff/inbox").get_data(as_text=True))
    (case_id,) = CASE_LINK.findall(watcher.get("/staff/inbox").get_data(as_text=True))
    assert watcher.get(f"/staff/cases/{case_id}").status_code == 200  # and can open it


def test_a_bad_names_form_comes_back_with_what_was_typed(deployment):
    admin, _ = signed_in(deployment, "admin", "administrator", ())
    _, anna = signed_in(deployment, "anna", "investigator", ("anticorruption",))
    refused = _give_names(deployment, admin, anna, "Anna Lind", "A\nAnna Lindqvist")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'value="Anna Lind"' in page and "Anna Lindqvist</textarea>" in page
    assert "minst två bokstäver" in page
    assert admin.get("/staff/admin/accounts/nobody/names").status_code == 404


def test_add_user_takes_the_names(deployment):
    password = deployment.settings.data_dir / "pw"
    password.parent.mkdir(parents=True, exist_ok=True)
    password.write_text("ett långt lösenord\n", encoding="utf-8")
    result = deployment.cli(
        *("add-user", "cecilia", "--role", "investigator", "--password-file", password),
        *("--display-name", "Cecilia Holm", "--other-name", "Cissi Holm"),
    )
    assert result.exit_code == 0, result.output
    from identity.accounts import staff_names

    with deployment.engine.connect() as conn:
        assert ("Cecilia Holm", "Cissi Holm") in staff_names(conn).values()
    bad = deployment.cli(
        *("add-user", "dan", "--role", "investigator", "--password-file", password),
        *("--display-name", "D"),
    )
    assert bad.exit_code != 0 and "two letters" in bad.output
