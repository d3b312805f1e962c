"""The icon a browser asks for on every first visit is there (no 404 on each page load)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET  # noqa: S405 - our own file, parsed in a test

import pytest
from PIL import Image


@pytest.mark.parametrize("path", ["/", "/report", "/status", "/staff/login", "/nowhere"])
def test_every_page_links_icons_that_exist(client, path):
    page = client.get(path).get_data(as_text=True)
    links = re.findall(r'<link rel="icon" href="([^"]+)"', page)
    assert links == ["/static/favicon.svg", "/favicon.ico"], links
    for href in links:
        response = client.get(href)
        assert response.status_code == 200, href
        assert response.headers["Content-Type"].startswith("image/"), href


def test_favicon_ico_is_a_real_icon_in_two_sizes(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert not response.headers.getlist("Set-Cookie")  # an icon starts no session
    icon = Image.open(io.BytesIO(response.get_data()))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


def test_the_svg_icon_is_well_formed_svg(client):
    response = client.get("/static/favicon.svg")
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(response.get_data())  # noqa: S314
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"<script" not in response.get_data()
