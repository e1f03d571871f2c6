"""Bytes to text, with a clear error for what is not text."""

from __future__ import annotations

import codecs

from kg.errors import ParseError

__all__ = ["decode_bytes"]

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


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
                raise ParseError(f"invalid {encoding} after its byte-order mark: {exc.reason}", file=file) from exc
    if b"\x00" in data[:8192]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ParseError("binary file (NUL byte), not a markdown document", file=file, line=line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 4]
        raise ParseError(f"invalid UTF-8 (bytes {bad!r}); save the file as UTF-8", file=file, line=line) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")
