"""The language links' ``next``: back to the same page, never off the site, never a 500."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from caseflow.store import create_engine, migrate
from tests.functional.conftest import HttpsClient, make_settings
from tests.functional.pages import text_of


@pytest.fixture(scope="module")
def lang_client(tmp_path_factory: pytest.TempPathFactory):
    base: Path = tmp_path_factory.mktemp("lang")
    url = f"sqlite:///{base / 'db.sqlite3'}"
    conf = make_settings(url, base / "data")
    engine = create_engine(url)
    migrate(engine)
    app = create_app(conf, {"TESTING": True})
    app.test_client_class = HttpsClient
    yield app.test_client()
    app.extensions["visselpipa.engine"].dispose()
    engine.dispose()


def _assert_safe(response) -> None:
    """A 303 to a path of this site (printable ASCII), or a 400: nothing else."""
    assert response.status_code in (303, 400), response.status_code
    if response.status_code == 400:
        return
    location = response.headers["Location"]
    assert location.isascii() and location.isprintable() and " " not in location
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location


def test_the_issue_s_newline_is_a_400_in_the_reporter_s_language(lang_client):
    lang_client.get("/lang/sv")
    response = lang_client.get("/lang/en?next=%2F%0Aenv%3B")
    assert response.status_code == 400
    assert "Något i det din webbläsare skickade var felaktigt" in text_of(
        response.get_data(as_text=True)
    )


@pytest.mark.parametrize(
    "target", ["/\t/evil.example", "/\r\nSet-Cookie: x=1", "/\x00", "/\u202e/x", "/" + "a" * 3000]
)
def test_control_characters_and_overlong_targets_are_refused(lang_client, target):
    response = lang_client.get("/lang/sv", query_string={"next": target})
    assert response.status_code == 400


def test_a_refused_target_does_not_switch_the_language(lang_client):
    lang_client.get("/lang/sv")
    lang_client.get("/lang/en", query_string={"next": "/\n"})
    assert "Vad har hänt?" in text_of(lang_client.get("/report").get_data(as_text=True))


def test_a_page_path_with_spaces_or_letters_outside_ascii_comes_back_encoded(lang_client):
    response = lang_client.get("/lang/en", query_string={"next": "/sida med å?x=ö"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/sida%20med%20%C3%A5?x=%C3%B6"
    assert lang_client.get("/lang/sv?next=/report").headers["Location"] == "/report"


#: The client is module-wide on purpose: one app serves every example.
MODULE_FIXTURE = HealthCheck.function_scoped_fixture

targets = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["/", "//", "/\\", "\\", "http:", "https://", "/%2F", " /", "/\t/"]),
        st.text(max_size=60),
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[MODULE_FIXTURE])
@given(target=targets)
def test_no_next_value_gives_a_500_or_an_off_site_redirect(lang_client, target):
    _assert_safe(lang_client.get("/lang/en", query_string={"next": target}))


@settings(max_examples=200, deadline=None, suppress_health_check=[MODULE_FIXTURE])
@given(raw=st.binary(max_size=80))
def test_no_raw_query_string_gives_a_500_or_an_off_site_redirect(lang_client, raw):
    # Any bytes, percent-encoded: invalid UTF-8, NULs, CR and LF included.
    _assert_safe(lang_client.get("/lang/sv?next=" + quote_from_bytes(raw, safe="/:?&=#")))
