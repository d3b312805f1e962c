"""Oversight and statistics pages: deadlines, escalations and figures, never content.

Nothing here opens a case key or reads a sealed body: the pages are built
from the projections and the plaintext event metadata
(:mod:`reporting.statistics`). A case is a reference; it becomes a
link to the case page only when the oversight desk itself holds a grant for
it (a case routed to oversight) and the viewer is a member of that desk.

Who may open what (``require_staff`` answers 403 to everyone else):

=====================  ============  =========  ================  =========  =============  =======
page                   investigator  desk_lead  committee_member  oversight  administrator  auditor
=====================  ============  =========  ================  =========  =============  =======
/staff/oversight       403           403        403               yes        403            yes
/staff/statistics      403           yes        yes               yes        403            yes
/staff/statistics.csv  403           yes        yes               yes        403            yes
=====================  ============  =========  ================  =========  =============  =======

Administrators manage accounts and see no case-derived figures at all:
keeping them off the statistics keeps the separation of duties simple.
Investigators work from their inbox.

Exact counts or "<5": the statistics page shows exact counts, because it is
an internal page for the roles that supervise the desks. Its "as published"
form, and the CSV export, show every count of 1 to 4 as "<5" and withhold
shares and medians over fewer than five cases; the bars of such counts are
not drawn, since their length would tell. That rule is per cell: what leaves
the building is the published reports (``visselpipa report``), protected
against differencing across a year (docs/reports.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import NumberRange, Optional, Regexp, ValidationError

from app import services
from app.paging import paged
from app.staff_access import require_staff
from app.words import DEADLINE_TEXT, STATUS_TEXT
from caseflow.domain.dates import STOCKHOLM, add_months
from identity.roles import OVERSIGHT_ROLES, STATISTICS_ROLES
from reporting.statistics import (
    MAX_MONTHS,
    SUPPRESSED,
    Breakdown,
    Figures,
    Statistics,
    Tally,
    cases_granted_to,
    export_csv,
    month_label,
    months_between,
    overview,
    suppress,
)

bp = Blueprint("oversight", __name__, url_prefix="/staff")


OUTCOME_TEXT = {
    "substantiated": _l("Substantiated"),
    "not_substantiated": _l("Not substantiated"),
    "referred": _l("Referred to an authority"),
    "no_further_action": _l("No further action"),
    "rejected": _l("Rejected at assessment"),
    "withdrawn": _l("Withdrawn by the reporter"),
}
LEVEL_TEXT = {
    "assignee": _l("Case handler"),
    "desk_lead": _l("Desk lead"),
    "oversight": _l("Oversight"),
}
RECOMMENDATION_TEXT = {
    "implemented": _l("Implemented"),
    "overdue": _l("Overdue"),
    "open": _l("Open, not yet due"),
}


def _today() -> date:
    # The case service's clock: the one place the app reads the time.
    clock = current_app.extensions["visselpipa.cases"].clock
    today: date = clock().astimezone(STOCKHOLM).date()
    return today


def _locale() -> str:
    return str(get_locale() or "sv")


def _labels() -> dict[str, dict[str, str]]:
    settings = services.settings()
    locale = _locale()
    return {
        "category": {c.id: c.label(locale) for c in settings.categories},
        "desk": {d.id: d.label(locale) for d in settings.desks},
        "agency": {a.id: a.label(locale) for a in settings.agencies},
    }


# -- oversight --------------------------------------------------------------------


class OversightPagesForm(FlaskForm):
    """Which page of the escalated and of the overdue list (a GET form: nothing changes)."""

    class Meta:
        csrf = False  # a GET that only reads: no token, and the URL can be shared

    escalated_page = IntegerField(
        _l("Page of the escalated cases"),
        validators=[Optional(), NumberRange(min=1, message=_l("Give a page number from 1."))],
    )
    overdue_page = IntegerField(
        _l("Page of the overdue cases"),
        validators=[Optional(), NumberRange(min=1, message=_l("Give a page number from 1."))],
    )


@bp.get("/oversight")
@require_staff(*OVERSIGHT_ROLES)
def overview_page() -> str | tuple[str, int]:
    settings = services.settings()
    today = _today()
    form = OversightPagesForm(formdata=request.args or None)
    valid = not request.args or form.validate()
    view = overview(
        services.engine(),
        settings.rules,
        today,
        desks=[d.id for d in settings.desks],
        escalated_page=(form.escalated_page.data or 1) if valid else 1,
        overdue_page=(form.overdue_page.data or 1) if valid else 1,
    )
    oversight_desk = settings.rules.routing.oversight_desk
    linkable: set[str] = set()
    if oversight_desk in g.staff.desks:
        shown = [c.case_id for c in (*view.escalated, *view.overdue)]
        linkable = cases_granted_to(services.engine(), oversight_desk, shown)
    args = {k: v for k, v in request.args.items() if v} if valid else {}
    page = render_template(
        "staff/oversight.html",
        view=view,
        linkable=linkable,
        labels=_labels(),
        state_text=STATUS_TEXT,
        level_text=LEVEL_TEXT,
        deadline_text=DEADLINE_TEXT,
        escalated_paging=paged(view.escalated_page, view.escalated_total, view.page_size)[0],
        overdue_paging=paged(view.overdue_page, view.overdue_total, view.page_size)[0],
        escalated_args={k: v for k, v in args.items() if k != "escalated_page"},
        overdue_args={k: v for k, v in args.items() if k != "overdue_page"},
        notice=None if valid else _("That page does not exist. The first pages are shown."),
    )
    return page if valid else (page, 400)


# -- statistics -------------------------------------------------------------------

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class RangeForm(FlaskForm):
    """The month range of the statistics page (a GET form: nothing changes)."""

    class Meta:
        csrf = False  # a GET that only reads: no token, and the URL can be shared

    first = StringField(
        _l("From month"),
        validators=[
            Optional(),
            Regexp(MONTH_PATTERN, message=_l("Write the month as YYYY-MM, e.g. 2026-03.")),
        ],
    )
    last = StringField(
        _l("To month"),
        validators=[
            Optional(),
            Regexp(MONTH_PATTERN, message=_l("Write the month as YYYY-MM, e.g. 2026-03.")),
        ],
    )
    published = BooleanField(_l("Show as published (counts under 5 hidden)"))

    def validate_last(self, field: StringField) -> None:
        first, last = _month(self.first.data), _month(field.data)
        if first is None or last is None:
            return
        if last < first:
            raise ValidationError(_l("The last month comes before the first."))
        if len(months_between(first, last)) > MAX_MONTHS:
            raise ValidationError(
                _l("Choose at most %(months)d months at a time.", months=MAX_MONTHS)
            )

    def validate_first(self, field: StringField) -> None:
        month = _month(field.data)
        if month is not None and not 2000 <= month.year <= 2100:
            raise ValidationError(_l("Choose a month between 2000 and 2100."))

    def months(self, today: date) -> tuple[date, date]:
        """The chosen range; the twelve months up to ``today``'s by default."""
        last = _month(self.last.data) or today.replace(day=1)
        first = _month(self.first.data) or add_months(last, -11)
        return first, last


