"""Every duty the workflow has can be done from the product: referral, legal holds, all of it."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from caseflow.domain import TABLE, CommandKind
from caseflow.store import events_table
from caseflow.store.records import grants_table
from tests.functional.pages import open_status, receipt_from, submit_report, text_of
from tests.functional.workspace_pages import act, offered, signed_in

REPORT = "Chefen lät sin brors firma vinna upphandlingen av städtjänster trots högre pris."

#: Commands the reporter gives on /report and /status, and the one that time gives.
BY_REPORTER = {
    CommandKind.RECEIVE: "/report",
    CommandKind.ADD_REPORTER_MESSAGE: "/status/message",
    CommandKind.ADD_REPORTER_FILE: "/status/files",
    CommandKind.WITHDRAW: "/status/withdraw",
}
BY_TICK = {CommandKind.SHRED}  # retention, run by `visselpipa tick`
#: Given when a member is removed from a desk (admin page, `remove-desk-member`).
BY_HANDOVER = {CommandKind.UNASSIGN}


def test_every_command_of_the_transition_table_can_be_given_from_the_product(deployment):
    from app.workspace import ACTION_FORMS
    from caseflow.service.workspace import STAFF_KINDS

    routes = {rule.rule for rule in deployment.app.url_map.iter_rules()}
    for kind in {row.command for row in TABLE}:
        if kind in BY_REPORTER:
            assert BY_REPORTER[kind] in routes, kind
        elif kind not in BY_TICK | BY_HANDOVER:
            assert kind in ACTION_FORMS, f"{kind} has no form on the case page"
            assert kind in STAFF_KINDS, f"{kind} is not offered to staff"


def _report(deployment) -> tuple[str, str]:
    status, page = submit_report(deployment.client(), what=REPORT)
    assert status == 200, text_of(page)
    with deployment.engine.connect() as conn:
        case_id = conn.execute(
            sa.select(events_table.c.stream_id)
            .where(events_table.c.type == "ReportReceived")
            .order_by(events_table.c.seq.desc())
            .limit(1)
        ).scalar_one()
    return case_id, receipt_from(page)


def _recipients(deployment, case_id: str) -> set[str]:
    with deployment.engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(grants_table.c.recipient).where(grants_table.c.case_id == case_id)
            ).scalars()
        )


def test_a_case_referred_to_another_desk_is_theirs_to_open_and_no_longer_ours(deployment):
    case_id, receipt = _report(deployment)
    anna, _ = signed_in(deployment, "anna")
    eva, _ = signed_in(deployment, "eva", desks=("ethics",))
    assert eva.get(f"/staff/cases/{case_id}").status_code == 403  # not hers yet
    assert (
        act(anna, case_id, "acknowledge", message="Vi har tagit emot din rapport.").status_code
        == 303
    )
    response = act(anna, case_id, "refer", to="desk:ethics", reason="Gäller en chefs jäv.")
    assert response.status_code == 303

    page = eva.get(f"/staff/cases/{case_id}")
    assert page.status_code == 200
    assert REPORT in text_of(page.get_data(as_text=True))  # the ethics desk opens it
    assert anna.get(f"/staff/cases/{case_id}").status_code == 403
    assert _recipients(deployment, case_id) == {"desk:ethics", "reporter"}

    # The reporter is told who handles the case now.
    status, page = open_status(deployment.client(), receipt)
    assert "ditt ärende lämnades över till Etiknämnden" in text_of(page)


def test_referral_to_an_authority_makes_referred_an_outcome(deployment):
    case_id, receipt = _report(deployment)
    anna, _ = signed_in(deployment, "anna")
    act(anna, case_id, "acknowledge", message="Mottaget.")
    act(
        anna,
        case_id,
        "assess",
        admissible="yes",
        severity="high",
        retaliation_risk="low",
        reason="Uppgifterna är konkreta.",
    )
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert 'value="referred"' not in page.split('id="action-conclude"')[1].split("</section>")[0]

    response = act(
        anna,
        case_id,
        "refer",
        to="authority:Ekobrottsmyndigheten",
        reason="Misstänkt brott mot EU:s ekonomiska intressen.",
    )
    assert response.status_code == 303
    response = act(anna, case_id, "conclude", outcome="referred", reason="Överlämnat till EBM.")
    assert response.status_code == 303
    status, page = open_status(deployment.client(), receipt)
    assert "ditt ärende lämnades till Ekobrottsmyndigheten" in text_of(page)


def test_the_referral_form_offers_every_external_channel_of_external_toml(deployment):
    case_id, receipt = _report(deployment)
    anna, _ = signed_in(deployment, "anna")
    act(anna, case_id, "acknowledge", message="Mottaget.")
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    form = page.split('id="action-refer"')[1].split("</section>")[0]
    offered_authorities = re.findall(r'<option[^>]*value="authority:([^"]+)"', form)
    authorities = deployment.settings.authorities
    assert sorted(unescape(v) for v in offered_authorities) == sorted(a.sv for a in authorities)
    assert len(authorities) >= 36  # the ordinance's 30 and the EU's channels

    olaf = next(a for a in authorities if a.en == "European Anti-Fraud Office (OLAF)")
    response = act(
        anna, case_id, "refer", to=f"authority:{olaf.sv}", reason="Misstänkt EU-bedrägeri."
    )
    assert response.status_code == 303
    status, page = open_status(deployment.client(), receipt)
    assert f"ditt ärende lämnades till {olaf.sv}" in text_of(page)


def test_a_legal_hold_is_placed_and_released_and_an_archive_decision_stays(deployment):
    case_id, _ = _report(deployment)
    anna, _ = signed_in(deployment, "anna")
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "place_hold" in offered(page) and "release_hold" not in offered(page)
    assert act(anna, case_id, "place_hold", reason="Pågående förundersökning.").status_code == 303
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "release_hold" in offered(page) and "place_hold" not in offered(page)
    assert (
        act(anna, case_id, "release_hold", reason="Förundersökningen lades ned.").status_code == 303
    )
    assert act(anna, case_id, "place_hold", archive="y", reason="Arkivbeslut.").status_code == 303
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert not {"place_hold", "release_hold"} & offered(page)
    with deployment.engine.connect() as conn:
        types = list(
            conn.execute(
                sa.select(events_table.c.type).where(events_table.c.stream_id == case_id)
            ).scalars()
        )
    assert types.count("HoldPlaced") == 2 and types.count("HoldReleased") == 1


def test_a_recused_member_sees_nothing_of_the_case_not_even_its_inbox_row(deployment):
    from caseflow.service.projections import Projections
    from tests.functional.workspace_pages import CASE_LINK

    case_id, _ = _report(deployment)
    other_id, _ = _report(deployment)
    anna, _ = signed_in(deployment, "anna")
    bo, _ = signed_in(deployment, "bo")
    inbox = anna.get("/staff/inbox").get_data(as_text=True)
    assert {case_id, other_id} <= set(CASE_LINK.findall(inbox))
    response = act(anna, case_id, "declare_conflict", reason="Min bror äger firman.")
    assert response.status_code == 303
    inbox = anna.get("/staff/inbox").get_data(as_text=True)
    assert case_id not in inbox  # no row, no category, no deadline
    assert other_id in set(CASE_LINK.findall(inbox))
    assert anna.get(f"/staff/cases/{case_id}").status_code == 403
    assert case_id in set(CASE_LINK.findall(bo.get("/staff/inbox").get_data(as_text=True)))
    # The read model is rebuilt from the log alike.
    Projections(deployment.settings.rules).rebuild(deployment.engine)
    assert case_id not in anna.get("/staff/inbox").get_data(as_text=True)


def test_a_member_who_leaves_hands_their_cases_to_the_desk_lead(deployment):
    from tests.functional.pages import hidden_fields

    case_id, receipt = _report(deployment)
    anna, anna_member = signed_in(deployment, "anna")
    lead, _ = signed_in(deployment, "lena", role="desk_lead")
    bo, bo_member = signed_in(deployment, "bo")
    assert act(anna, case_id, "assign", assignee=anna_member.id).status_code == 303
    assert "unassigned-notice" not in lead.get("/staff/inbox").get_data(as_text=True)

    admin, _ = signed_in(deployment, "admin", role="administrator", desks=())
    token = hidden_fields(admin.get("/staff/admin").get_data(as_text=True))["csrf_token"]
    response = admin.post(
        "/staff/admin/desks/anticorruption/remove",
        data={"csrf_token": token, "staff_id": anna_member.id},
    )
    assert response.status_code == 303
    told = text_of(admin.get("/staff/admin").get_data(as_text=True))
    assert "1 öppet ärende som medlemmen handlade" in told

    inbox = lead.get("/staff/inbox").get_data(as_text=True)
    assert 'id="unassigned-notice"' in inbox  # in front of the lead
    listed = lead.get("/staff/inbox?unassigned=y").get_data(as_text=True)
    assert case_id in listed and "ingen tilldelad" in text_of(listed)
    assert act(lead, case_id, "assign", assignee=bo_member.id).status_code == 303
    assert 'id="unassigned-notice"' not in lead.get("/staff/inbox").get_data(as_text=True)
    with deployment.engine.connect() as conn:
        types = list(
            conn.execute(
                sa.select(events_table.c.type)
                .where(events_table.c.stream_id == case_id)
                .order_by(events_table.c.version)
            ).scalars()
        )
    assert "CaseUnassigned" in types
