"""The embedded Oxigraph store a build leaves at ``DIR/store``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pyoxigraph as ox

from kg.cache import content_key
from kg.fsutil import atomic_dir
from kg.iri import graph_iri
from kg.gen_namespace import ONTOLOGY_FILE
from kg.types import BuiltGraph

__all__ = ["NON_DATA_GRAPHS", "ONTOLOGY_GRAPH", "PROVENANCE_GRAPH", "STAMP_FILE", "open_store", "store_stamp", "write_store"]

ONTOLOGY_GRAPH = graph_iri("ontology")
PROVENANCE_GRAPH = graph_iri("provenance")
# Graphs of a store that are not the corpus's data: the ontology and the build's provenance.
NON_DATA_GRAPHS = (ONTOLOGY_GRAPH, PROVENANCE_GRAPH)


STAMP_FILE = "kg-build-stamp"


def store_stamp(hashes: Mapping[str, str]) -> str:
    """The identity of a store's data: a hash over its graphs' content hashes."""
    return content_key(*(f"{g}\t{h}" for g, h in sorted(hashes.items())))


def write_store(graph: BuiltGraph, path: Path, *, extra_turtle: tuple[Path, ...] = (), hashes: Mapping[str, str] | None = None,
                before: Mapping[str, str] | None = None, old_nquads: Callable[[str], bytes | None] = lambda graph: None) -> Path:
    """Write a fresh persistent store at ``path``: the build's named graphs plus the ontology.

    With ``hashes`` (each segment's content hash) and ``before`` (the hashes of the store now
    at ``path``, from the build cache), the store is patched instead: a copy of it gets the
    changed graphs replaced (a large graph whose old statements ``old_nquads`` gives, by
    difference) and the deleted ones dropped. The result holds the same statements as a fresh
    store. Either way the store is built in a temporary folder and swapped in whole, so a crash
    leaves the previous store usable.
    """
    with atomic_dir(path) as tmp:
        if hashes is not None and before is not None and _stamp_of(path) == store_stamp(before):
            tmp.rmdir()
            ox.Store.read_only(str(path)).backup(str(tmp))
            _patch(ox.Store(str(tmp)), graph, hashes, before, old_nquads)
        else:
            store = ox.Store(str(tmp))
            _bulk_load(store, graph)
            onto = ox.NamedNode(ONTOLOGY_GRAPH)
            for ttl in (ONTOLOGY_FILE, *extra_turtle):
                store.bulk_load(path=str(ttl), format=ox.RdfFormat.TURTLE, to_graph=onto)
            store.flush()
            del store
        if hashes is not None:
            (tmp / STAMP_FILE).write_text(store_stamp(hashes) + "\n", encoding="utf-8")
    return path


_LOAD_BATCH = 64 << 20


def _bulk_load(store: ox.Store, graph: BuiltGraph) -> None:
    """Bulk-load the segments in batches of about 64 MB: Oxigraph's bulk loader holds what one
    call gives it, which for a whole corpus was more memory (1.7 GB) than the rest of the build."""
    batch: list[bytes] = []
    size = 0
    for _, data in graph.segments:
        # A segment larger than a batch (one huge document) is cut at line ends.
        start = 0
        while start < len(data):
            end = data.find(b"\n", start + _LOAD_BATCH)
            end = len(data) if end < 0 else end + 1
            piece = data[start:end] if start or end < len(data) else data
            batch.append(piece)
            size += len(piece)
            start = end
            if size >= _LOAD_BATCH:
                store.bulk_load(b"".join(batch), format=ox.RdfFormat.N_QUADS)
                batch, size = [], 0
    if batch:
        store.bulk_load(b"".join(batch), format=ox.RdfFormat.N_QUADS)


def _stamp_of(path: Path) -> str | None:
    try:
        return (path / STAMP_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _patch(store: ox.Store, graph: BuiltGraph, hashes: Mapping[str, str], before: Mapping[str, str],
           old_nquads: Callable[[str], bytes | None]) -> None:
    for name in sorted(before.keys() - hashes.keys()):
        store.remove_graph(ox.NamedNode(name))
    for name, data in graph.segments:
        if before.get(name) == hashes[name]:
            continue
        node = ox.NamedNode(name)
        old = old_nquads(name) if name in before else None
        if old is None:
            if store.contains_named_graph(node):
                store.remove_graph(node)
            store.load(data, format=ox.RdfFormat.N_QUADS)
            continue
        # A big shared graph (the vocabulary) changes by a few statements: apply only those.
        old_lines, new_lines = set(old.splitlines(keepends=True)), set(data.splitlines(keepends=True))
        gone = b"".join(sorted(old_lines - new_lines))
        for quad in ox.parse(gone, format=ox.RdfFormat.N_QUADS):
            store.remove(quad)
        store.load(b"".join(sorted(new_lines - old_lines)), format=ox.RdfFormat.N_QUADS)
    store.flush()
    del store


def open_store(path: Path, *, read_only: bool = True) -> ox.Store:
    """Open the store of a build folder (``DIR`` or ``DIR/store``)."""
    from kg.errors import UsageError

    folder = path / "store" if (path / "store").is_dir() else path
    if not folder.is_dir():
        raise UsageError(f"{path}: no store here; run 'kg build … --out {path}' first")
    try:
        return ox.Store.read_only(str(folder)) if read_only else ox.Store(str(folder))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: no store here, or not an Oxigraph store ({exc}); run 'kg build … --out {path}' first") from exc
