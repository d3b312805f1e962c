"""/healthz for the proxy and /metrics for the operator: counts only, whole days only."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from caseflow.clock import STOCKHOLM, reporter_day, system_clock
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store.operations import TICK, record_success
from tests.functional.conftest import make_settings
from tests.live_server import _free_port

TOKEN = secrets.token_urlsafe(32)


def _plain_client(app):
    """A scraper or the proxy's probe: plain HTTP on the loopback, no cookies kept."""
    return app.test_client(use_cookies=False)


def test_healthz_says_ok_over_plain_http_without_a_cookie(deployment):
    response = _plain_client(deployment.app).get("/healthz")
    assert response.status_code == 200  # not a redirect to https://
    assert response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain"
    assert not response.headers.getlist("Set-Cookie")


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path):
    # PostgreSQL on a port where nothing listens: the app starts, the probe fails.
    settings = make_settings(
        f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none?connect_timeout=2",
        tmp_path / "data",
    )
    app = create_app(settings, {"TESTING": True})
    try:
        response = _plain_client(app).get("/healthz")
    finally:
        app.extensions["visselpipa.engine"].dispose()
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable\n"  # no detail of the failure


def test_a_broken_sqlite_file_is_a_503_too(deployment):
    if not deployment.settings.database_url.startswith("sqlite:///"):
        pytest.skip("a file database only")
    deployment.engine.dispose()  # the last connection closed: the WAL is folded in
    deployment.app.extensions["visselpipa.engine"].dispose()
    database = deployment.settings.database_url.removeprefix("sqlite:///")
    with open(database, "r+b") as f:
        f.write(b"not a database" * 10)
    assert _plain_client(deployment.app).get("/healthz").status_code == 503


@pytest.fixture
def metrics_app(database_url, tmp_path):
    from caseflow.store import create_engine, migrate
    from identity.bootstrap import bootstrap

    settings = make_settings(database_url, tmp_path / "data", metrics_token=TOKEN)
    engine = create_engine(database_url)
    migrate(engine)
    bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    yield app, engine, settings
    app.extensions["visselpipa.engine"].dispose()
    engine.dispose()


def _scrape(app, token=TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return _plain_client(app).get("/metrics", headers=headers)


def _values(response) -> dict[str, float]:
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            assert not sample.labels, sample  # counts only: no label, no per-anything
            found[sample.name] = sample.value
    return found


@pytest.mark.parametrize("token", [None, "", "wrong" * 8, TOKEN + "x", TOKEN[:-1]])
def test_metrics_without_the_token_is_a_404(metrics_app, token):
    app, _, _ = metrics_app
    response = _scrape(app, token)
    assert response.status_code == 404
    assert "visselpipa_" not in response.get_data(as_text=True)


def test_metrics_is_a_404_when_no_token_is_configured(deployment):
    assert _scrape(deployment.app).status_code == 404
    assert _scrape(deployment.app, "").status_code == 404


def test_metrics_count_whole_days_and_the_last_tick(metrics_app):
    app, engine, settings = metrics_app
    now = system_clock()
    today = reporter_day(now)

    def submit_on(moment):
        intake = Intake(engine, settings, CaseService(engine, settings.rules), clock=lambda: moment)
        intake.submit(
            intake.begin(), Report(category="bribery", agency="tullverket", what="Mutor.")
        )

    submit_on(now - timedelta(days=30))  # long overdue by now: not acknowledged in 7 days
    submit_on(now - timedelta(days=1))
    submit_on(now - timedelta(days=1))
    before = _values(_scrape(app))
    submit_on(now)  # today's report moves nothing until midnight
    response = _scrape(app)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    values = _values(response)
    assert values == before
    assert values["visselpipa_reports_received_total"] == 3
    assert values["visselpipa_reports_received_last_day"] == 2
    assert values["visselpipa_open_cases"] == 3
    assert values["visselpipa_overdue_cases"] == 1
    assert values["visselpipa_tick_last_success_day"] == 0  # never ran
    assert values["visselpipa_tick_failed"] == 0

    record_success(engine, TICK, today, 1.25)
    values = _values(_scrape(app))
    midnight = datetime.combine(today, datetime.min.time(), STOCKHOLM).timestamp()
    assert values["visselpipa_tick_last_success_day"] == midnight
    assert values["visselpipa_tick_last_duration_seconds"] == 1.25


def test_the_tick_gauge_follows_the_command(metrics_app):
    from app.cli import main
    from tests.functional.conftest import cli_env

    app, engine, settings = metrics_app
    env = {
        **cli_env(settings.database_url, settings.data_dir),
        "VISSELPIPA_SECRET_KEY": settings.secret_key,
        "VISSELPIPA_TENANT_SALT": settings.tenant_salt.hex(),
        "VISSELPIPA_SIGNING_SEED": settings.signing_seed.hex(),
    }
    result = CliRunner().invoke(main, ["tick"], env=env)
    assert result.exit_code == 0, result.output
    values = _values(_scrape(app))
    today = reporter_day(system_clock())
    assert values["visselpipa_tick_last_success_day"] == (
        datetime.combine(today, datetime.min.time(), STOCKHOLM).timestamp()
    )
    assert values["visselpipa_tick_last_duration_seconds"] > 0
