"""Public pages rendered once per language, with each visitor's tokens filled in.

``GET /report`` is the page a reporter loads first and most often: the form
with its categories and some hundred agencies costs milliseconds of template
and widget work that come out the same for every visitor, except for two
tokens (the CSRF token and the form's one-time token). :func:`filled`
renders such a page once per (page, language, path) with unguessable marks
where the tokens go, keeps the text around the marks, and answers each
request by joining that text with this visitor's own tokens, generated as a
full render would generate them (the same calls, the same session entries).

Only pages that are the same for everyone qualify. A visitor with a flashed
message waiting gets a full render (the message is theirs alone), and so does
an app that reloads its templates (development).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping

from flask import current_app, request, session
from flask_babel import get_locale
from markupsafe import escape

#: One page's text: literal HTML and, between them, the names of the tokens.
_Parts = tuple[tuple[str, ...], tuple[str, ...]]

_CACHE_KEY = "visselpipa.pages"


def filled(
    name: str,
    render: Callable[[Mapping[str, str]], str],
    **tokens: Callable[[], str],
) -> str:
    """The page ``render`` makes, with each of ``tokens`` generated for this request.

    ``render(marks)`` renders the page with ``marks[token]`` where each
    token's value goes; each ``tokens[token]()`` gives this request's value
    (HTML-escaped here), called once per request in the order given, also
    on the first request, whose own rendering serves only for the text.

    .. warning::
       Everything ``render`` puts on the page, apart from the tokens, is
       shown to every visitor of that language and path: nothing from the
       session, the query string or the visitor may reach it.
    """
    if session.get("_flashes") or current_app.jinja_env.auto_reload:
        return render({token: make() for token, make in tokens.items()})
    cache: dict[tuple[str, ...], _Parts] = current_app.extensions.setdefault(_CACHE_KEY, {})
    # Everything the links on a page are made of: its language, and the
    # path (with the prefix the server is mounted under) it was asked for.
    key = (name, str(get_locale() or ""), request.script_root, request.path)
    parts = cache.get(key)
    if parts is None:
        parts = _split(render, tuple(tokens))
        cache[key] = parts  # a race renders twice and keeps one: both are equal
    values = {token: str(escape(make())) for token, make in tokens.items()}
    texts, names = parts
    out = [texts[0]]
    for token, text in zip(names, texts[1:], strict=True):
        out.append(values[token])
        out.append(text)
    return "".join(out)


def _split(render: Callable[[Mapping[str, str]], str], tokens: tuple[str, ...]) -> _Parts:
    marks = {token: f"vpmark{secrets.token_hex(16)}" for token in tokens}
    html = str(render(marks))
    by_mark = {mark: token for token, mark in marks.items()}
    pieces = re.split("(" + "|".join(map(re.escape, by_mark)) + ")", html) if marks else [html]
    return tuple(pieces[0::2]), tuple(by_mark[m] for m in pieces[1::2])
