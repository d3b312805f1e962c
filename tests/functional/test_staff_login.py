"""Staff sign-in: password, second factor, sessions, throttling, logout, password change."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app import create_app
from caseflow.store.records import staff_sessions_table
from identity import accounts
from tests.functional.staff_pages import (
    add_member,
    enrol,
    next_code,
    post_form,
    sign_in,
    text,
)

COOKIE = "__Host-vp_staff"


def _enrolled(deployment, **kwargs):
    member = add_member(deployment, **kwargs)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    totp, codes, _ = enrol(client)
    client.post("/staff/logout", data=_logout_fields(client))
    return member, totp, codes


def _logout_fields(client):
    from tests.functional.pages import hidden_fields

    return hidden_fields(client.get("/staff/").get_data(as_text=True))


def test_first_sign_in_enrols_then_password_and_totp_sign_in(deployment):
    member = add_member(deployment, username="anna", role="investigator")
    client = deployment.client()
    response = sign_in(client, "anna", member.password)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/enrol"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie

    # Before the second factor, no workspace page opens.
    assert client.get("/staff/").headers["Location"] == "/staff/login/code"
    assert client.get("/staff/password").status_code == 303

    enrol_page = client.get("/staff/enrol")
    page = enrol_page.get_data(as_text=True)
    assert "<svg" in page and "<path" in page  # the QR code, drawn on the server
    assert "<script" not in page and " style=" not in page and "<img" not in page
    assert "default-src 'none'" in enrol_page.headers["Content-Security-Policy"]

    totp, codes, response = enrol(client)
    assert response.status_code == 200
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "endast denna gång" in text(response) or "only this once" in text(response)
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "anna" in text(home) and "Antikorruptionsgruppen" in text(home)

    logout = client.post("/staff/logout", data=_logout_fields(client))
    assert logout.status_code == 303
    assert logout.headers["Clear-Site-Data"] == '"cookies", "storage", "cache"'
    assert client.get("/staff/").headers["Location"] == "/staff/login"

    response = sign_in(client, "anna", member.password)
    assert response.headers["Location"] == "/staff/login/code"
    response = post_form(client, "/staff/login/code", code=next_code(totp))
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_totp_code_is_accepted_once(deployment):
    member, totp, _codes = _enrolled(deployment)
    code = next_code(totp)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    assert post_form(client, "/staff/login/code", code=code).status_code == 303

    other = deployment.client()
    sign_in(other, member.username, member.password)
    again = post_form(other, "/staff/login/code", code=code)
    assert again.status_code == 400
    assert other.get("/staff/").status_code == 303  # still not signed in


def test_a_recovery_code_works_once(deployment):
    member, _totp, codes = _enrolled(deployment)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    # Typed in lower case with spaces: still the code.
    typed = codes[3].lower().replace("-", " ")
    assert post_form(client, "/staff/login/code", code=typed).status_code == 303
    assert "9" in text(client.get("/staff/"))  # nine codes left

    other = deployment.client()
    sign_in(other, member.username, member.password)
    assert post_form(other, "/staff/login/code", code=codes[3]).status_code == 400


def _without_csrf(body: str) -> str:
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", body)


def test_wrong_password_and_unknown_user_get_the_same_answer(deployment):
    add_member(deployment, username="anna")
    client = deployment.client()
    wrong = sign_in(client, "anna", "not the password at all")
    unknown = sign_in(client, "nobody", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    assert _without_csrf(wrong.get_data(as_text=True).replace("anna", "X")) == _without_csrf(
        unknown.get_data(as_text=True).replace("nobody", "X")
    )
    assert "Fel användarnamn eller lösenord." in text(wrong)
    assert 'value="anna"' in wrong.get_data(as_text=True)  # what was typed comes back
    assert "not the password" not in wrong.get_data(as_text=True)  # the password does not


def test_five_failures_lock_the_name_even_for_the_right_password(deployment):
    member = add_member(deployment, username="anna")
    client = deployment.client()
    for _ in range(4):
        assert sign_in(client, "anna", "wrong password here").status_code == 400
    locked = sign_in(client, "anna", "wrong password here")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "För många misslyckade försök" in text(locked)
    assert sign_in(client, "anna", member.password).status_code == 429

    # An unknown name locks just the same: the lock tells nothing either.
    for _ in range(5):
        response = sign_in(client, "ghost", "wrong password here")
    assert response.status_code == 429


def test_an_idle_session_expires(deployment):
    member, totp, _codes = _enrolled(deployment)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    post_form(client, "/staff/login/code", code=next_code(totp))
    assert client.get("/staff/").status_code == 200
    with deployment.engine.begin() as conn:
        conn.execute(
            sa.update(staff_sessions_table).values(
                last_seen_at=staff_sessions_table.c.last_seen_at - 31 * 60
            )
        )
    response = client.get("/staff/")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/login"
    with deployment.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(staff_sessions_table)).scalar() == 0
        )


def test_after_logout_the_old_cookie_opens_nothing(deployment):
    member, totp, _codes = _enrolled(deployment)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    post_form(client, "/staff/login/code", code=next_code(totp))
    token = client.get_cookie(COOKIE).value
    client.post("/staff/logout", data=_logout_fields(client))
    replay = deployment.client()
    replay.set_cookie(COOKIE, token, secure=True)
    response = replay.get("/staff/")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/login"


def test_a_session_from_one_instance_works_on_another(deployment):
    member, totp, _codes = _enrolled(deployment)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    post_form(client, "/staff/login/code", code=next_code(totp))
    token = client.get_cookie(COOKIE).value

    second = create_app(deployment.settings, {"TESTING": True})
    try:
        second.test_client_class = type(client)
        other = second.test_client()
        other.set_cookie(COOKIE, token, secure=True)
        response = other.get("/staff/")
        assert response.status_code == 200
        assert member.username in text(response)
    finally:
        second.extensions["visselpipa.engine"].dispose()


def test_change_password_then_sign_in_with_it_and_the_desk_key_still_opens(deployment):
    member, totp, _codes = _enrolled(deployment)
    client = deployment.client()
    sign_in(client, member.username, member.password)
    post_form(client, "/staff/login/code", code=next_code(totp))

    mismatch = post_form(
        client,
        "/staff/password",
        current=member.password,
        new="ett nytt långt lösen",
        confirm="ett annat långt lösen",
    )
    assert mismatch.status_code == 400 and "De två nya lösenorden skiljer sig åt." in text(mismatch)
    response = post_form(
        client,
        "/staff/password",
        current=member.password,
        new="ett nytt långt lösen",
        confirm="ett nytt långt lösen",
    )
    assert response.status_code == 303

    assert sign_in(deployment.client(), member.username, member.password).status_code == 400
    auth = deployment.app.extensions["visselpipa.staff_auth"]
    signed_in = auth.authenticate(member.username, "ett nytt långt lösen")
    with deployment.engine.connect() as conn:
        desk_key = accounts.open_desk_key(conn, "anticorruption", member.id, signed_in.private_key)
    assert bytes(desk_key) == bytes(deployment.desk_keys["anticorruption"])


def test_a_role_the_view_does_not_allow_gets_403(deployment):
    from app.staff_access import require_staff

    member, totp, _codes = _enrolled(deployment, username="revisor", role="auditor", desks=())

    @require_staff("investigator", "desk_lead")
    def only_investigators() -> str:
        return "case list"

    app = create_app(deployment.settings, {"TESTING": True})
    app.add_url_rule("/staff/only-investigators", view_func=only_investigators)
    app.test_client_class = type(deployment.client())
    try:
        client = app.test_client()
        sign_in(client, member.username, member.password)
        post_form(client, "/staff/login/code", code=next_code(totp))
        assert client.get("/staff/").status_code == 200
        assert client.get("/staff/only-investigators").status_code == 403
    finally:
        app.extensions["visselpipa.engine"].dispose()
