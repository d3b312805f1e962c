"""Nothing a reporter writes exists anywhere on the server in readable form."""

from __future__ import annotations

import io
import logging
import secrets
import tempfile
from pathlib import Path

import sqlalchemy as sa

from caseflow.store.metadata import metadata
from tests.functional.pages import open_status, receipt_from, submit_report, text_of


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _rows_containing(engine, needle: bytes) -> list[str]:
    hits = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for column, value in row._mapping.items():
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    if needle in raw:
                        hits.append(f"{table.name}.{column}")
    return hits


def test_marker_in_every_field_and_file_is_nowhere_but_readable_with_the_receipt(
    deployment, client, tmp_path, monkeypatch
):
    marker = f"MARKER{secrets.token_hex(8)}"
    needle = marker.encode()
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    log_file = tmp_path / "app.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        status, page = submit_report(
            client,
            what=f"What happened: {marker} and more than twenty characters.",
            when=f"when {marker}",
            where=f"where {marker}",
            persons=f"persons {marker}",
            contact_choice="give",
            contact=f"contact {marker}",
            files=[
                (io.BytesIO(b"A" * 70000 + needle + b"B" * 10), f"{marker}.txt"),
                (io.BytesIO(needle), "small.txt"),
            ],
        )
        assert status == 200, text_of(page)
        receipt = receipt_from(page)
        status, page = open_status(deployment.client(), receipt)
        # A follow-up message carries it too.
        from tests.functional.pages import hidden_fields

        other = deployment.client()
        status, page = open_status(other, receipt)
        other.post("/status/message", data={**hidden_fields(page), "message": f"msg {marker}"})
        page = other.get("/status").get_data(as_text=True)
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous_level)

    text = text_of(page)
    for expected in (
        f"What happened: {marker}",
        f"when {marker}",
        f"where {marker}",
        f"persons {marker}",
        f"contact {marker}",
        f"{marker}.txt",
        f"msg {marker}",
    ):
        assert expected in text

    deployment.engine.dispose()
    deployment.app.extensions["visselpipa.engine"].dispose()  # flush SQLite's WAL
    assert _files_containing(tmp_path, needle) == []
    assert _rows_containing(deployment.engine, needle) == []
    assert needle not in log_file.read_bytes()
    assert list(temp.iterdir()) == []
