"""Metadata on real files: found, shown in plain words, removed; the cleaned file still opens."""

from __future__ import annotations

import io
import zipfile

import attachments_samples as samples
import defusedxml.ElementTree as SafeET
import mutagen.flac
import mutagen.mp3
import pytest
from PIL import Image
from pypdf import PdfReader

from sanitize import (
    CleanReport,
    Inspection,
    Kind,
    clean,
    inspect,
    needs_whole_file,
    sniff,
)


def _texts(inspection: Inspection, locale: str) -> str:
    return "\n".join(finding.text(locale) for finding in inspection.findings)


def _cleaned(data: bytes, kind: Kind) -> tuple[bytes, CleanReport]:
    sink = io.BytesIO()
    report = clean(data, kind, sink)
    assert report.bytes_written == len(sink.getvalue())
    return sink.getvalue(), report


def _assert_nothing_identifying(data: bytes, kind: Kind) -> None:
    again = inspect(data, kind)
    assert again.accepted
    assert again.identifying == [], _texts(again, "en")


def test_a_phone_photo_gives_away_where_and_with_what_it_was_taken() -> None:
    photo = samples.jpeg_with_gps()
    found = inspect(photo, sniff(photo, "photo.pdf"))
    assert found.accepted
    english = _texts(found, "en")
    assert "Position (GPS) where the photo was taken: 59.3293 N, 18.0687 E" in english
    assert "Camera: Apple iPhone 13" in english
    assert "Serial number: F17GH4ABC123" in english
    assert "Author: Anna Svensson" in english
    assert "Comment: Annas foto" in english
    swedish = _texts(found, "sv")
    assert "Position (GPS) där bilden togs: 59,3293 N; 18,0687 Ö" in swedish
    assert "Kamera: Apple iPhone 13" in swedish


def test_a_cleaned_photo_keeps_its_pixels_and_orientation_and_nothing_else() -> None:
    photo = samples.jpeg_with_gps()
    cleaned, report = _cleaned(photo, Kind.JPEG)
    assert {f.code for f in report.removed} >= {"gps", "camera", "serial", "author"}
    for secret in (b"iPhone", b"Anna", b"F17GH4", b"Bildverktyg"):
        assert secret not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image, Image.open(io.BytesIO(photo)) as original:
        assert image.tobytes() == original.tobytes()  # segments copied, not re-encoded
        exif = image.getexif()
        assert dict(exif) == {0x0112: 6}  # only the orientation is left
        assert not exif.get_ifd(0x8825)
    _assert_nothing_identifying(cleaned, Kind.JPEG)


def test_a_png_author_and_xmp_are_found_and_removed() -> None:
    png = samples.png_with_author()
    found = inspect(png, sniff(png, "x.jpg"))
    assert "Author: Anna Svensson" in _texts(found, "en")
    assert "Författare: Anna Svensson" in _texts(found, "sv")
    assert "Comment: skannat på kontoret" in _texts(found, "en")  # a compressed zTXt chunk
    cleaned, _ = _cleaned(png, Kind.PNG)
    with Image.open(io.BytesIO(cleaned)) as image, Image.open(io.BytesIO(png)) as original:
        assert image.tobytes() == original.tobytes()
        assert not image.text
    _assert_nothing_identifying(cleaned, Kind.PNG)


def test_gif_comment_and_webp_exif_are_removed() -> None:
    for data, kind, secret in (
        (samples.gif_with_comment(), Kind.GIF, b"Anna"),
        (samples.webp_with_exif(), Kind.WEBP, b"EOS R6"),
    ):
        assert inspect(data, kind).identifying
        cleaned, _ = _cleaned(data, kind)
        assert secret not in cleaned
        with Image.open(io.BytesIO(cleaned)) as image, Image.open(io.BytesIO(data)) as original:
            assert image.convert("RGB").tobytes() == original.convert("RGB").tobytes()
        _assert_nothing_identifying(cleaned, kind)


