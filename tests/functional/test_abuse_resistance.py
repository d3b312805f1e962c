"""Rates on receipts, reports and messages: per session and deployment-wide, never by address."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from caseflow.store import create_engine, migrate
from caseflow.store.records import reporter_index_table
from identity.bootstrap import bootstrap
from tests.functional.conftest import HttpsClient, make_settings
from tests.functional.pages import hidden_fields, open_status, submit_report, text_of

WRONG = "0000-0000-0000-0000-0000"


@pytest.fixture
def make_app(tmp_path: Path):
    engines = []
    # Instances of one deployment share its secrets (a start with others is refused).
    deployment_secrets = {
        "secret_key": secrets.token_urlsafe(40),
        "tenant_salt": secrets.token_hex(16),
        "signing_seed": secrets.token_hex(32),
    }

    def build(database_url: str | None = None, **limits):
        url = database_url or f"sqlite:///{tmp_path / 'db.sqlite3'}"
        settings = make_settings(url, tmp_path / "data", **deployment_secrets, **limits)
        engine = create_engine(url)
        migrate(engine)
        bootstrap(engine, settings)
        engines.append(engine)
        app = create_app(settings, {"TESTING": True})
        app.test_client_class = HttpsClient
        engines.append(app.extensions["visselpipa.engine"])
        return app

    yield build
    for engine in engines:
        engine.dispose()


def test_a_session_that_tries_too_many_receipts_is_slowed_but_others_are_not(make_app):
    app = make_app(limit_receipt="3/10 minutes")
    greedy = app.test_client()
    for _ in range(3):
        assert open_status(greedy, WRONG)[0] == 400
    page = greedy.get("/status").get_data(as_text=True)
    response = greedy.post("/status", data={**hidden_fields(page), "receipt": WRONG})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    text = text_of(response.get_data(as_text=True))
    assert "Många rapporter skickas just nu" in text
    assert WRONG in response.get_data(as_text=True)  # what was typed is still there

    other = app.test_client()  # another reporter, perhaps behind the same Tor exit
    assert open_status(other, WRONG)[0] == 400


def test_a_flood_of_fresh_sessions_cannot_use_up_the_patient_lane(make_app):
    app = make_app(limit_receipt_fresh="2/minute", receipt_patience_seconds=60)
    guard = app.extensions["visselpipa.abuse"]
    patient = app.test_client()
    patient.get("/status")  # a person who opened the page earlier
    guard.clock = lambda: time.time() + 120  # two minutes later

    statuses = []
    for _ in range(4):
        flooder = app.test_client()  # a script: a new session per attempt
        statuses.append(open_status(flooder, WRONG)[0])
    assert statuses == [400, 400, 429, 429]
    assert open_status(patient, WRONG)[0] == 400  # still answered


def test_a_refused_report_comes_back_filled_in_and_stores_nothing(make_app):
    app = make_app(limit_report="1/hour")
    client = app.test_client()
    assert submit_report(client)[0] == 200
    status, page = submit_report(client, what="Andra rapporten: leverantören bjöd på resa.")
    assert status == 429
    assert "Många rapporter skickas just nu" in text_of(page)
    assert "Andra rapporten: leverantören bjöd på resa.</textarea>" in page
    with app.extensions["visselpipa.engine"].connect() as conn:
        cases = conn.execute(sa.select(sa.func.count()).select_from(reporter_index_table))
        assert cases.scalar() == 1


def test_rates_are_not_keyed_on_an_address(make_app):
    app = make_app(limit_receipt="2/10 minutes")
    statuses = []
    for _ in range(4):  # four people behind one Tor exit, each their own session
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
        statuses.append(open_status(client, WRONG)[0])
    assert statuses == [400, 400, 400, 400]


@pytest.mark.skipif(
    not os.environ.get("TEST_REDIS_URL"),
    reason="TEST_REDIS_URL is not set: the Redis store is tested in CI (.ci/run sets it)",
)
def test_several_instances_share_their_counts_through_redis(make_app):
    import redis

    url = os.environ["TEST_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    limits = {"rate_limit_storage": url, "limit_receipt_fresh": "2/minute"}
    first, second = make_app(**limits), make_app(**limits)
    assert open_status(first.test_client(), WRONG)[0] == 400
    assert open_status(second.test_client(), WRONG)[0] == 400
    assert open_status(first.test_client(), WRONG)[0] == 429
    assert open_status(second.test_client(), WRONG)[0] == 429


# -- floods that must not lock an honest reporter out ---------------------------

HONEST = "Upphandlingen gick till chefens svåger utan att andra anbud prövades."


class Clock:
    """The guard's clock, moved by the test (minutes since the epoch matter)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # at the start of a minute

    def __call__(self) -> float:
        return self.now


