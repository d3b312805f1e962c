"""Bad input gets a clear answer in the reporter's language and loses nothing."""

from __future__ import annotations

import io

import sqlalchemy as sa

from caseflow.store.records import reporter_index_table
from tests.functional.blobs import stored_blob_ids
from tests.functional.pages import hidden_fields, submit_report, text_of


def _cases(deployment) -> int:
    with deployment.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(reporter_index_table)).scalar()


def _blobs(deployment) -> list[str]:
    return stored_blob_ids(deployment.engine)


def test_missing_fields_rerender_with_everything_typed_and_swedish_messages(deployment, client):
    status, page = submit_report(
        client,
        category="",
        agency="",
        what="kort",
        where="Huvudkontoret <b>plan 3</b>",
        persons="Chefen",
    )
    assert status == 400
    text = text_of(page)
    assert "Välj vilken sorts missförhållande det gäller." in text
    assert "Välj vilken myndighet det gäller." in text
    assert "Skriv mellan 20 och 20000 tecken." in text
    assert "\nkort</textarea>" in page
    assert 'value="Huvudkontoret &lt;b&gt;plan 3&lt;/b&gt;"' in page
    assert "\nChefen</textarea>" in page
    assert _cases(deployment) == 0


def test_messages_are_english_after_switching(client):
    client.get("/lang/en")
    status, page = submit_report(client, what="")
    assert status == 400
    assert "Describe what happened." in text_of(page)


def test_contact_chosen_but_empty_is_explained(client):
    status, page = submit_report(client, contact_choice="give", contact="  ")
    assert status == 400
    assert "Du valde att lämna kontaktuppgifter" in text_of(page)


def test_unknown_category_or_agency_is_refused_not_stored(deployment, client):
    status, page = submit_report(client, category="<script>", agency="nasa")
    assert status == 400
    assert "<script>" not in page.split('<main id="main" tabindex="-1">')[1].split("</main>")[
        0
    ].replace("&lt;script&gt;", "")
    assert _cases(deployment) == 0


def test_control_characters_are_named_not_stored(client):
    status, page = submit_report(client, where="kontor\x00\x1b[31m")
    assert status == 400
    assert "Ta bort de osynliga styrtecknen från fältet." in text_of(page)


def test_files_of_a_refused_form_are_not_kept_and_the_reporter_is_told(deployment, client):
    status, page = submit_report(client, what="", files=(io.BytesIO(b"evidence"), "bevis.pdf"))
    assert status == 400
    assert "Bifoga dina filer igen" in text_of(page)
    assert _blobs(deployment) == []


def test_too_large_file_is_named_and_nothing_is_kept(deployment, client):
    big = io.BytesIO(b"x" * (deployment.settings.max_file_bytes + 1))
    status, page = submit_report(client, files=(big, "stor.pdf"))
    assert status == 400
    assert "Filen ”stor.pdf” är större än" in text_of(page)
    assert _cases(deployment) == 0 and _blobs(deployment) == []


def test_too_many_files_are_refused(deployment, client):
    files = [(io.BytesIO(b"a"), f"f{i}.txt") for i in range(deployment.settings.max_files + 1)]
    status, page = submit_report(client, files=files)
    assert status == 400
    assert "Du kan bifoga högst 3 filer åt gången." in text_of(page)
    assert _cases(deployment) == 0 and _blobs(deployment) == []


def test_oversized_request_gets_a_413_page(deployment, client):
    body = b"x" * (deployment.settings.max_request_bytes + 1)
    response = client.post("/report", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "För mycket data" in text_of(response.get_data(as_text=True))


def test_malformed_multipart_is_a_400_never_a_500(client):
    for body, ctype in (
        (
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
            "multipart/form-data; boundary=x",
        ),
        (b"garbage", "multipart/form-data"),
        (b"--\r\n\r\n--", "multipart/form-data; boundary="),
        (b"\xff\xfe\x00", "multipart/form-data; boundary=zz"),
    ):
        response = client.post("/report", data=body, content_type=ctype)
        assert response.status_code == 400, (body, response.status_code)


def test_expired_form_comes_back_filled_in(deployment, client):
    page = client.get("/report").get_data(as_text=True)
    fields = hidden_fields(page)
    fields["csrf_token"] = "expired"
    response = client.post(
        "/report",
        data={
            **fields,
            "category": "fraud",
            "agency": "csn",
            "what": "Studiemedel betalades ut till påhittade studenter.",
            "contact_choice": "none",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Formuläret hade gått ut" in text_of(page)
    assert "Studiemedel betalades ut till påhittade studenter.</textarea>" in page
    assert _cases(deployment) == 0


def test_empty_message_on_status_is_explained_and_typed_text_kept(client):
    status, page = submit_report(client)
    from tests.functional.pages import open_status, receipt_from

    status, page = open_status(client, receipt_from(page))
    response = client.post("/status/message", data={**hidden_fields(page), "message": ""})
    assert response.status_code == 400
    assert "Skriv ett meddelande innan du skickar." in text_of(response.get_data(as_text=True))


def test_unknown_pages_and_methods_get_localised_error_pages(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert "Sidan finns inte" in text_of(response.get_data(as_text=True))
    response = client.put("/report")
    assert response.status_code == 405
    assert "Traceback" not in response.get_data(as_text=True)


def test_an_internal_error_gets_a_plain_500_page_without_details(deployment, client, operator_log):
    status, page = submit_report(client)
    from tests.functional.pages import open_status, receipt_from

    receipt = receipt_from(page)
    intake = deployment.app.extensions["visselpipa.intake"]

    def broken(access):
        raise RuntimeError(f"secret detail {receipt}")

    intake.view = broken
    status, page = open_status(client, receipt)
    assert status == 500
    text = text_of(page)
    assert "Något gick fel" in text and "Inget av det du skrev sparades i läsbar form" in text
    assert "Traceback" not in page and "secret detail" not in page and receipt not in page
    # Nothing is written while the request is answered (the line would carry
    # its time); the kind of failure, and nothing more, is written at day's end.
    assert operator_log.written_now() == []
    (line,) = operator_log.end_of_day()
    assert "unhandled RuntimeError in reporter.status" in line and line.endswith("once")
    assert "secret detail" not in line and receipt not in line
