"""The graph's segments read back exactly what was appended, in memory or spilled to disk."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kg.types import BuiltGraph, Segments


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=5), st.binary(max_size=40)), max_size=30), st.integers(0, 200))
def test_segments_round_trip_at_any_memory_limit(parts, limit):
    segments = Segments(memory_limit=limit)
    for name, data in parts:
        segments.append(name, data)
    assert list(segments) == parts
    assert segments.size == sum(len(d) for _, d in parts)
    graph = BuiltGraph(segments=segments)
    assert graph.reader().read() == b"".join(d for _, d in parts)
    if parts:
        assert segments[-1] == parts[-1] and segments[0:2] == parts[0:2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=5), st.lists(st.binary(max_size=20), max_size=4), st.booleans()), max_size=20),
       st.integers(0, 200))
def test_segments_given_in_chunks_read_back_joined(parts, limit):
    segments = Segments(memory_limit=limit)
    for name, chunks, as_chunks in parts:
        segments.append(name, list(chunks) if as_chunks else b"".join(chunks))
    assert list(segments) == [(name, b"".join(chunks)) for name, chunks, _ in parts]
