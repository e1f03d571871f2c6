"""N-Quads terms as text: the build's fast path.

Every IRI reaching here is minted by ``kg.iri`` or checked by ``safe_iri``; every literal is
escaped by ``lit``, so each line is valid N-Quads whatever the input text was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from json.encoder import encode_basestring

from kg.namespaces import XSD

__all__ = ["date_lit", "decimal_lit", "encoded", "int_lit", "iri", "lit", "term"]


def iri(value: str) -> str:
    """``<value>``; the caller guarantees ``value`` is a valid absolute IRI."""
    return f"<{value}>"


@cache
def term(value) -> str:
    """An ontology term (``FS.Signal``) as ``<…>``, made once."""
    return f"<{value}>"


def lit(text: str) -> str:
    """A plain string literal, escaped.

    JSON's string syntax with ``ensure_ascii=False`` escapes exactly what N-Quads requires
    (quote, backslash, line breaks, other controls as ``\\uXXXX``); its encoder is called
    directly, without ``json.dumps``'s per-call overhead.

    >>> lit('say "hi"\\n')
    '"say \\\\"hi\\\\"\\\\n"'
    """
    return encode_basestring(text)


_INT = f"^^<{XSD.integer}>"
_DATE = f"^^<{XSD.date}>"
_DECIMAL = f"^^<{XSD.decimal}>"


def int_lit(value: int) -> str:
    return f'"{int(value)}"{_INT}'


def date_lit(iso: str) -> str:
    return f'"{iso}"{_DATE}'


def decimal_lit(value: float) -> str:
    return f'"{value:.3f}"{_DECIMAL}'


def encoded(lines: Iterable[str], per: int = 4096) -> Iterator[bytes]:
    """N-Quads lines as UTF-8 chunks of ``per`` lines: a large graph is never joined into one
    string and then one bytes object, two more copies of it."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == per:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")
