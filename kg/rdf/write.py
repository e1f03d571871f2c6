"""Serialise a built graph to files, deterministically and atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from kg.fsutil import atomic_write
from kg.namespaces import PREFIXES
from kg.types import BuiltGraph

__all__ = ["FILE_PREFIXES", "serialize_triples", "turtle_bodies", "turtle_body", "turtle_spans", "write_turtle"]

# Minted IRIs contain "/", which a prefixed name must escape (fsid:doc\/…); written out whole
# they read better, so files declare only the vocabulary prefixes.
FILE_PREFIXES = {k: v for k, v in PREFIXES.items() if k != "fsid"}


_DUMMY = b"<urn:x> <urn:y> <urn:z> .\n"


@cache
def _header() -> bytes:
    """The prefix lines every Turtle file of the project starts with."""
    text = ox.serialize(ox.parse(_DUMMY, format=ox.RdfFormat.N_TRIPLES), format=ox.RdfFormat.TURTLE, prefixes=FILE_PREFIXES)
    return text[: text.index(b"<urn:x>")]


def _segment_triples(name: str, data: bytes) -> bytes:
    """One named graph's N-Quads as N-Triples: its graph term dropped from every line."""
    return data.replace(f" <{name}> .\n".encode(), b" .\n")


def turtle_body(name: str, data: bytes) -> bytes:
    """The Turtle of one segment of a graph, without the prefix lines."""
    header = _header()
    text = ox.serialize(ox.parse(_segment_triples(name, data), format=ox.RdfFormat.N_TRIPLES),
                        format=ox.RdfFormat.TURTLE, prefixes=FILE_PREFIXES)
    if not text:
        return b""
    if not text.startswith(header):
        raise AssertionError(f"pyoxigraph's Turtle for {name} does not start with the prefixes")
    return text[len(header):]


def turtle_bodies(graph: BuiltGraph, reuse: Callable[[str], bytes | None] = lambda name: None) -> list[tuple[str, bytes]]:
    """Each segment's Turtle, in order; ``reuse(name)`` gives one already made (from the
    build cache) where that segment is unchanged."""
    bodies = []
    # The N-Quads are read only where no Turtle is reused.
    for index, name in enumerate(graph.names()):
        body = reuse(name)
        bodies.append((name, body if body is not None else turtle_body(name, graph.segments[index][1])))
    return bodies


def serialize_triples(graph: BuiltGraph, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> bytes:
    """The graph's triples (named graphs merged) in ``fmt``, with the project's prefixes."""
    if fmt == ox.RdfFormat.TURTLE:
        return _header() + b"".join(body for _, body in turtle_bodies(graph))
    triples = b"".join(_segment_triples(name, data) for name, data in graph.segments)
    return ox.serialize(ox.parse(triples, format=ox.RdfFormat.N_TRIPLES), format=fmt, prefixes=FILE_PREFIXES)


def write_turtle(graph: BuiltGraph, path: Path, *, bodies: Sequence[tuple[str, bytes]] | None = None) -> Path:
    """Write the graph as Turtle to ``path`` atomically: the prefixes, then each named graph's
    statements in turn. The same graph gives the same bytes, whether ``bodies`` (from
    ``turtle_bodies``) came from the cache or not."""
    with atomic_write(path, "wb") as handle:
        handle.write(_header())
        for _, body in bodies if bodies is not None else turtle_bodies(graph):
            handle.write(body)
    return path


def turtle_spans(bodies: Sequence[tuple[str, bytes]]) -> dict[str, tuple[int, int]]:
    """Where ``write_turtle(..., bodies=bodies)`` puts each graph's Turtle: name → (offset, length)."""
    spans, offset = {}, len(_header())
    for name, body in bodies:
        spans[name] = (offset, len(body))
        offset += len(body)
    return spans