def _flood_app(make_app, **limits):
    app = make_app(
        limit_report="2/hour",
        limit_report_fresh="5/minute",
        limit_report_patient="10/minute",
        report_patience_seconds=120,
        **limits,
    )
    clock = Clock()
    app.extensions["visselpipa.abuse"].clock = clock
    return app, clock


def _aged_sessions(app, count: int) -> list:
    clients = []
    for _ in range(count):
        client = app.test_client()
        client.get("/")  # a cookie, nothing else
        clients.append(client)
    return clients


def test_a_flood_without_csrf_tokens_counts_nothing(make_app):
    # Found: 40 cookies from GET /, aged past the patience, then 170 empty POSTs
    # without a CSRF token made the honest reporter's valid report a 429.
    app, clock = _flood_app(make_app)
    flooders = _aged_sessions(app, 40)
    honest = app.test_client()
    honest.get("/report")  # the same minute as the flood's sessions
    clock.now += 600
    refused = [flooders[i % 40].post("/report", data={}).status_code for i in range(170)]
    assert set(refused) == {400}  # the form had expired: refused before any counter
    status, page = submit_report(honest, what=HONEST)
    assert status == 200, text_of(page)


def test_sessions_opened_in_advance_use_up_only_their_own_minute(make_app):
    app, clock = _flood_app(make_app)
    flooders = _aged_sessions(app, 20)  # opened at minute 0
    clock.now += 60
    honest = app.test_client()
    honest.get("/report")  # a person who began writing at minute 1
    clock.now += 600
    # Every aged session sends what it may: real reports, with valid tokens.
    flood = [submit_report(f)[0] for f in flooders for _ in range(2)]
    assert flood.count(200) == 10 and flood.count(429) == 30  # their minute's window
    status, page = submit_report(honest, what=HONEST)
    assert status == 200, text_of(page)


def test_a_flood_of_empty_posts_with_tokens_spares_other_minutes(make_app):
    app, clock = _flood_app(make_app)
    flooders = _aged_sessions(app, 40)
    tokens = [hidden_fields(f.get("/report").get_data(as_text=True)) for f in flooders]
    clock.now += 60
    honest = app.test_client()
    honest.get("/report")
    clock.now += 600
    for i in range(170):
        flooders[i % 40].post("/report", data=tokens[i % 40])
    status, page = submit_report(honest, what=HONEST)
    assert status == 200, text_of(page)


def test_a_flood_of_new_sessions_stays_in_the_fresh_lane(make_app):
    app, clock = _flood_app(make_app)
    honest = app.test_client()
    honest.get("/report")
    clock.now += 600
    flood = [submit_report(app.test_client())[0] for _ in range(12)]
    assert flood.count(200) == 5 and flood.count(429) == 7
    status, page = submit_report(honest, what=HONEST)
    assert status == 200, text_of(page)


# -- the shared store fails -------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path: Path):
    """A redis-server of the test's own, on a free port (never the machine's)."""
    import shutil
    import subprocess

    from tests.live_server import _free_port

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield process, f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


def test_a_rate_limit_store_outage_does_not_stop_intake(make_app, private_redis, operator_log):
    process, url = private_redis
    app = make_app(rate_limit_storage=url, limit_receipt="2/10 minutes")
    client = app.test_client()
    assert submit_report(client)[0] == 200
    process.kill()
    process.wait()
    status, page = submit_report(app.test_client(), what=HONEST)
    assert status == 200, text_of(page)  # failed open: the report was received
    assert operator_log.written_now() == []  # held: a line now would date the report
    # Still counted, in this process: one session cannot hammer receipts.
    greedy = app.test_client()
    assert [open_status(greedy, WRONG)[0] for _ in range(3)] == [400, 400, 429]
    (line,) = operator_log.end_of_day()
    assert "rate-limit store unavailable (ConnectionError)" in line, line
