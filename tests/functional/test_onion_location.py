"""Onion-Location: every HTTPS page names the onion service, when there is one.

Tor Browser offers to switch to the address in the header. Only HTTPS pages
may carry it (over plain HTTP anyone on the path could plant one), a page
served on the onion itself carries none, and without a configured onion
address no page carries one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from caseflow.store import create_engine, migrate
from identity.bootstrap import bootstrap
from tests.functional.conftest import HttpsClient, make_settings

ONION = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
PAGES = ["/", "/report", "/status", "/external", "/nowhere", "/static/style.css"]


def _app(tmp_path: Path, **extra: str) -> Iterator[Flask]:
    settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "data", **extra)
    engine = create_engine(settings.database_url)
    migrate(engine)
    bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    app.test_client_class = HttpsClient
    try:
        yield app
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


@pytest.fixture
def onion_app(tmp_path: Path) -> Iterator[Flask]:
    yield from _app(tmp_path, onion_address=ONION)


@pytest.fixture
def plain_app(tmp_path: Path) -> Iterator[Flask]:
    yield from _app(tmp_path)


@pytest.mark.parametrize("path", PAGES)
def test_every_https_page_names_the_onion_with_the_same_path(onion_app, path):
    response = onion_app.test_client().get(path)
    assert response.headers["Onion-Location"] == f"http://{ONION}{path}"


def test_the_query_string_is_kept_and_nothing_can_break_the_header(onion_app):
    client = onion_app.test_client()
    response = client.get("/lang/en?next=/report")
    assert response.headers["Onion-Location"] == f"http://{ONION}/lang/en?next=/report"
    response = client.get("/n%C3%A5gon%20plats?a=%0D%0Ab c")
    assert response.headers["Onion-Location"] == f"http://{ONION}/n%C3%A5gon%20plats?a=%0D%0Ab%20c"


def test_a_form_post_answer_names_it_too(onion_app):
    response = onion_app.test_client().post("/report", data={})
    assert response.status_code == 400  # no CSRF token
    assert response.headers["Onion-Location"] == f"http://{ONION}/report"


def test_behind_the_tls_proxy_the_forwarded_scheme_counts_as_https(onion_app):
    client = onion_app.test_client()
    response = client.get(
        "/report", base_url="http://visselpipa.example.se", headers={"X-Forwarded-Proto": "https"}
    )
    assert response.status_code == 200
    assert response.headers["Onion-Location"] == f"http://{ONION}/report"


def test_plain_http_gets_a_redirect_without_the_header(onion_app):
    response = onion_app.test_client().get("/report", base_url="http://visselpipa.example.se")
    assert response.status_code in (301, 302)
    assert "Onion-Location" not in response.headers


@pytest.mark.parametrize("host", [ONION, f"{ONION}:80", ONION.upper()])
def test_pages_served_on_the_onion_itself_carry_none(onion_app, host):
    # The nginx onion block forwards with X-Forwarded-Proto: https (tor encrypts
    # the connection end to end), and the Host is the onion address.
    client = onion_app.test_client()
    for path in PAGES:
        response = client.get(
            path, base_url=f"http://{host}", headers={"X-Forwarded-Proto": "https"}
        )
        assert response.status_code in (200, 404), path
        assert "Onion-Location" not in response.headers, path


@pytest.mark.parametrize("path", PAGES)
def test_without_an_onion_address_no_page_carries_the_header(plain_app, path):
    assert "Onion-Location" not in plain_app.test_client().get(path).headers
