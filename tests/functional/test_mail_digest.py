"""The daily mail to staff, against a real SMTP server (aiosmtpd) started here.

A member who switched mail on gets one mail a day, from the fixed hour on,
saying how many items of each kind wait and where the inbox is; the subject
is the same for every mail, and not one byte of a case, its category, its
agency, the receipt or anything the reporter wrote reaches the server.
"""

from __future__ import annotations

import quopri
import re
import threading
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import CliRunner

from app import create_app
from app.cli import main
from app.mail import SUBJECT, send_digests
from caseflow.clock import STOCKHOLM, system_clock
from caseflow.domain.commands import Assign, DeclareConflict
from caseflow.service.cases import CaseService, Step
from caseflow.service.intake import Intake, Report
from caseflow.store import create_engine, migrate
from identity import accounts
from identity.bootstrap import bootstrap
from tests.functional.conftest import Deployment, cli_env, make_settings
from tests.functional.mail_server import free_port, smtp_server
from tests.functional.staff_pages import Member, add_member

# ASCII, so that neither quoted-printable nor base64 could hide them on the wire.
MARKERS = ("MARKER-WHAT-7f3a", "MARKER-WHEN-19c2", "MARKER-WHERE-5e88", "MARKER-WHO-a0d1")
ANSWER = "MARKER-ANSWER-33b9"
CONTACT = "marker-contact-c4e2@example.org"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailing(database_url: str, tmp_path: Any, port: int) -> Any:
    """A deployment whose mail goes to 127.0.0.1:``port``, and the environment of its CLI."""
    mail = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "mail_from": "visselpipa@myndighet.example",
        "base_url": "https://visselpipa.myndighet.example",
    }
    settings = make_settings(database_url, tmp_path / "data", **mail)
    engine = create_engine(settings.database_url)
    migrate(engine)
    boot = bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    env = {
        **cli_env(database_url, tmp_path / "data"),
        "VISSELPIPA_SECRET_KEY": settings.secret_key,
        "VISSELPIPA_TENANT_SALT": settings.tenant_salt.hex(),
        "VISSELPIPA_SIGNING_SEED": settings.signing_seed.hex(),
        **{f"VISSELPIPA_{k.upper()}": str(v) for k, v in mail.items()},
    }
    try:
        yield Deployment(app, settings, engine, boot.created_desks), env
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


def wants_mail(deployment: Deployment, member: Member, on: bool = True) -> str:
    address = f"{member.username}@myndighet.example"
    with deployment.engine.begin() as conn:
        accounts.set_mail_choice(conn, member.id, accounts.MailChoice(address, on))
    return address


def tick(env: dict[str, str], when: datetime) -> Any:
    result = CliRunner().invoke(main, ["tick", "--now", when.isoformat()], env=env)
    assert result.exit_code == 0, result.output
    return result


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM)


def english(mail: EmailMessage) -> list[str]:
    """The lines of the English half that count something."""
    body = mail.get_content()
    half = body[body.rindex("Something needs you in Visselpipa:") :]
    return [line for line in half.splitlines() if line.startswith("- ")]


def only(received: Any, address: str) -> EmailMessage:
    mails = received.to(address)
    assert len(mails) == 1, f"{address} got {len(mails)} mails"
    return mails[0]


def report(deployment: Deployment, category: str = "bribery") -> tuple[str, str]:
    """A report full of marker strings; (case id, receipt)."""
    intake = Intake(
        deployment.engine,
        deployment.settings,
        CaseService(deployment.engine, deployment.settings.rules),
    )
    submission = intake.begin()
    receipt = intake.submit(
        submission,
        Report(
            category=category,
            agency="tullverket",
            what=MARKERS[0],
            when=MARKERS[1],
            where=MARKERS[2],
            persons=MARKERS[3],
            contact=CONTACT,
        ),
    )
    return submission.case_id, str(receipt)


def reporter_answers(deployment: Deployment, receipt: str) -> None:
    intake = Intake(
        deployment.engine,
        deployment.settings,
        CaseService(deployment.engine, deployment.settings.rules),
    )
    access = intake.open_case(receipt)
    assert access is not None
    intake.add_message(access, ANSWER)


def assign(deployment: Deployment, case_id: str, member: Member) -> None:
    CaseService(deployment.engine, deployment.settings.rules).execute(
        case_id, [Step(Assign(case_id=case_id, actor=member.id, assignee=member.id))]
    )