def test_a_pdf_author_and_producer_are_found_and_removed_and_the_text_stays() -> None:
    document = samples.pdf_with_author()
    found = inspect(document, sniff(document, "photo.jpg"))
    english = _texts(found, "en")
    assert "Author: Anna Svensson" in english
    assert "Producer/Creator tool: Kontorsskrivaren 2.0" in english
    assert "Creation date: 2024-03-14 08:15:00" in english
    cleaned, report = _cleaned(document, Kind.PDF)
    assert {"author", "producer", "created"} <= {f.code for f in report.removed}
    reader = PdfReader(io.BytesIO(cleaned))
    assert len(reader.pages) == 1
    assert samples.PAGE_TEXT in reader.pages[0].extract_text()
    assert not reader.metadata
    assert reader.xmp_metadata is None
    assert b"Anna" not in cleaned
    _assert_nothing_identifying(cleaned, Kind.PDF)


def test_a_docx_creator_and_company_are_found_and_removed_and_the_text_stays() -> None:
    document = samples.docx()
    found = inspect(document, sniff(document, "photo.pdf"))
    english = _texts(found, "en")
    assert "Author: Anna Svensson" in english
    assert "Last modified by: Anna S" in english
    assert "Company: Myndigheten för exempel" in english
    assert "Manager: Carl Chef" in english
    assert "Custom property: Diarienummer: 2024/123" in english
    assert "Organisation: Myndigheten för exempel" in _texts(found, "sv")
    # The author of a tracked change lives in the text itself: shown, not removed.
    kept = [f for f in found.findings if not f.removable]
    assert [f.value for f in kept] == ["Bertil Berg"]

    cleaned, report = _cleaned(document, Kind.DOCX)
    assert report.kept == kept
    with zipfile.ZipFile(io.BytesIO(cleaned)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert "docProps/custom.xml" not in names
        for name in names:
            if name.endswith((".xml", ".rels")):
                SafeET.fromstring(archive.read(name))  # every part still parses
        assert archive.read("word/document.xml") == samples.DOCUMENT_XML
        assert b"custom" not in archive.read("[Content_Types].xml")
        assert b"custom" not in archive.read("_rels/.rels")
        assert b"document.xml" in archive.read("_rels/.rels")
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
    for secret in (b"Anna", b"Myndigheten", b"Carl Chef", b"Diarienummer"):
        assert secret not in b"".join(
            zipfile.ZipFile(io.BytesIO(cleaned)).read(n)
            for n in zipfile.ZipFile(io.BytesIO(cleaned)).namelist()
        )
    _assert_nothing_identifying(cleaned, Kind.DOCX)


def test_a_photo_pasted_into_a_docx_is_cleaned_too() -> None:
    document = samples.docx(extra={"word/media/image1.jpeg": samples.jpeg_with_gps()})
    found = inspect(document, Kind.DOCX)
    assert "gps" in {f.code for f in found.findings}
    cleaned, _ = _cleaned(document, Kind.DOCX)
    with zipfile.ZipFile(io.BytesIO(cleaned)) as archive:
        image = archive.read("word/media/image1.jpeg")
    assert inspect(image, Kind.JPEG).identifying == []
    Image.open(io.BytesIO(image)).load()


def test_an_odt_initial_creator_and_printer_are_found_and_removed() -> None:
    document = samples.odt()
    found = inspect(document, sniff(document, "x.docx"))
    english = _texts(found, "en")
    assert "Author: Anna Svensson" in english
    assert "Printer: HP-Plan3-Ekonomi" in english
    cleaned, _ = _cleaned(document, Kind.ODT)
    with zipfile.ZipFile(io.BytesIO(cleaned)) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("content.xml") == samples.ODT_CONTENT
        SafeET.fromstring(archive.read("meta.xml"))
        SafeET.fromstring(archive.read("settings.xml"))
        assert b"Anna" not in archive.read("meta.xml")
        assert b"HP-Plan3" not in archive.read("settings.xml")
    _assert_nothing_identifying(cleaned, Kind.ODT)


def test_audio_tags_are_found_and_removed_and_the_sound_stays() -> None:
    wav = samples.wav_with_info()
    assert "Artist: Anna Svensson" in _texts(inspect(wav, Kind.WAV), "en")
    cleaned, _ = _cleaned(wav, Kind.WAV)
    assert samples.SOUND in cleaned and b"Anna" not in cleaned
    assert int.from_bytes(cleaned[4:8], "little") == len(cleaned) - 8
    _assert_nothing_identifying(cleaned, Kind.WAV)

    mp3 = samples.mp3_with_id3()
    found = inspect(mp3, sniff(mp3, "x.wav"))
    assert {"Artist: Anna Svensson", "Comment: Mötet 14 mars"} <= set(
        _texts(found, "en").splitlines()
    )
    cleaned, _ = _cleaned(mp3, Kind.MP3)
    assert mutagen.mp3.MP3(io.BytesIO(cleaned)).tags is None
    assert cleaned.endswith(mp3[-417 * 20 :])  # every audio frame unchanged
    _assert_nothing_identifying(cleaned, Kind.MP3)

    flac = samples.flac_with_comment()
    assert "Artist: Anna Svensson" in _texts(inspect(flac, Kind.FLAC), "en")
    cleaned, _ = _cleaned(flac, Kind.FLAC)
    assert not mutagen.flac.FLAC(io.BytesIO(cleaned)).tags
    assert cleaned.endswith(samples.FLAC_FRAMES) and b"Anna" not in cleaned
    _assert_nothing_identifying(cleaned, Kind.FLAC)


def test_an_email_shows_its_route_and_keeps_its_sender() -> None:
    mail = (
        b"Received: from mail.myndighet.se (10.1.2.3)\r\n\tby mx.example.se\r\n"
        b"X-Originating-IP: 10.20.30.40\r\nUser-Agent: Thunderbird 115\r\n"
        b"From: Chefen <chef@myndighet.se>\r\nTo: Anna <anna@myndighet.se>\r\n"
        b"Date: Mon, 4 Mar 2024 10:00:00 +0100\r\nSubject: Fakturan\r\n\r\nBetala den.\r\n"
    )
    found = inspect(mail, sniff(mail, "x.pdf"))
    english = _texts(found, "en")
    assert "X-Originating-IP: 10.20.30.40" in english
    assert "Software: Thunderbird 115" in english
    assert "Recipient (not removed): Anna <anna@myndighet.se>" in english
    cleaned, report = _cleaned(mail, Kind.EML)
    assert b"Received" not in cleaned and b"10.20.30.40" not in cleaned
    assert b"From: Chefen" in cleaned and cleaned.endswith(b"\r\n\r\nBetala den.\r\n")
    assert {f.code for f in report.kept} == {"mail_sender", "mail_recipient"}


def test_streaming_kinds_read_a_file_object_piece_by_piece() -> None:
    assert not needs_whole_file(Kind.JPEG) and not needs_whole_file(Kind.TEXT)
    assert needs_whole_file(Kind.PDF) and needs_whole_file(Kind.DOCX)
    # A big text through a file object: inspected and copied without error.
    text = ("rad med text, " * 10 + "\n").encode() * 20_000  # ~3 MB
    assert inspect(io.BytesIO(text), Kind.TEXT).accepted
    cleaned, _ = _cleaned(io.BytesIO(text), Kind.TEXT)  # type: ignore[arg-type]
    assert cleaned == text


@pytest.mark.parametrize("locale", ["sv", "sv_SE", "en", "en_GB"])
def test_every_finding_reads_in_both_languages(locale: str) -> None:
    for finding in inspect(samples.jpeg_with_gps(), Kind.JPEG).findings:
        assert finding.text(locale)