def _month(text: str | None) -> date | None:
    if not text:
        return None
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        return None


@dataclass(frozen=True)
class Bar:
    label: str
    width: float
    shown: str


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart, drawn by staff/_chart.html as inline SVG."""

    id: str
    title: str
    bars: tuple[Bar, ...]

    @property
    def height(self) -> int:
        return 24 * len(self.bars) + 8


BAR_MAX = 300.0


def _chart(chart_id: str, title: str, items: list[tuple[str, int]], published: bool) -> Chart:
    top = max((value for _, value in items), default=0)
    bars = []
    for label, value in items:
        hidden = published and suppress(value) == SUPPRESSED
        # A suppressed count gets no bar: its length would give the count away.
        width = 0.0 if hidden or not top else round(value / top * BAR_MAX, 1)
        bars.append(Bar(label, width, suppress(value) if published else str(value)))
    return Chart(chart_id, title, tuple(bars))


def _breakdown_by_column(table: Breakdown, names: dict[str, str]) -> list[tuple[str, int]]:
    return [(names.get(c, c), table.column_total(c)) for c in table.columns]


def _tally_items(table: Tally, names: dict[str, object]) -> list[tuple[str, int]]:
    return [(str(names.get(k, k)), v) for k, v in table.items()]


def _charts(figures: Figures, published: bool) -> dict[str, Chart]:
    labels = _labels()
    months = [(m, figures.received_by_category.row_total(m)) for m in figures.months]
    return {
        "months": _chart("chart-months", _("Reports received per month"), months, published),
        "categories": _chart(
            "chart-categories",
            _("Reports received by category"),
            _breakdown_by_column(figures.received_by_category, labels["category"]),
            published,
        ),
        "desks": _chart(
            "chart-desks",
            _("Reports received by desk"),
            _breakdown_by_column(figures.received_by_desk, labels["desk"]),
            published,
        ),
        "outcomes": _chart(
            "chart-outcomes",
            _("Cases closed, by outcome"),
            _tally_items(figures.outcomes, dict(OUTCOME_TEXT)),
            published,
        ),
        "recommendations": _chart(
            "chart-recommendations",
            _("Recommendations issued"),
            _tally_items(figures.recommendations, dict(RECOMMENDATION_TEXT)),
            published,
        ),
        "escalations": _chart(
            "chart-escalations",
            _("Escalations, by level"),
            _tally_items(figures.escalations, dict(LEVEL_TEXT)),
            published,
        ),
    }


def _statistics() -> Statistics:
    settings = services.settings()
    return Statistics(
        services.engine(),
        settings.rules,
        categories=[c.id for c in settings.categories],
        desks=[d.id for d in settings.desks],
    )


@bp.get("/statistics")
@require_staff(*STATISTICS_ROLES)
def statistics() -> str | tuple[str, int]:
    form = RangeForm(formdata=request.args)
    page = {"form": form, "suppressed_marker": SUPPRESSED}
    if request.args and not form.validate():
        notice = _("Check the months you chose.")
        return render_template("staff/statistics.html", notice=notice, **page), 400
    today = _today()
    first, last = form.months(today)
    figures = _statistics().figures(first, last, today)
    published = bool(form.published.data)

    def count(value: int) -> str:
        return suppress(value) if published else str(value)

    return render_template(
        "staff/statistics.html",
        figures=figures,
        charts=_charts(figures, published),
        published=published,
        count=count,
        first=month_label(first),
        last=month_label(last),
        labels=_labels(),
        state_text=STATUS_TEXT,
        outcome_text=OUTCOME_TEXT,
        recommendation_text=RECOMMENDATION_TEXT,
        level_text=LEVEL_TEXT,
        **page,
    )


@bp.get("/statistics.csv")
@require_staff(*STATISTICS_ROLES)
def statistics_csv() -> Response | tuple[str, int]:
    """The exported form: always with the small-cell rule applied."""
    form = RangeForm(formdata=request.args)
    if request.args and not form.validate():
        notice = _("Check the months you chose.")
        page = render_template("staff/statistics.html", form=form, notice=notice)
        return page, 400
    today = _today()
    first, last = form.months(today)
    body = export_csv(_statistics().figures(first, last, today))
    name = f"visselpipa-statistics-{month_label(first)}-{month_label(last)}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