def test_one_digest_a_day_from_the_fixed_hour_counting_each_kind(mailing, port):
    deployment, env = mailing
    anna = add_member(deployment, "anna", "investigator", ("anticorruption",))
    leda = add_member(deployment, "leda", "desk_lead", ("anticorruption",))
    tove = add_member(deployment, "tove", "oversight", ("oversight",))
    etik = add_member(deployment, "etik", "committee_member", ("ethics",))
    tyst = add_member(deployment, "tyst", "investigator", ("anticorruption",))
    to = {m.username: wants_mail(deployment, m) for m in (anna, leda, tove, etik)}
    wants_mail(deployment, tyst, on=False)  # an address, but mail switched off

    first, first_receipt = report(deployment)
    second, second_receipt = report(deployment)
    ethics_case, _ = report(deployment, "partisan_bias")
    assign(deployment, first, anna)
    reporter_answers(deployment, first_receipt)
    reporter_answers(deployment, second_receipt)
    received_on = system_clock().date()

    with smtp_server(port) as server:
        # Before the hour: nothing, however often the timer fires.
        early = tick(env, at(received_on + timedelta(days=1), 6, 59))
        assert "digest" not in early.output
        assert server.mails == []

        day1 = at(received_on + timedelta(days=1), 7, 0)
        sent = tick(env, day1)
        assert "3 digest mails sent" in sent.output
        # anna: both new cases; the answer on her own case and on the
        # unassigned one. leda: the new cases and the unassigned answer.
        assert english(only(server, to["anna"])) == [
            "- 2 new cases on your desk",
            "- 2 cases where the reporter answered",
        ]
        assert english(only(server, to["leda"])) == [
            "- 2 new cases on your desk",
            "- 1 case where the reporter answered",
        ]
        assert english(only(server, to["etik"])) == ["- 1 new case on your desk"]
        # Oversight heard of nothing yet; the member who switched off, nothing.
        assert "tove" not in " ".join(r for _, rs, _ in server.mails for r in rs)
        assert not server.to("tyst@myndighet.example")
        assert "tove" not in to["anna"]

        # The next ticks of the day send nothing again.
        for minutes in (5, 10):
            again = tick(env, day1 + timedelta(minutes=minutes))
            assert "digest" not in again.output
        assert len(server.mails) == 3
        server.clear()

        # Five days on: the acknowledgement deadline (7 days) is within two days.
        tick(env, at(received_on + timedelta(days=5), 7, 1))
        due = (received_on + timedelta(days=7)).isoformat()
        assert english(only(server, to["anna"])) == [
            f"- 2 cases with a deadline on or before {due}"
        ]
        assert due in english(only(server, to["leda"]))[0]
        assert english(only(server, to["leda"]))[0].startswith("- 1 case with")
        server.clear()

        # Eight days on: missed, and escalated to the assignee (or the desk).
        tick(env, at(received_on + timedelta(days=8), 7, 0))
        assert english(only(server, to["anna"])) == [
            "- 2 cases past their deadline",
            "- 2 missed deadlines escalated to you",
        ]
        assert english(only(server, to["leda"])) == [
            "- 1 case past its deadline",
            "- 1 missed deadline escalated to you",
        ]
        server.clear()

        # Eleven days on: up the ladder to the desk's lead; eighteen: oversight.
        tick(env, at(received_on + timedelta(days=11), 7, 0))
        assert english(only(server, to["leda"])) == [
            "- 1 case past its deadline",
            "- 2 missed deadlines escalated to you",
        ]
        assert english(only(server, to["anna"])) == ["- 2 cases past their deadline"]
        server.clear()
        tick(env, at(received_on + timedelta(days=18), 7, 0))
        assert "- 3 missed deadlines escalated to you" in english(only(server, to["tove"]))

        # Every mail had the one subject, the inbox link, and both languages.
        mails = [m for _, _, m in server.mails]
    for mail in mails:
        assert mail["Subject"] == SUBJECT
        body = mail.get_content()
        assert "https://visselpipa.myndighet.example/staff/inbox" in body
        assert "Något väntar på dig i Visselpipa" in body


def test_nothing_of_a_case_or_its_reporter_reaches_the_smtp_server(mailing, port):
    deployment, env = mailing
    anna = add_member(deployment, "anna", "investigator", ("anticorruption",))
    wants_mail(deployment, anna)
    case_id, receipt = report(deployment)
    reporter_answers(deployment, receipt)
    with smtp_server(port) as server:
        tick(env, at(system_clock().date() + timedelta(days=8), 7, 0))
        assert len(server.mails) == 1
        raw = bytes(server.raw)
        contents = [m.as_string() + m.get_content() for _, _, m in server.mails]
    assert b"data" in raw.lower() and b"anna@myndighet.example" in raw  # the whole dialogue
    category = deployment.settings.category("bribery")
    agency = next(a for a in deployment.settings.agencies if a.id == "tullverket")
    secrets = [
        *MARKERS,
        ANSWER,
        CONTACT,
        case_id,
        case_id[:8],
        receipt,
        receipt.replace("-", ""),
        category.id,
        category.sv,
        category.en,
        agency.id,
        agency.sv,
        agency.en,
    ]
    seen = [
        raw.decode("utf-8", "replace"),
        quopri.decodestring(raw).decode("utf-8", "replace"),
        *contents,
    ]
    for secret in secrets:
        assert secret.encode() not in raw, secret
        for text in seen:
            assert secret.casefold() not in text.casefold(), secret


