"""The daily mail to staff: how many things wait, and a link to the inbox. Nothing else.

``visselpipa tick`` calls :func:`send_digests` after its other work. From
the fixed hour of the day (``mail_digest_at``, Europe/Stockholm) the first
tick makes the day's digest (:mod:`caseflow.service.notifications`) and
sends it; later ticks find it made and send nothing. Everything goes in
this one daily mail, deadlines and escalations included: a mail sent when a
reporter acted would put the reporter's time in every mail server's log.

Every mail has the same subject and says only how many items of each kind
wait and where the inbox is: no case id, no category, no agency, nothing a
reporter wrote or is. A failing SMTP server leaves the undelivered mails for
the next tick and its error for ``visselpipa check``; it never fails the
tick's other work.

.. warning:: What the mail still tells whoever reads mail logs or the
   mailbox: that a member of staff had something waiting on that day, and
   roughly how much. SECURITY.md says so.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import sqlalchemy as sa
from babel.support import NullTranslations, Translations

from caseflow.clock import STOCKHOLM
from caseflow.service import notifications
from config.settings import Mail

#: The same for every mail, whatever it counts: a subject that named the kind
#: would tell a mail log more than that something waits.
SUBJECT = "Visselpipa: något väntar på dig / something needs you"

#: Seconds to wait for the SMTP server before the tick gives up until the next one.
SMTP_TIMEOUT = 30

_TRANSLATIONS = Path(__file__).resolve().parent / "translations"


@dataclass
class DigestRun:
    """What :func:`send_digests` did: for the tick's output."""

    made: date | None = None
    sent: int = 0
    failures: list[str] = field(default_factory=list)


def send_digests(engine: sa.Engine, mail: Mail, now: datetime) -> DigestRun:
    """Make today's digest if its hour has come, then deliver every digest not yet delivered."""
    run = DigestRun()
    if not mail.enabled:
        return run
    local = now.astimezone(STOCKHOLM)
    today = local.date()
    due = (local.hour, local.minute) >= (mail.digest_hour, mail.digest_minute)
    if due and notifications.make_digest_once(engine, today, mail.deadline_notice_days):
        run.made = today
    for day in notifications.unsent_days(engine, today):
        if not notifications.take_lease(engine, day, now):
            continue  # another tick is delivering it (or has just finished)
        failure = _deliver(engine, mail, day, run)
        notifications.finish(engine, day, failure)
        if failure is not None:
            run.failures.append(f"the mail digest of {day.isoformat()}: {failure}")
    return run


def _deliver(engine: sa.Engine, mail: Mail, day: date, run: DigestRun) -> str | None:
    recipients = notifications.pending(engine, day)
    if not recipients:
        return None
    refused: str | None = None
    try:
        with _connect(mail) as smtp:
            for recipient in recipients:
                try:
                    smtp.send_message(compose(mail, recipient.address, recipient.counts, day))
                except smtplib.SMTPRecipientsRefused as e:
                    # One bad address must not hold back the others' mail;
                    # it stays pending and is tried again at the next tick.
                    refused = _describe(e)
                    continue
                notifications.mark_sent(engine, day, recipient.staff_id)
                run.sent += 1
    except (smtplib.SMTPException, OSError) as e:
        return _describe(e)
    return refused


def _connect(mail: Mail) -> smtplib.SMTP:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if mail.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(
            mail.smtp_host, mail.smtp_port, timeout=SMTP_TIMEOUT, context=context
        )
    else:
        smtp = smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=SMTP_TIMEOUT)
        if mail.smtp_security == "starttls":
            smtp.starttls(context=context)
    if mail.smtp_user:
        smtp.login(mail.smtp_user, mail.smtp_password)
    return smtp


def _describe(error: Exception) -> str:
    """The error without what it may quote (a recipient's address): its type and SMTP code."""
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({c for c, _ in error.recipients.values()})
        return f"SMTPRecipientsRefused (codes {', '.join(map(str, codes))})"
    if code is not None:
        return f"{type(error).__name__} (code {code})"
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__


def compose(mail: Mail, address: str, counts: Mapping[str, int], day: date) -> EmailMessage:
    """The mail to one member: the counts in Swedish, then in English, and the inbox link.

    ``day`` is the digest's: the deadlines it counts are due by ``day`` plus
    the notice days.
    """
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["From"] = mail.mail_from
    message["To"] = address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mail.mail_from.rpartition("@")[2] or None)
    inbox = f"{mail.base_url}/staff/inbox"
    until = (day + timedelta(days=mail.deadline_notice_days)).isoformat()
    parts = [
        _body(_translations("sv"), counts, inbox, until),
        _body(NullTranslations(), counts, inbox, until),
    ]
    message.set_content("\n\n-- \n\n".join(parts) + "\n")
    return message


def _translations(locale: str) -> NullTranslations:
    return Translations.load(str(_TRANSLATIONS), [locale])


def _body(t: NullTranslations, counts: Mapping[str, int], inbox: str, until: str) -> str:
    lines = [t.gettext("Something needs you in Visselpipa:"), ""]
    n = counts.get("new_cases", 0)
    if n:
        lines.append(
            "- "
            + t.ngettext("%(num)d new case on your desk", "%(num)d new cases on your desk", n)
            % {"num": n}
        )
    n = counts.get("answers", 0)
    if n:
        lines.append(
            "- "
            + t.ngettext(
                "%(num)d case where the reporter answered",
                "%(num)d cases where the reporter answered",
                n,
            )
            % {"num": n}
        )
    n = counts.get("deadlines_soon", 0)
    if n:
        lines.append(
            "- "
            + t.ngettext(
                "%(num)d case with a deadline on or before %(date)s",
                "%(num)d cases with a deadline on or before %(date)s",
                n,
            )
            % {"num": n, "date": until}
        )
    n = counts.get("deadlines_missed", 0)
    if n:
        lines.append(
            "- "
            + t.ngettext("%(num)d case past its deadline", "%(num)d cases past their deadline", n)
            % {"num": n}
        )
    n = counts.get("escalations", 0)
    if n:
        lines.append(
            "- "
            + t.ngettext(
                "%(num)d missed deadline escalated to you",
                "%(num)d missed deadlines escalated to you",
                n,
            )
            % {"num": n}
        )
    lines += [
        "",
        t.gettext("Open the inbox: %(url)s") % {"url": inbox},
        "",
        t.gettext(
            "This mail says only how many things wait, never what. Sign in to see them. "
            "You can switch these mails off on the page Notifications in the workspace."
        ),
    ]
    return "\n".join(lines)
