"""Audio: tags found and removed (mutagen for MP3, AAC, M4A, Ogg, Opus, FLAC; own code for WAV).

All audio kinds need the whole file in memory: mutagen edits files in place
(here a :class:`io.BytesIO` copy), and WAV's RIFF size at the front must be
rewritten after chunks are dropped. Findings are tags: artist, title,
comment, dates, the encoding program, embedded pictures, location.

Cleaning keeps the sound data unchanged and removes:

* MP3/AAC: ID3v1, ID3v2 and APEv2 tags.
* M4A: the ``udta``, ``meta`` and ``uuid`` (XMP) boxes in the movie and its
  tracks (iTunes tags, and the ``©xyz`` position an iPhone writes into voice
  memos). They are turned into ``free`` boxes of the same size, their
  content zeroed, so no chunk offset in the file moves.
* Ogg Vorbis/Opus: all comments (the encoder's vendor string stays).
* FLAC: Vorbis comments, pictures and application blocks (which can hold a
  whole original WAV header), plus any ID3 tag.
* WAV: everything except the ``fmt``, ``fact`` and ``data`` chunks (LIST/INFO
  tags, ID3, broadcast ``bext`` originator data, iXML, XMP).

A file that holds a video track (an MP4 or Ogg Theora) is refused: video is
not on the allow-list.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any, Final

import mutagen
import mutagen.aac
import mutagen.apev2
import mutagen.flac
import mutagen.id3
import mutagen.mp3
import mutagen.mp4
import mutagen.oggopus
import mutagen.oggvorbis

from sanitize._io import Damaged
from sanitize._xmp import xmp_findings
from sanitize.errors import Refused
from sanitize.findings import Inspection
from sanitize.kinds import Kind

__all__ = ["clean_audio", "inspect_audio"]

#: Tag names (ID3 frame ids, MP4 atoms, Vorbis comment keys, RIFF INFO ids,
#: all upper-cased) → finding code. Anything else is shown as a generic tag.
_TAGS: Final = {
    "TPE1": "artist",
    "TPE2": "artist",
    "TPE3": "artist",
    "TPE4": "artist",
    "TCOM": "author",
    "TEXT": "author",
    "TOLY": "author",
    "TIT2": "title",
    "TALB": "album",
    "COMM": "comment",
    "TENC": "encoder",
    "TSSE": "encoder",
    "TDRC": "created",
    "TYER": "created",
    "TDEN": "created",
    "TCOP": "copyright",
    "APIC": "picture",
    "©ART": "artist",
    "AART": "artist",
    "©NAM": "title",
    "©ALB": "album",
    "©CMT": "comment",
    "©DAY": "created",
    "©TOO": "encoder",
    "©WRT": "author",
    "CPRT": "copyright",
    "COVR": "picture",
    "©XYZ": "location",
    "ARTIST": "artist",
    "PERFORMER": "artist",
    "ALBUMARTIST": "artist",
    "TITLE": "title",
    "ALBUM": "album",
    "COMMENT": "comment",
    "DESCRIPTION": "comment",
    "DATE": "created",
    "ENCODER": "encoder",
    "ENCODED_BY": "encoder",
    "COPYRIGHT": "copyright",
    "LOCATION": "location",
    "ORGANIZATION": "company",
    "METADATA_BLOCK_PICTURE": "picture",
    "IART": "artist",
    "ICMT": "comment",
    "INAM": "title",
    "ICRD": "created",
    "ISFT": "software",
    "IENG": "author",
    "ICOP": "copyright",
    "ITCH": "author",
    "ISBJ": "subject",
    "IKEY": "keywords",
    "IPRD": "album",
}
_NO_VALUE: Final = frozenset({"picture"})


def _tag(inspection: Inspection, key: str, value: Any) -> None:
    code = _TAGS.get(key.upper())
    text = value if isinstance(value, str) else _value_text(value)
    if code is None:
        inspection.add("tag", f"{key}: {text}".rstrip(": "))
    elif code in _NO_VALUE:
        inspection.add(code)
    elif text:
        inspection.add(code, text)


def _value_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return ""  # binary payloads (pictures, private frames) are shown by their label
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value if _value_text(v))
    if isinstance(value, mutagen.mp4.MP4Cover):
        return ""
    return str(value)


def _id3_findings(tags: mutagen.id3.ID3, inspection: Inspection) -> None:
    for frame in tags.values():  # type: ignore[no-untyped-call]
        frame_id = frame.FrameID
        if frame_id in ("APIC", "PRIV", "GEOB", "MCDI", "UFID"):
            _tag(inspection, frame_id, b"")
        else:
            _tag(inspection, frame_id, str(frame))


# -- MP4 boxes ----------------------------------------------------------------

_CONTAINERS: Final = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"})
_PRIVATE_BOXES: Final = frozenset({b"udta", b"meta", b"uuid", b"XMP_"})


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, payload start, box end) for each box in ``data[start:end]``."""
    at = start
    while at + 8 <= end:
        size = int.from_bytes(data[at : at + 4], "big")
        box_type = bytes(data[at + 4 : at + 8])
        header = 8
        if size == 1:
            if at + 16 > end:
                raise Damaged("cut short")
            size = int.from_bytes(data[at + 8 : at + 16], "big")
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise Damaged("bad box")
        yield box_type, at, at + header, at + size
        at += size


