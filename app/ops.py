"""What the proxy, the browser and the operator ask of the server itself.

``/favicon.ico`` (browsers ask for it on every first visit), ``/healthz``
for the reverse proxy and ``/metrics`` for the operator's Prometheus: none
of them reads or writes anything about the request.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from datetime import date, datetime
from datetime import time as datetime_time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, request, send_from_directory
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from werkzeug.wrappers import Response

from app import services
from caseflow.clock import STOCKHOLM, reporter_day, system_clock
from caseflow.store.operations import TICK, JobRun, last_run
from reporting.operations import OperationalCounts, operational_counts

bp = Blueprint("ops", __name__)


@bp.get("/favicon.ico")
def favicon() -> Response:
    assert current_app.static_folder is not None  # the app's own static/ directory
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


def _no_https_redirect(view: Callable[..., Any]) -> Callable[..., Any]:
    # The proxy's health check and a scraper on the loopback speak plain HTTP
    # to gunicorn; Talisman would redirect them to an https:// that gunicorn
    # does not serve. Neither answer carries anything a reporter sent.
    view.talisman_view_options = {"force_https": False}  # type: ignore[attr-defined]
    return view


@bp.get("/healthz")
@_no_https_redirect
def healthz() -> Response:
    """200 ``ok`` when the database answers, 503 otherwise: nothing more, nothing logged."""
    try:
        with services.engine().connect() as conn:
            # A table, not a constant: "SELECT 1" answers without reading a page.
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.SQLAlchemyError:
        return Response("unavailable\n", status=503, mimetype="text/plain")
    return Response("ok\n", status=200, mimetype="text/plain")


def _metrics_allowed() -> bool:
    token = services.settings().metrics_token
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token}"
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


@bp.get("/metrics")
@_no_https_redirect
def metrics() -> Response:
    """Counts for Prometheus, to the holder of the metrics token only (else a 404).

    Whole days only (see :mod:`reporting.operations`); nothing per request,
    no address, no time of day.
    """
    if not _metrics_allowed():
        abort(404)  # the same page as any address that does not exist
    today = reporter_day(system_clock())
    engine = services.engine()
    counts = operational_counts(engine, today)
    tick = last_run(engine, TICK)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(counts, tick))
    return Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE_LATEST)


def _day_start(day: date) -> float:
    """A day as Prometheus reads times: the Unix time of its first second in Stockholm."""
    return datetime.combine(day, datetime_time(0), STOCKHOLM).timestamp()


class _Snapshot(Collector):
    """One scrape's figures, read from the database as the request came."""

    def __init__(self, counts: OperationalCounts, tick: JobRun) -> None:
        self.counts = counts
        self.tick = tick

    def collect(self) -> Iterator[Metric]:
        c, tick = self.counts, self.tick
        yield CounterMetricFamily(
            "visselpipa_reports_received",
            "Reports received on the days before today (changes once a day, at midnight).",
            value=c.reports_before_today,
        )
        yield GaugeMetricFamily(
            "visselpipa_reports_received_last_day",
            "Reports received yesterday, the last whole day.",
            value=c.reports_last_day,
        )
        yield GaugeMetricFamily(
            "visselpipa_open_cases", "Open cases received before today.", c.open_cases
        )
        yield GaugeMetricFamily(
            "visselpipa_overdue_cases",
            "Open cases whose next deadline is before today.",
            value=c.overdue_cases,
        )
        yield GaugeMetricFamily(
            "visselpipa_tick_last_success_day",
            "Start (Unix time) of the day `visselpipa tick` last succeeded; 0: never.",
            value=_day_start(tick.last_success_on) if tick.last_success_on else 0,
        )
        yield GaugeMetricFamily(
            "visselpipa_tick_last_duration_seconds",
            "How long the last successful `visselpipa tick` took.",
            value=tick.last_seconds or 0,
        )
        yield GaugeMetricFamily(
            "visselpipa_tick_failed",
            "1 when `visselpipa tick` failed since its last success, else 0.",
            value=1 if tick.last_failure_on is not None else 0,
        )