def test_an_smtp_server_that_is_down_fails_no_other_work_and_is_retried(mailing, port):
    deployment, env = mailing
    anna = add_member(deployment, "anna", "investigator", ("anticorruption",))
    address = wants_mail(deployment, anna)
    report(deployment)
    day = at(system_clock().date() + timedelta(days=1), 7, 0)

    # Nothing listens on the port: the tick still does its work and exits 0.
    down = tick(env, day)
    assert "checkpoint signed" in down.output
    assert "PROBLEM: the mail digest of" in down.output
    checked = CliRunner().invoke(main, ["check"], env=env)
    assert checked.exit_code == 1
    assert "mail digest" in checked.output and "not delivered" in checked.output
    # With mail switched off nothing is retried, and check has nothing to say of it.
    without_mail = {**env, "VISSELPIPA_SMTP_HOST": ""}
    assert "mail digest" not in CliRunner().invoke(main, ["check"], env=without_mail).output

    with smtp_server(port) as server:
        retried = tick(env, day + timedelta(minutes=5))
        assert "1 digest mails sent" in retried.output
        assert english(only(server, address)) == ["- 1 new case on your desk"]
        tick(env, day + timedelta(minutes=10))
        assert len(server.mails) == 1
    healthy = CliRunner().invoke(main, ["check"], env=env)
    assert healthy.exit_code == 0, healthy.output


def test_concurrent_ticks_send_each_mail_once(mailing, port):
    deployment, _ = mailing
    members = [
        add_member(deployment, f"m{i}", "investigator", ("anticorruption",)) for i in range(3)
    ]
    addresses = [wants_mail(deployment, m) for m in members]
    report(deployment)
    now = at(system_clock().date() + timedelta(days=1), 7, 30)
    with smtp_server(port) as server:
        errors: list[BaseException] = []

        def run() -> None:
            engine = create_engine(deployment.settings.database_url)
            try:
                send_digests(engine, deployment.settings.mail, now)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
            finally:
                engine.dispose()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        for address in addresses:
            assert len(server.to(address)) == 1


def test_mail_switched_off_after_the_digest_was_made_is_not_sent(mailing, port):
    deployment, env = mailing
    anna = add_member(deployment, "anna", "investigator", ("anticorruption",))
    wants_mail(deployment, anna)
    report(deployment)
    day = at(system_clock().date() + timedelta(days=1), 7, 0)
    tick(env, day)  # the server is down: the digest is made, not delivered
    wants_mail(deployment, anna, on=False)
    with smtp_server(port) as server:
        tick(env, day + timedelta(minutes=5))
        assert server.mails == []


def test_the_digest_text_has_no_placeholder_left_in_swedish():
    from app.mail import compose
    from config.settings import Mail

    mail = Mail(smtp_host="127.0.0.1", mail_from="v@x.example", base_url="https://x.example")
    counts = {
        "new_cases": 1,
        "answers": 2,
        "deadlines_soon": 1,
        "deadlines_missed": 2,
        "escalations": 1,
    }
    body = compose(mail, "a@x.example", counts, date(2026, 12, 3)).get_content()
    swedish = body[: body.rindex("Something needs you in Visselpipa:")]
    assert "%(" not in body
    assert re.search(r"- 1 nytt ärende", swedish), swedish
    assert "2026-12-05" in swedish


def test_a_member_recused_from_a_case_is_never_counted_for_it(mailing, port):
    deployment, env = mailing
    anna = add_member(deployment, "anna", "investigator", ("anticorruption",))
    bo = add_member(deployment, "bo", "investigator", ("anticorruption",))
    to_anna, to_bo = wants_mail(deployment, anna), wants_mail(deployment, bo)
    recused_from, receipt = report(deployment)
    report(deployment)
    CaseService(deployment.engine, deployment.settings.rules).execute(
        recused_from,
        [
            Step(
                DeclareConflict(
                    case_id=recused_from,
                    actor=bo.id,
                    staff_id=bo.id,
                    reason="my brother-in-law",
                    desk_members=frozenset({anna.id, bo.id}),
                )
            )
        ],
    )
    reporter_answers(deployment, receipt)
    with smtp_server(port) as server:
        tick(env, at(system_clock().date() + timedelta(days=1), 7, 0))
        assert english(only(server, to_anna)) == [
            "- 2 new cases on your desk",
            "- 1 case where the reporter answered",
        ]
        assert english(only(server, to_bo)) == ["- 1 new case on your desk"]
