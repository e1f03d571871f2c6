"""Minting stable, readable, always-valid IRIs.

An IRI segment is the label's slug when the slug can be read back into the normalised label
(``public sector`` → ``public-sector``); otherwise the slug is followed by ``_`` and a hash of
the label, so that distinct labels never share an IRI and clean slugs (which never contain
``_``) never meet hashed ones.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

from kg.namespaces import ID
from kg.text import normalize_label

__all__ = ["concept_iri", "document_iri", "entity_iri", "graph_iri", "mint_segment", "record_iri", "short_hash"]

_CLEAN = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_MAX_SLUG = 60


def short_hash(text: str, size: int = 10) -> str:
    """Hex digest prefix of ``text``'s SHA-256.

    >>> short_hash("abc")
    'ba7816bf8f'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


@functools.lru_cache(maxsize=1 << 18)
def mint_segment(label: str) -> str:
    """Return the IRI path segment for ``label``.

    >>> mint_segment("Public Sector")
    'public-sector'
    >>> mint_segment("e-commerce")
    'e-commerce_b5f3227337'
    """
    norm = normalize_label(label)
    if _CLEAN.fullmatch(norm) and len(norm) <= _MAX_SLUG:
        return norm.replace(" ", "-")
    ascii_form = unicodedata.normalize("NFKD", norm).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_form).strip("-")[:_MAX_SLUG].strip("-")
    return f"{slug}_{short_hash(norm)}" if slug else f"x_{short_hash(norm)}"


def document_iri(doc_id: str) -> str:
    """IRI of a document; ``doc_id`` is already a safe token."""
    return f"{ID}doc/{doc_id}"


def record_iri(doc_id: str, kind: str, segment: str) -> str:
    """IRI of one table row of a document."""
    return f"{ID}doc/{doc_id}/{kind}/{segment}"


def concept_iri(scheme: str, label: str) -> str:
    """IRI of the concept with ``label`` in ``scheme`` (``keyword``, ``theme`` …)."""
    return f"{ID}{scheme}/{mint_segment(label)}"


def entity_iri(kind: str, key: str) -> str:
    """IRI of a resolved entity of ``kind`` with stable ``key``."""
    return f"{ID}{kind}/{mint_segment(key)}"


def graph_iri(name: str) -> str:
    """IRI of a named graph (``doc/<id>``, ``vocabulary``, ``ontology`` …)."""
    return f"{ID}graph/{name}"
