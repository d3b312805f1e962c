"""GET / and GET /report, rendered once per language (app/pages.py), still serve each
visitor their own page: their own tokens, their language, their messages, and
nothing that differs from a full render."""

from __future__ import annotations

import re

from tests.functional.pages import hidden_fields, receipt_from, submit_report

_TOKENS = re.compile(r'(name="(?:csrf_token|form_token)"[^>]*value=")[^"]*(")')


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _without_tokens(page: str) -> str:
    return _TOKENS.sub(r"\1TOKEN\2", page)


def test_every_visitor_gets_their_own_tokens_on_the_same_form(deployment):
    first, second = deployment.client(), deployment.client()
    page_1, page_2 = _get(first, "/report"), _get(second, "/report")
    tokens_1, tokens_2 = hidden_fields(page_1), hidden_fields(page_2)
    for name in ("csrf_token", "form_token"):
        assert tokens_1[name] and tokens_2[name] and tokens_1[name] != tokens_2[name]
    assert _without_tokens(page_1) == _without_tokens(page_2)
    # Each visitor's own tokens carry their report; the other's do not.
    status, page = submit_report(second)
    assert status == 200
    receipt_from(page)
    answer = first.post(
        "/report",
        data={**tokens_2, "category": "bribery", "agency": "tullverket", "what": "x"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400


def test_the_page_is_what_a_full_render_gives(deployment):
    for path in ("/", "/report"):
        for lang in ("sv", "en"):
            client = deployment.client()
            client.get(f"/lang/{lang}")
            _get(client, path)  # fills the cache for this language
            kept = _get(client, path)
            deployment.app.jinja_env.auto_reload = True  # full render every time
            try:
                fresh = _get(client, path)
            finally:
                deployment.app.jinja_env.auto_reload = False
            assert _without_tokens(kept) == _without_tokens(fresh), (path, lang)


def test_each_language_keeps_its_own_page(deployment):
    swedish = deployment.client()
    assert 'lang="sv"' in _get(swedish, "/report")
    english = deployment.client()
    english.get("/lang/en")
    page = _get(english, "/report")
    assert '<html lang="en">' in page and "Report misconduct" in page
    assert "Rapportera missförhållanden" not in page
    assert '<html lang="sv">' in _get(deployment.client(), "/report")


def test_a_message_waiting_for_a_visitor_is_shown_to_them_alone(deployment):
    for path in ("/", "/report"):
        client = deployment.client()
        _get(client, path)
        with client.session_transaction() as session:
            session["_flashes"] = [("error", "A message for this visitor only")]
        assert "A message for this visitor only" in _get(client, path)
        assert "A message for this visitor only" not in _get(client, path)
        assert "A message for this visitor only" not in _get(deployment.client(), path)
