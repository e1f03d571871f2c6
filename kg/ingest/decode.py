"""Bytes to text, with a clear error for what is not text."""

from __future__ import annotations

import codecs
import re

from kg.errors import ParseError

__all__ = ["decode_bytes"]

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_LINE_END = re.compile(rb"\r\n?|\n")


def _line_at(data: bytes, offset: int) -> int:
    """The 1-based line of byte ``offset``, whichever line ends the file uses."""
    return len(_LINE_END.findall(data, 0, offset)) + 1


def decode_bytes(data: bytes, file: str) -> str:
    """Decode a document's bytes: UTF-8, or UTF-16/32 when a byte-order mark says so.

    Raises:
        ParseError: empty, binary (NUL bytes without a BOM) or invalid UTF-8, naming the line
            and the offending bytes.
    """
    if not data.strip():
        raise ParseError("empty file", file=file)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
            except UnicodeDecodeError as exc:
                line = len(re.findall(r"\r\n?|\n", data[: exc.start].decode(encoding, errors="replace"))) + 1
                raise ParseError(f"invalid {encoding} after its byte-order mark: {exc.reason}", file=file, line=line) from exc
    if b"\x00" in data[:8192]:
        line = _line_at(data, data.index(b"\x00"))
        raise ParseError("binary file (NUL byte), not a text file", file=file, line=line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start)
        bad = data[exc.start: exc.start + 4]
        raise ParseError(f"invalid UTF-8 (bytes {bad!r}); save the file as UTF-8", file=file, line=line) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")
