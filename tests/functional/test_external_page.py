"""/external: every external channel, in both languages, grouped so that ~35 stay usable."""

from __future__ import annotations

import re

from tests.functional.pages import text_of


def _authorities(deployment):
    return deployment.settings.authorities


def _main(page: str) -> str:
    return page.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def test_every_channel_is_listed_with_its_area_and_link_in_swedish(deployment, client):
    page = _main(client.get("/external").get_data(as_text=True))
    text = text_of(page)
    swedish = [a for a in _authorities(deployment) if a.kind == "se"]
    assert len(swedish) >= 30
    assert f"Svenska behöriga myndigheter ({len(swedish)})" in text
    assert "EU:s institutioner, organ och byråer" in text
    for a in _authorities(deployment):
        assert f'href="{a.url}"' in page, a.sv
        assert f"{a.sv} {a.area_sv}" in text, a.sv


def test_every_channel_is_listed_in_english(deployment, client):
    client.get("/lang/en?next=/external")
    page = _main(client.get("/external").get_data(as_text=True))
    text = text_of(page)
    assert "Swedish competent authorities" in text
    assert "EU institutions, bodies and agencies" in text
    for a in _authorities(deployment):
        assert f"{a.en} {a.area_en}" in text, a.en
    # The names the reader sees are the English ones, in the text around the list too.
    assert "Arbetsmiljöverket" not in text and "Swedish Work Environment Authority takes" in text


def test_the_swedish_authorities_are_alphabetical_under_initial_letters_one_can_jump_to(
    deployment, client
):
    page = _main(client.get("/external").get_data(as_text=True))
    swedish_part = page.split('id="union-bodies"', 1)[0]
    headings = re.findall(r'<h3 id="(initial-\d+)">(\w)</h3>', swedish_part)
    letters = [letter for _, letter in headings]
    assert letters == sorted(set(letters)) and len(letters) >= 10
    for anchor, letter in headings:
        assert f'<a href="#{anchor}">{letter}</a>' in swedish_part
    listed = re.findall(r'<li><a href="[^"]+" rel="noreferrer noopener">([^<]+)</a>', swedish_part)
    assert len(listed) == len([a for a in _authorities(deployment) if a.kind == "se"])
    assert listed.index("Livsmedelsverket") < listed.index("Läkemedelsverket")
    assert listed.index("Läkemedelsverket") < listed.index("Länsstyrelserna")
    assert listed.index("Arbetsmiljöverket") == 0


def test_the_page_needs_no_script(client):
    page = client.get("/external").get_data(as_text=True)
    assert "<script" not in _main(page)
