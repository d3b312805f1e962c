"""Property-based fuzzing of every form: never a 500, never a partial case."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from caseflow.store import create_engine, migrate
from caseflow.store.records import files_table, grants_table, reporter_index_table
from identity.bootstrap import bootstrap
from tests.functional.blobs import stored_blob_ids
from tests.functional.conftest import HttpsClient, make_settings
from tests.functional.pages import hidden_fields, open_status, receipt_from, submit_report

NO_LIMITS = {
    f"limit_{action}{lane}": "100000/minute"
    for action in ("report", "receipt", "message")
    for lane in ("", "_fresh", "_patient")
}

REPORT_FIELDS = [
    "category",
    "agency",
    "what",
    "when",
    "where",
    "persons",
    "senior_officials",
    "contact_choice",
    "contact",
    "form_token",
    "csrf_token",
    "files",
    "junk",
]

nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(
        [
            "\x00",
            "\ud7ff\x00\x1b[2J",
            "<script>alert(1)</script>",
            "bribery",
            "procurement",
            "skatteverket",
            "give",
            "none",
            "y",
            "A" * 25_000,
            "\u202e\u2066evil\u2069",
            "../../etc/passwd",
        ]
    ),
)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory):
    base: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{base / 'db.sqlite3'}"
    conf = make_settings(url, base / "data", **NO_LIMITS)
    engine = create_engine(url)
    migrate(engine)
    bootstrap(engine, conf)
    app = create_app(conf, {"TESTING": True})
    app.test_client_class = HttpsClient
    yield app, engine, conf
    app.extensions["visselpipa.engine"].dispose()
    engine.dispose()


def _assert_no_partial_case(engine, conf) -> None:
    with engine.connect() as conn:
        streams = set(
            conn.execute(
                sa.text("SELECT stream_id FROM events WHERE type = 'ReportReceived'")
            ).scalars()
        )
        indexed = set(conn.execute(sa.select(reporter_index_table.c.case_id)).scalars())
        granted = set(conn.execute(sa.select(grants_table.c.case_id)).scalars())
        file_ids = set(conn.execute(sa.select(files_table.c.id)).scalars())
    assert streams == indexed == granted
    assert set(stored_blob_ids(engine)) == file_ids  # no orphaned upload, no missing one
    assert not (conf.data_dir / "blobs").exists()  # nothing of a file is a file


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(st.sampled_from(REPORT_FIELDS), nasty_text, max_size=len(REPORT_FIELDS)),
    keep_tokens=st.booleans(),
    file_name=st.one_of(st.none(), nasty_text),
)
def test_report_form_never_fails_and_never_stores_half_a_case(
    fuzz_app, fields, keep_tokens, file_name
):
    app, engine, conf = fuzz_app
    client = app.test_client()
    page = client.get("/report").get_data(as_text=True)
    data: dict[str, object] = dict(fields)
    if keep_tokens:
        data.update(hidden_fields(page))
    if file_name is not None:
        data["files"] = (io.BytesIO(b"evidence \x00\xff"), file_name)
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 400, 409, 413), response.status_code
    _assert_no_partial_case(engine, conf)


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=2000),
    boundary=st.text(alphabet="abcXYZ-_'=0123456789 ", max_size=80),
    path=st.sampled_from(["/report", "/status", "/status/message", "/status/files"]),
)
def test_malformed_multipart_is_answered_with_4xx(fuzz_app, body, boundary, path):
    app, engine, conf = fuzz_app
    client = app.test_client()
    client.get("/report")
    response = client.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert 400 <= response.status_code < 500
    _assert_no_partial_case(engine, conf)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(receipt=nasty_text, message=nasty_text)
def test_status_forms_never_fail(fuzz_app, receipt, message):
    app, engine, conf = fuzz_app
    client = app.test_client()
    assert open_status(client, receipt)[0] in (200, 400)
    status, page = submit_report(client)
    status, page = open_status(client, receipt_from(page))
    response = client.post("/status/message", data={**hidden_fields(page), "message": message})
    assert response.status_code in (303, 400)
    response = client.post(
        "/status/files",
        data={
            **hidden_fields(page),
            "files": (io.BytesIO(message.encode("utf-8", "replace")), message or "x"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code in (303, 400)
    _assert_no_partial_case(engine, conf)
