"""Serialise a built graph to files, deterministically and atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from kg.fsutil import atomic_write
from kg.namespaces import PREFIXES
from kg.types import BuiltGraph

__all__ = ["FILE_PREFIXES", "serialize_triples", "write_turtle"]

# Minted IRIs contain "/", which a prefixed name must escape (fsid:doc\/…); written out whole
# they read better, so files declare only the vocabulary prefixes.
FILE_PREFIXES = {k: v for k, v in PREFIXES.items() if k != "fsid"}


def _triples(quads: Iterable[ox.Quad]) -> Iterable[ox.Triple]:
    seen: set[ox.Triple] = set()
    for quad in quads:
        triple = quad.triple
        if triple not in seen:
            seen.add(triple)
            yield triple


def serialize_triples(graph: BuiltGraph, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> bytes:
    """The graph's triples (named graphs merged) in ``fmt``, with the project's prefixes."""
    return ox.serialize(_triples(graph.quads), format=fmt, prefixes=FILE_PREFIXES)


def write_turtle(graph: BuiltGraph, path: Path) -> Path:
    """Write the graph as Turtle to ``path`` atomically; the same graph gives the same bytes."""
    with atomic_write(path, "wb") as handle:
        ox.serialize(_triples(graph.quads), handle, ox.RdfFormat.TURTLE, prefixes=FILE_PREFIXES)
    return path
