"""Driving the reporter pages like a person would, for the functional tests."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask.testing import FlaskClient

_INPUT = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of the first form on a page (CSRF token, form token)."""
    fields = {}
    for tag in _INPUT.findall(html):
        attrs = dict(_ATTR.findall(tag))
        fields.setdefault(attrs.get("name", ""), unescape(attrs.get("value", "")))
    return fields


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


RECEIPT_RE = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')


def submit_report(client: FlaskClient, **fields: Any) -> tuple[int, str]:
    """Fill in /report like a person would; return the status and the page."""
    page = client.get("/report").get_data(as_text=True)
    data: dict[str, Any] = {
        **hidden_fields(page),
        "category": "procurement",
        "agency": "trafikverket",
        "what": "The head of unit awarded the framework contract to a friend's company.",
        "when": "",
        "where": "",
        "persons": "",
        "contact_choice": "none",
        "contact": "",
    }
    data.update(fields)
    response = client.post("/report", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def receipt_from(page: str) -> str:
    match = RECEIPT_RE.search(page)
    assert match, "no receipt code on the page"
    return match.group(1)


def open_status(client: FlaskClient, receipt: str) -> tuple[int, str]:
    page = client.get("/status").get_data(as_text=True)
    response = client.post(
        "/status", data={**hidden_fields(page), "receipt": receipt}, follow_redirects=True
    )
    return response.status_code, response.get_data(as_text=True)
