"""Files a reporter attaches: checked by content, stripped of what identifies them."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa
from PIL import Image

from caseflow.store import EventStore
from caseflow.store.records import files_table, grants_table, reporter_index_table
from crypto.files import decrypt_stream
from crypto.sealing import open_grant, open_item
from tests.functional.blobs import stored_blob, stored_blob_ids
from tests.functional.pages import open_status, receipt_from, submit_report, text_of
from tests.unit.sanitize.attachments_samples import jpeg_with_gps, pdf_with_author


def _stored_file(deployment) -> tuple[dict, bytes]:
    """The one stored file of the one case, decrypted as its desk would."""
    with deployment.engine.connect() as conn:
        grant = conn.execute(
            sa.select(grants_table).where(grants_table.c.recipient.like("desk:%"))
        ).one()
        (file_id,) = conn.execute(sa.select(files_table.c.id)).one()
    desk = grant.recipient.split(":", 1)[1]
    key = open_grant(grant.sealed_key, grant.case_id, deployment.desk_keys[desk])
    event = next(
        e
        for e in EventStore(deployment.engine).read_stream(grant.case_id)
        if e.type == "ReporterFileAdded"
    )
    described = json.loads(open_item(key, grant.case_id, f"file-meta:{file_id}", event.body))
    blob = io.BytesIO(stored_blob(deployment.engine, file_id))
    content = b"".join(decrypt_stream(key, grant.case_id, f"file:{file_id}", blob))
    return described, content


def _gps_of(jpeg: bytes) -> dict:
    return dict(Image.open(io.BytesIO(jpeg)).getexif().get_ifd(0x8825))


def test_gps_and_camera_are_removed_and_the_reporter_is_told(deployment, client):
    original = jpeg_with_gps()
    assert _gps_of(original)  # the sample really carries a position
    status, page = submit_report(client, files=(io.BytesIO(original), "bild.pdf"))
    assert status == 200, text_of(page)
    text = text_of(page)
    assert "Position (GPS)" in text and "borttaget" in text
    described, stored = _stored_file(deployment)
    assert described["kind"] == "jpeg" and described["content_type"] == "image/jpeg"
    assert described["checked"] and all(n["removed"] for n in described["notes"])
    assert _gps_of(stored) == {}
    Image.open(io.BytesIO(stored)).load()  # still a picture
    status, page = open_status(client, receipt_from(page))
    assert "Position (GPS)" in text_of(page)


def test_the_reporter_may_keep_the_details_as_evidence(deployment, client):
    status, page = submit_report(
        client, keep_metadata="y", files=(io.BytesIO(pdf_with_author()), "protokoll.pdf")
    )
    assert status == 200, text_of(page)
    described, stored = _stored_file(deployment)
    assert described["kind"] == "pdf"
    assert described["notes"] and not any(n["removed"] for n in described["notes"])
    assert b"/Author" in stored


def test_active_content_is_refused_with_a_reason_and_nothing_is_kept(deployment, client):
    status, page = submit_report(
        client,
        files=[
            (io.BytesIO(jpeg_with_gps()), "ok.jpg"),
            (io.BytesIO(b"<html><script>alert(1)</script></html>"), "notes.txt"),
        ],
    )
    assert status == 400
    assert "Filen ”notes.txt” togs inte emot" in text_of(page)
    with deployment.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(reporter_index_table)).scalar() == 0
        )
    assert stored_blob_ids(deployment.engine) == []


def test_a_file_too_large_to_check_is_kept_and_said_so(database_url, tmp_path):
    from app import create_app
    from caseflow.store import create_engine, migrate
    from identity.bootstrap import bootstrap
    from tests.functional.conftest import HttpsClient, make_settings

    settings = make_settings(database_url, tmp_path / "data", max_check_bytes=1024)
    engine = create_engine(database_url)
    migrate(engine)
    bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    app.test_client_class = HttpsClient
    try:
        status, page = submit_report(
            app.test_client(), files=(io.BytesIO(pdf_with_author()), "stor.pdf")
        )
        assert status == 200, text_of(page)
        assert "för stor för att kontrolleras" in text_of(page)
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()