def _mp4_walk(data: bytearray, inspection: Inspection, clean: bool) -> None:
    """Refuse video tracks; find (and with ``clean`` blank) private boxes."""
    stack = [(0, len(data), b"")]
    while stack:
        start, end, parent = stack.pop()
        for box_type, box_at, payload_at, box_end in _boxes(data, start, end):
            if box_type == b"hdlr" and parent == b"mdia":
                if data[payload_at + 8 : payload_at + 12] == b"vide":
                    raise Refused("video")
            elif box_type in _PRIVATE_BOXES and parent in (b"", b"moov", b"trak"):
                _private_box(data, box_type, payload_at, box_end, inspection)
                if clean:
                    # Same size, so no offset elsewhere in the file changes.
                    data[box_at + 4 : box_at + 8] = b"free"
                    data[payload_at:box_end] = bytes(box_end - payload_at)
            elif box_type in _CONTAINERS:
                stack.append((payload_at, box_end, box_type))


def _private_box(
    data: bytearray, box_type: bytes, start: int, end: int, inspection: Inspection
) -> None:
    if box_type == b"udta":
        for child, _, payload_at, child_end in _boxes(data, start, end):
            name = child.decode("latin-1")
            if child[:1] == b"\xa9":
                # QuickTime text: 16-bit length, 16-bit language, then the text.
                text = bytes(data[payload_at + 4 : child_end]).decode("utf-8", "replace")
                _tag(inspection, name, text)
            elif child != b"meta":
                _tag(inspection, name, "")
    elif box_type == b"uuid" or box_type == b"XMP_":
        packet = bytes(data[start:end])
        xmp_findings(packet[16:] if box_type == b"uuid" else packet, inspection)


# -- WAV ----------------------------------------------------------------------

_WAV_KEEP: Final = frozenset({b"fmt ", b"fact", b"data"})


def _wav(data: bytes, inspection: Inspection) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise Damaged("not a WAV")
    end = min(8 + int.from_bytes(data[4:8], "little"), len(data))
    kept: list[bytes] = []
    at = 12
    has_data = False
    while at + 8 <= end:
        chunk_id = data[at : at + 4]
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        payload = data[at + 8 : at + 8 + size]
        if len(payload) != size:
            raise Damaged("cut short")
        whole_chunk = data[at : at + 8 + size] + b"\x00" * (size & 1)
        at += 8 + size + (size & 1)
        if chunk_id in _WAV_KEEP:
            has_data = has_data or chunk_id == b"data"
            kept.append(whole_chunk)
        elif chunk_id == b"LIST" and payload[:4] == b"INFO":
            for info_id, _, info_at, info_end in _riff_chunks(payload, 4):
                text = payload[info_at:info_end].rstrip(b"\x00").decode("latin-1")
                _tag(inspection, info_id.decode("latin-1"), text)
        elif chunk_id in (b"id3 ", b"ID3 "):
            try:
                _id3_findings(mutagen.id3.ID3(io.BytesIO(payload)), inspection)  # type: ignore[no-untyped-call]
            except Exception:  # noqa: BLE001 - a broken tag is dropped all the same
                inspection.add("metadata_block")
        elif chunk_id == b"bext":
            originator = payload[256:288].rstrip(b"\x00").decode("latin-1")
            if originator:
                inspection.add("device", originator)
            else:
                inspection.add("metadata_block")
            stamp = payload[320:338].rstrip(b"\x00").decode("latin-1")
            if stamp.strip():
                inspection.add("created", stamp)
        elif chunk_id == b"_PMX":
            xmp_findings(payload, inspection)
        else:
            inspection.add("metadata_block")
    if not has_data:
        raise Damaged("no sound")
    if end < len(data):
        inspection.add("trailing_data")
    body = b"WAVE" + b"".join(kept)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _riff_chunks(data: bytes, start: int) -> Iterator[tuple[bytes, int, int, int]]:
    at = start
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        if at + 8 + size > len(data):
            raise Damaged("cut short")
        yield data[at : at + 4], at, at + 8, at + 8 + size
        at += 8 + size + (size & 1)


