"""What a file is, judged from its content: names and declared types are never believed."""

from __future__ import annotations

import os

import attachments_samples as samples
import pytest

from sanitize import SNIFF_BYTES, Family, Kind, Refused, accepted_summary, sniff

REAL_FILES = [
    (samples.jpeg_with_gps, Kind.JPEG),
    (samples.png_with_author, Kind.PNG),
    (samples.gif_with_comment, Kind.GIF),
    (samples.webp_with_exif, Kind.WEBP),
    (samples.pdf_with_author, Kind.PDF),
    (samples.docx, Kind.DOCX),
    (samples.odt, Kind.ODT),
    (samples.wav_with_info, Kind.WAV),
    (samples.mp3_with_id3, Kind.MP3),
    (samples.flac_with_comment, Kind.FLAC),
]


@pytest.mark.parametrize(("build", "kind"), REAL_FILES, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("name", ["photo.pdf", "rapport.docx", "", "virus.exe"])
def test_a_real_file_is_known_by_its_content_whatever_its_name(build, kind, name) -> None:
    assert sniff(build()[:SNIFF_BYTES], name) is kind


@pytest.mark.parametrize(
    ("head", "code"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(56), "executable"),
        (b"\x7fELF\x02\x01\x01" + bytes(9), "executable"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", "executable"),
        (b"#!/bin/sh\nrm -rf ~\n", "script"),
        (b"\xef\xbb\xbf#!/usr/bin/env python3\nprint(1)\n", "script"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "active_content"),
        (b"  <html>\n<body onload='x()'>", "active_content"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>',
            "active_content",
        ),
        (b"<svg onload=alert(1)>", "active_content"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "archive"),
        (b"Rar!\x1a\x07\x01\x00", "archive"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "archive"),
        (bytes(257) + b"ustar\x0000" + bytes(100), "archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "legacy_office"),
        (b"{\\rtf1\\ansi{\\object\\objemb}}", "rtf"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "video"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video"),
        (b"", "empty"),
        (bytes(range(256)), "unknown"),
        (b"\xff\xfeH\x00e\x00j\x00", "unknown"),
    ],
)
def test_what_is_not_on_the_allow_list_is_refused(head: bytes, code: str) -> None:
    with pytest.raises(Refused) as refused:
        sniff(head, "anteckningar.txt")
    assert refused.value.code == code
    assert refused.value.message("sv")
    assert refused.value.message("en")


def test_a_plain_zip_is_an_archive_even_when_called_docx() -> None:
    plain = samples.zip_of({"a.txt": b"hej", "b.txt": b"svejs"})
    with pytest.raises(Refused) as refused:
        sniff(plain, "rapport.zip")
    assert refused.value.code == "archive"
    assert refused.value.message("en").startswith("This kind of file is not accepted: ")
    assert refused.value.message("sv").startswith("Den här sortens fil tas inte emot: ")


def test_an_office_zip_whose_head_does_not_say_which_may_take_the_name_as_a_hint() -> None:
    # Content types stored after a large first part: the head shows a zip with
    # [Content_Types].xml somewhere but not which application. The name picks,
    # and inspect() confirms (see test_attachments_refusals).
    big_first = samples.zip_of({"customXml/item1.bin": os.urandom(SNIFF_BYTES * 2)})
    assert sniff(big_first[:SNIFF_BYTES], "budget.xlsx") is Kind.XLSX


def test_text_kinds_are_told_apart_by_content() -> None:
    assert sniff("Hej!\nJag vill anmäla något.\n".encode(), "x.csv") is Kind.TEXT
    assert sniff(b"namn;belopp\nAnna;100\nBertil;200\n", "x.txt") is Kind.CSV
    mail = b"From: a@example.se\r\nTo: b@example.se\r\nDate: Mon, 1 Jan 2024\r\n\r\nHej\r\n"
    assert sniff(mail, "x.txt") is Kind.EML
    # Windows-1252 Swedish text without control characters is text too.
    assert sniff("Räksmörgås på måndag\r\n".encode("cp1252"), "") is Kind.TEXT


def test_a_script_without_shebang_is_just_text() -> None:
    # Indistinguishable from prose; safe because text is served as text/plain.
    assert sniff(b"echo hej\nrm -rf /tmp/x\n", "run.sh") is Kind.TEXT


def test_every_kind_has_names_and_a_family() -> None:
    for kind in Kind:
        assert kind.plain_name("sv") and kind.plain_name("en")
        assert isinstance(kind.family, Family)
        assert kind.media_type and kind.extension
    assert "PDF" in accepted_summary("en")
