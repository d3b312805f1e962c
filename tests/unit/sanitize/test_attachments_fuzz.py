"""Hostile bytes: sniff and inspect answer with a refusal or a result, never another exception."""

from __future__ import annotations

import contextlib
import io

import attachments_samples as samples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitize import AttachmentError, Inspection, Kind, clean, inspect, sniff

_SAMPLES = {
    Kind.JPEG: samples.jpeg_with_gps(),
    Kind.PNG: samples.png_with_author(),
    Kind.GIF: samples.gif_with_comment(),
    Kind.WEBP: samples.webp_with_exif(),
    Kind.PDF: samples.pdf_with_author(),
    Kind.DOCX: samples.docx(),
    Kind.ODT: samples.odt(),
    Kind.WAV: samples.wav_with_info(),
    Kind.MP3: samples.mp3_with_id3(),
    Kind.FLAC: samples.flac_with_comment(),
}
_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_inspect(data: bytes, kind: Kind) -> None:
    result = inspect(data, kind, max_in_memory_bytes=1024 * 1024)
    assert isinstance(result, Inspection)
    for finding in result.findings:
        assert finding.text("sv") and finding.text("en")
    with contextlib.suppress(AttachmentError):
        clean(data, kind, io.BytesIO(), max_in_memory_bytes=1024 * 1024)


@_FUZZ
@given(st.binary(max_size=4096), st.text(max_size=40))
def test_sniff_answers_any_bytes_with_a_kind_or_a_refusal(data: bytes, name: str) -> None:
    with contextlib.suppress(AttachmentError):
        assert isinstance(sniff(data, name), Kind)


@_FUZZ
@given(st.sampled_from(list(Kind)), st.binary(max_size=2048))
def test_inspect_answers_any_bytes_for_any_kind(kind: Kind, data: bytes) -> None:
    _check_inspect(data, kind)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_SAMPLES)), st.data())
def test_inspect_and_clean_survive_damaged_real_files(kind: Kind, data: st.DataObject) -> None:
    original = bytearray(_SAMPLES[kind])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    _check_inspect(bytes(original[:cut]), kind)
    with contextlib.suppress(AttachmentError):
        sniff(bytes(original[:cut]), "x")
