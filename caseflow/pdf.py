"""Text for the PDF core fonts, shared by the case-file export and the published reports.

The core fonts (Helvetica, Courier) cover Latin-1 only: Swedish letters are in
it, typographic dashes and quotes are not.
"""

from __future__ import annotations

_LATIN1 = str.maketrans({"–": "-", "—": "-", "…": "...", "’": "'", "“": '"', "”": '"'})


def pdf_text(text: str) -> str:
    """``text`` in the core PDF fonts' Latin-1 (å ä ö are in it; a dash becomes "-")."""
    # Anything else outside Latin-1 becomes "?" rather than failing the report.
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")
