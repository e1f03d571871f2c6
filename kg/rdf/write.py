"""Serialise a built graph to files, deterministically and atomically."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.fsutil import atomic_write
from kg.namespaces import PREFIXES
from kg.types import BuiltGraph

__all__ = ["FILE_PREFIXES", "serialize_triples", "write_turtle"]

# Minted IRIs contain "/", which a prefixed name must escape (fsid:doc\/…); written out whole
# they read better, so files declare only the vocabulary prefixes.
FILE_PREFIXES = {k: v for k, v in PREFIXES.items() if k != "fsid"}


def _triples(graph: BuiltGraph) -> bytes:
    """The graph's statements as N-Triples: named graphs merged, repeats dropped, order kept."""
    seen: set[bytes] = set()
    out: list[bytes] = []
    for line in graph.nquads.splitlines():
        # The graph term is the last one on the line: "<s> <p> <o> <g> ."
        triple = line[: line.rindex(b" <", 0, len(line) - 2)] + b" .\n"
        if triple not in seen:
            seen.add(triple)
            out.append(triple)
    return b"".join(out)


def serialize_triples(graph: BuiltGraph, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> bytes:
    """The graph's triples (named graphs merged) in ``fmt``, with the project's prefixes."""
    return ox.serialize(ox.parse(_triples(graph), format=ox.RdfFormat.N_TRIPLES), format=fmt, prefixes=FILE_PREFIXES)


def write_turtle(graph: BuiltGraph, path: Path) -> Path:
    """Write the graph as Turtle to ``path`` atomically; the same graph gives the same bytes."""
    with atomic_write(path, "wb") as handle:
        ox.serialize(ox.parse(_triples(graph), format=ox.RdfFormat.N_TRIPLES), handle, ox.RdfFormat.TURTLE, prefixes=FILE_PREFIXES)
    return path
