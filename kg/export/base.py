"""What every export target shares: the build read back as quads, the options, the result.

Every target starts from the same ``Dataset`` (the quads of ``DIR/store``), so a node carries
the same IRI in Turtle, the same ``uri`` in Neo4j and the same node id in GraphML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import UsageError
from kg.namespaces import RDF, RDFS
from kg.rdf.store import ONTOLOGY_GRAPH, PROVENANCE_GRAPH, open_store

__all__ = ["Dataset", "ExportOptions", "ExportResult", "Exporter", "read_dataset", "require_out"]

# rdf:type then rdfs:label lead each subject, as in graph.ttl; the rest sort by predicate IRI.
_PREDICATE_RANK = {ox.NamedNode(str(RDF.type)): 0, ox.NamedNode(str(RDFS.label)): 1}


def _quad_key(quad: ox.Quad) -> tuple:
    return (
        str(quad.graph_name),
        str(quad.subject),
        _PREDICATE_RANK.get(quad.predicate, 2),
        str(quad.predicate),
        str(quad.object),
    )


def _triple_key(triple: ox.Triple) -> tuple:
    return (str(triple.subject), _PREDICATE_RANK.get(triple.predicate, 2), str(triple.predicate), str(triple.object))


@dataclass(frozen=True)
class Dataset:
    """A build's quads, in the order every export writes them.

    Attributes:
        source: the build folder they were read from.
        quads: every quad, sorted by graph, subject, predicate (``rdf:type`` and ``rdfs:label``
            first) and object, so that the same build always gives the same bytes.
    """

    source: Path
    quads: tuple[ox.Quad, ...]

    @functools.cached_property
    def triples(self) -> tuple[ox.Triple, ...]:
        """The named graphs merged: each distinct triple once, sorted by subject."""
        return tuple(sorted({quad.triple for quad in self.quads}, key=_triple_key))

    @functools.cached_property
    def graphs(self) -> dict[ox.NamedNode | ox.DefaultGraph, tuple[ox.Triple, ...]]:
        """Each graph's triples, by graph name, in the dataset's order."""
        grouped: dict[ox.NamedNode | ox.DefaultGraph, list[ox.Triple]] = {}
        for quad in self.quads:
            grouped.setdefault(quad.graph_name, []).append(quad.triple)
        return {name: tuple(triples) for name, triples in grouped.items()}


def read_dataset(graph_dir: Path, *, include_ontology: bool = False) -> Dataset:
    """Read the quads of the store a build left at ``graph_dir/store``.

    Args:
        graph_dir: the build folder (``kg build … --out DIR``) or its ``store`` folder.
        include_ontology: also read the ontology's named graph (left out by default: the data
            alone is what property-graph targets and most triple stores want). The provenance
            graph is always left out.

    Raises:
        UsageError: there is no store there.
    """
    try:
        store = open_store(graph_dir)
    except OSError as exc:
        # open_store takes any existing folder for a store; one that is not fails here.
        raise UsageError(f"{graph_dir}: no store here ({exc}); run 'kg build … --out {graph_dir}' first") from exc
    ontology = ox.NamedNode(ONTOLOGY_GRAPH)
    # The build's provenance graph holds its timestamps: exports are of the data, and stay
    # byte-identical for the same input (provenance.ttl travels beside them).
    provenance = ox.NamedNode(PROVENANCE_GRAPH)
    quads = [
        quad
        for quad in store.quads_for_pattern(None, None, None)
        if (include_ontology or quad.graph_name != ontology) and quad.graph_name != provenance
    ]
    quads.sort(key=_quad_key)
    return Dataset(source=graph_dir, quads=tuple(quads))


@dataclass(frozen=True)
class ExportOptions:
    """Everything an export may need; each target reads only its own part.

    Attributes:
        out: the file (or, for ``neo4j-csv``, the folder) to write.
        include_ontology: also export the ontology's named graph.
        batch_size: rows per Cypher statement and per transaction.
        uri: Neo4j server (``bolt://…``, ``neo4j://…``).
        user: user name for Neo4j or the SPARQL endpoint.
        password_env: the environment variable holding the password (never the password itself,
            which would show in shell history and process lists).
        database: the Neo4j database (also named in the printed ``neo4j-admin`` command).
        endpoint: SPARQL 1.1 Graph Store Protocol endpoint (``http://host:7878/store``).
        graph_per_document: push each named graph on its own, instead of all in one graph.
        into: the graph to push into when not per document; ``None`` for the default graph.
    """

    out: Path | None = None
    include_ontology: bool = False
    batch_size: int = 1000
    uri: str | None = None
    user: str | None = None
    password_env: str | None = None
    database: str = "neo4j"
    endpoint: str | None = None
    graph_per_document: bool = False
    into: str | None = None


@dataclass(frozen=True)
class ExportResult:
    """What one export did.

    Attributes:
        target: the format's name.
        outputs: files and folders written (empty for live targets).
        counts: what was written or pushed, as (what, how many).
        notes: lines for the user to read, such as the ``neo4j-admin`` command to run.
    """

    target: str
    outputs: tuple[Path, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exporter:
    """One export target.

    Attributes:
        name: what ``kg export NAME`` calls it.
        summary: one line for ``--help``.
        run: writes or pushes a dataset.
    """

    name: str
    summary: str
    run: Callable[[Dataset, ExportOptions], ExportResult]


def require_out(options: ExportOptions, target: str, what: str = "FILE") -> Path:
    """The ``--out`` path, which file targets cannot do without.

    Raises:
        UsageError: no ``--out`` was given.
    """
    if options.out is None:
        raise UsageError(f"kg export {target} needs --out {what}")
    return options.out
