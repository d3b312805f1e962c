"""The privacy notice (``GET /privacy``) and the record of processing activities.

Both are generated from ``config/privacy.toml`` and from the settings the
deployment runs with: the retention periods printed are the ones the tick
applies and the sessions end after, not numbers written into a text.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask_babel import get_locale

from app import services
from config.settings import Settings

bp = Blueprint("privacy", __name__)

#: How long the operator's log keeps its lines (deploy/journald: MaxRetentionSec=30day).
OPERATOR_LOG_DAYS = 30


@dataclass(frozen=True)
class Period:
    """One retention period, in both languages."""

    sv: str
    en: str

    def __call__(self, locale: str) -> str:
        return self.en if locale == "en" else self.sv


def retention_periods(settings: Settings) -> tuple[Period, ...]:
    """What is kept how long, read from ``settings``."""
    d = settings.rules.deadlines
    return (
        Period(
            f"Ärenden: högst {d.retention_years} år efter att ärendet avslutats; då förstörs "
            "nycklarna (kryptografisk radering), om inte ett bevarandebeslut eller arkivbeslut "
            f"finns. Handläggarna varnas {d.retention_warning_days} dagar innan.",
            f"Cases: at most {d.retention_years} years after the case is closed; then its keys "
            "are destroyed (crypto-shredding), unless a legal hold or an archive decision is "
            f"recorded. The desk is warned {d.retention_warning_days} days before.",
        ),
        Period(
            f"Sessionen för den som följer sitt ärende: slutar efter "
            f"{settings.reporter_session_minutes} minuter utan aktivitet.",
            f"The session of a reporter following their case: ends after "
            f"{settings.reporter_session_minutes} idle minutes.",
        ),
        Period(
            f"Handläggarnas sessioner: slutar efter {settings.staff_idle_minutes} minuter utan "
            f"aktivitet och senast {settings.staff_session_hours} timmar efter inloggning.",
            f"Staff sessions: end after {settings.staff_idle_minutes} idle minutes and at the "
            f"latest {settings.staff_session_hours} hours after sign-in.",
        ),
        Period(
            f"Driftloggen (utan adresser och innehåll): {OPERATOR_LOG_DAYS} dagar.",
            f"The operator's log (no addresses, no content): {OPERATOR_LOG_DAYS} days.",
        ),
        Period(
            "Kvittokoden lagras aldrig, bara ett härlett sökvärde som inte kan räknas tillbaka.",
            "The receipt code is never stored; only a derived lookup value that cannot be "
            "turned back into it.",
        ),
    )


def _locale() -> str:
    return str(get_locale() or "sv")


@bp.get("/privacy")
def notice() -> str:
    settings = services.settings()
    return render_template(
        "privacy.html",
        notice=settings.privacy,
        periods=retention_periods(settings),
        locale=_locale(),
        channel_type=settings.channel_type.value,
    )


def processing_record(settings: Settings, locale: str = "sv") -> str:
    """The record of processing activities (GDPR art. 30.1) as plain text."""
    p = settings.privacy
    sv = locale != "en"
    heading = (
        "Register över behandling (artikel 30 i dataskyddsförordningen)"
        if sv
        else "Record of processing activities (GDPR art. 30)"
    )
    channel = {
        ("internal", True): "intern rapporteringskanal (lagen 2021:890)",
        ("internal", False): "internal reporting channel (Act 2021:890)",
        ("external", True): "extern rapporteringskanal, behörig myndighet (lagen 2021:890)",
        ("external", False): "external reporting channel, competent authority (Act 2021:890)",
    }[(settings.channel_type.value, sv)]

    def section(title_sv: str, title_en: str, lines: list[str]) -> list[str]:
        return ["", title_sv if sv else title_en, *(f"- {line}" for line in lines)]

    out = [heading, "=" * len(heading)]
    out += section("Behandling", "Processing", ["Visselpipa: " + channel])
    out += section(
        "Personuppgiftsansvarig (30.1 a)",
        "Controller (30.1 a)",
        [p.controller(locale), p.controller_contact(locale)],
    )
    out += section("Dataskyddsombud (30.1 a)", "Data-protection officer (30.1 a)", [p.dpo(locale)])
    out += section("Ändamål (30.1 b)", "Purposes (30.1 b)", [t(locale) for t in p.purposes])
    out += section("Rättslig grund", "Legal basis", [p.legal_basis(locale)])
    out += section(
        "Kategorier av registrerade och personuppgifter (30.1 c)",
        "Categories of data subjects and personal data (30.1 c)",
        [t(locale) for t in p.processed],
    )
    out += section("Mottagare (30.1 d)", "Recipients (30.1 d)", [t(locale) for t in p.recipients])
    out += section(
        "Överföring till tredje land (30.1 e)",
        "Transfers to third countries (30.1 e)",
        ["Inga." if sv else "None."],
    )
    out += section(
        "Tidsfrister för radering (30.1 f)",
        "Time limits for erasure (30.1 f)",
        [period(locale) for period in retention_periods(settings)],
    )
    out += section("Säkerhetsåtgärder (30.1 g)", "Security measures (30.1 g)", [p.security(locale)])
    out += section(
        "Begränsningar av de registrerades rättigheter",
        "Restrictions of the data subjects' rights",
        [p.restrictions(locale)],
    )
    out += ["", p.review(locale)]
    return "\n".join(out) + "\n"
