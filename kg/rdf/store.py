"""The embedded Oxigraph store a build leaves at ``DIR/store``."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from kg.fsutil import atomic_dir
from kg.iri import graph_iri
from kg.gen_namespace import ONTOLOGY_FILE
from kg.types import BuiltGraph

__all__ = ["NON_DATA_GRAPHS", "ONTOLOGY_GRAPH", "PROVENANCE_GRAPH", "open_store", "write_store"]

ONTOLOGY_GRAPH = graph_iri("ontology")
PROVENANCE_GRAPH = graph_iri("provenance")
# Graphs of a store that are not the corpus's data: the ontology and the build's provenance.
NON_DATA_GRAPHS = (ONTOLOGY_GRAPH, PROVENANCE_GRAPH)


def write_store(graph: BuiltGraph, path: Path, *, extra_turtle: tuple[Path, ...] = ()) -> Path:
    """Write a fresh persistent store at ``path``: the build's named graphs plus the ontology.

    The store is built in a temporary folder and swapped in whole, so a crash leaves the
    previous store usable.
    """
    with atomic_dir(path) as tmp:
        store = ox.Store(str(tmp))
        store.bulk_load(graph.nquads, format=ox.RdfFormat.N_QUADS)
        onto = ox.NamedNode(ONTOLOGY_GRAPH)
        for ttl in (ONTOLOGY_FILE, *extra_turtle):
            store.bulk_load(path=str(ttl), format=ox.RdfFormat.TURTLE, to_graph=onto)
        store.flush()
        del store
    return path


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