# -- entry points -------------------------------------------------------------

_Opener = Callable[[io.BytesIO], Any]
_OPENERS: Final[dict[Kind, _Opener]] = {
    Kind.MP3: mutagen.mp3.MP3,
    Kind.AAC: mutagen.aac.AAC,
    Kind.M4A: mutagen.mp4.MP4,
    Kind.OGG: mutagen.oggvorbis.OggVorbis,
    Kind.OPUS: mutagen.oggopus.OggOpus,
    Kind.FLAC: mutagen.flac.FLAC,
}


def _process(data: bytes, kind: Kind, inspection: Inspection, clean: bool) -> bytes:
    if kind is Kind.WAV:
        return _wav(data, inspection)
    if kind in (Kind.OGG, Kind.OPUS) and b"\x80theora" in data:
        raise Refused("video")
    buffer = io.BytesIO(data)
    audio = _OPENERS[kind](buffer)  # raises if there is no audio stream of this kind
    if kind in (Kind.MP3, Kind.AAC):
        if isinstance(audio.tags, mutagen.id3.ID3):
            _id3_findings(audio.tags, inspection)
        try:
            ape: Any = mutagen.apev2.APEv2(io.BytesIO(data))  # type: ignore[no-untyped-call]
            for key, value in ape.items():
                _tag(inspection, key, str(value))
        except mutagen.apev2.APENoHeaderError:
            pass
        if clean:
            buffer.seek(0)
            mutagen.id3.delete(buffer)
            buffer.seek(0)
            mutagen.apev2.delete(buffer)
    elif kind is Kind.M4A:
        for key, value in (audio.tags or {}).items():
            _tag(inspection, key.split(":")[-1] if key.startswith("----") else key, value)
        raw = bytearray(data)
        _mp4_walk(raw, inspection, clean)
        return bytes(raw)
    else:  # Vorbis comments: Ogg, Opus, FLAC
        for key, value in audio.tags or []:
            _tag(inspection, key, value)
        if kind is Kind.FLAC:
            if audio.pictures:
                inspection.add("picture")
            if any(block.code == 2 for block in audio.metadata_blocks):
                inspection.add("metadata_block")  # APPLICATION blocks
            # mutagen.flac reads an ID3 tag in front of the stream but does not report it.
            if data.startswith(b"ID3"):
                try:
                    tag = mutagen.id3.ID3(io.BytesIO(data))  # type: ignore[no-untyped-call]
                    _id3_findings(tag, inspection)
                except Exception:  # noqa: BLE001 - a broken tag is dropped all the same
                    inspection.add("metadata_block")
        if clean:
            if kind is Kind.FLAC:
                audio.clear_pictures()
                audio.metadata_blocks[:] = [b for b in audio.metadata_blocks if b.code != 2]
                if audio.tags is not None:
                    audio.tags.clear()
                buffer.seek(0)
                audio.save(buffer, deleteid3=True)
            else:
                if audio.tags is not None:
                    audio.tags.clear()
                buffer.seek(0)
                audio.save(buffer)
    return buffer.getvalue()


def inspect_audio(data: bytes, kind: Kind, inspection: Inspection) -> None:
    """Record the file's tags; refuses a damaged file or one with video."""
    _run(data, kind, inspection, clean=False)


def clean_audio(data: bytes, kind: Kind, inspection: Inspection) -> bytes:
    """The file without its tags (see the module docstring)."""
    return _run(data, kind, inspection, clean=True)


def _run(data: bytes, kind: Kind, inspection: Inspection, clean: bool) -> bytes:
    try:
        return _process(data, kind, inspection, clean)
    except Refused:
        raise
    except Exception as error:  # noqa: BLE001 - mutagen and struct errors on hostile input
        raise Refused("damaged") from error
