"""Text repair and normalisation shared by every stage."""

from __future__ import annotations

import functools
import re
import unicodedata

import ftfy

__all__ = ["clean_text", "normalize_label"]

_SPACE = re.compile(r"\s+")
# C0/C1 controls and bidi overrides carry no meaning in a summary and break some parsers;
# tabs and newlines are folded into spaces by the whitespace rule instead.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u061c]")
_EDGE_PUNCT = " \t\"'`.,;:!?*_-–—·•"


def clean_text(text: str) -> str:
    """Repair mojibake, drop invisible controls and fold whitespace.

    >>> clean_text("the governmentâ€™s  plan\\u200b")
    'the government’s plan'
    """
    if not text:
        return ""
    if text.isascii():
        # Mojibake needs non-ASCII characters; skipping ftfy here makes bulk input ~10x faster.
        if text.isprintable():
            # No controls, tabs or line breaks: the only whitespace is the space itself.
            return (_SPACE.sub(" ", text) if "  " in text else text).strip()
        return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()
    fixed = ftfy.fix_text(text, normalization="NFC", unescape_html=False, uncurl_quotes=False)
    fixed = _INVISIBLE.sub("", fixed)
    return _SPACE.sub(" ", fixed).strip()


@functools.lru_cache(maxsize=1 << 18)
def normalize_label(text: str) -> str:
    """The form two labels must share to be one concept: case-folded, NFKC, trimmed.

    >>> normalize_label("  Public   Sector. ")
    'public sector'
    """
    folded = unicodedata.normalize("NFKC", clean_text(text)).casefold()
    return _SPACE.sub(" ", folded).strip(_EDGE_PUNCT)
