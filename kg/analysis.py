"""Graph analysis: the RDF graph projected to a typed networkx graph, and what it says.

Flow::

    quads (store or build) ─project─▶ Projection ─analyse─▶ GraphStats ─render─▶ report.html

A node of the projection is every typed resource outside the ontology and provenance graphs,
except the Web Annotation scaffolding of mentions (``fs:Mention`` and its targets and
selectors), folded into the evidence of the entity it annotates, and reified links (a resource
with two ``fs:participant``s, or an ``fs:linkSource`` and ``fs:linkTarget``), which become the
edge they stand for, with their evidence. An edge is every triple between two nodes
(``rdf:type`` and ``skos:inScheme`` excluded). Each node carries its ``kind``: the local name
of its most specific class, or for a SKOS concept the kind of its scheme (``Keyword``,
``Theme`` …). Nothing here names a class it counts on: classes another module adds later
(``Barrier``, ``Organization`` …) appear in every table once the graph holds them.
"""

from __future__ import annotations

import base64
import datetime as _dt
import gc
import html
import io
import marshal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

import networkx as nx
import pyoxigraph as ox

from kg.fsutil import write_bytes_atomic, write_text_atomic
from kg.gen_namespace import ONTOLOGY_FILE
from kg.iri import graph_iri
from kg.namespaces import FS, OA, RDF, RDFS, SKOS
from kg.text import normalize_label
from kg.types import BuiltGraph

__all__ = [
    "CITED_KINDS",
    "Centrality",
    "CitedTerm",
    "Community",
    "GraphStats",
    "MonthSummary",
    "NodeInfo",
    "Projection",
    "analyse_graph",
    "compute_centrality",
    "detect_communities",
    "load_projection",
    "pause_gc",
    "plot_report",
    "project_nquads",
    "project_quads",
    "project_segments",
    "rank_cited",
    "read_segments",
    "relation_label",
    "render_report",
    "summarise_months",
    "to_igraph",
    "write_report_html",
]

# What "most cited" lists by default, by class local name; kinds absent from a graph are skipped.
CITED_KINDS: tuple[str, ...] = (
    "Barrier", "DrivingForce", "Technology", "TechnologyConcept", "Organization", "GovernmentBody", "Keyword", "Theme",
)
# Scheme → kind of its concepts; a scheme not listed here lends its own local name.
_SCHEME_KINDS = {
    str(FS.Keywords): "Keyword",
    str(FS.Themes): "Theme",
    str(FS.Categories): "Category",
    str(FS.DocumentTypes): "DocumentType",
}
_DOC_GRAPH = graph_iri("doc/")
# The ontology and the build's own provenance (inputs, checksums, the run) describe the
# graph, not the corpus: they are not projected.
_SKIPPED_GRAPHS = {graph_iri("ontology"), graph_iri("provenance")}
_FS = str(FS._NS)
_TYPE, _LABEL, _IN_SCHEME = str(RDF.type), str(RDFS.label), str(SKOS.inScheme)
_CONCEPT = str(SKOS.Concept)
_OA = str(OA)
_HAS_BODY, _HAS_TARGET, _HAS_SELECTOR = str(OA.hasBody), str(OA.hasTarget), str(OA.hasSelector)
_PARTICIPANT, _LINK_SOURCE, _LINK_TARGET = str(FS.participant), str(FS.linkSource), str(FS.linkTarget)
_LINKS = {_HAS_BODY, _HAS_TARGET, _HAS_SELECTOR, _PARTICIPANT, _LINK_SOURCE, _LINK_TARGET}
_EVIDENCE = {str(FS.evidence), str(FS.change)}
_LITERALS = {str(t): name for t, name in (
    (RDFS.label, "label"), (FS.description, "description"), (FS.summary, "summary"),
    (FS.relevancy, "relevancy"), (FS.sourceFile, "file"), (FS.sourceLine, "line"),
    (FS.newsletterDate, "date"), (FS.documentId, "doc_id"), (FS.section, "section"), (OA.exact, "exact"),
)}


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the projection knows of one node (also each networkx node's attributes).

    Attributes:
        iri: the node.
        doc_id: ``fs:documentId`` of a document.
        label: its ``rdfs:label`` (else the IRI's last segment).
        kind: class local name, or the kind of a concept's scheme.
        description: ``fs:description`` (records) or ``fs:summary`` (documents).
        relevancy: ``fs:relevancy``, 0–5.
        documents: ids of the documents whose named graph states or cites it, sorted.
        source: ``file:line`` it was read from, where known.
        evidence: text that supports it: ``fs:evidence``, a row's ``fs:change``, and the
            section and exact text of each mention of it.
        date: ``fs:newsletterDate`` of a document.
    """

    iri: str
    label: str
    kind: str
    doc_id: str | None = None
    description: str | None = None
    relevancy: int | None = None
    documents: tuple[str, ...] = ()
    source: str | None = None
    evidence: tuple[str, ...] = ()
    date: _dt.date | None = None


@dataclass(frozen=True)
class Projection:
    """The RDF graph as a typed networkx graph.

    Attributes:
        graph: ``nx.DiGraph``; node = IRI with a ``NodeInfo`` under ``info`` and its ``kind``;
            edge attributes ``relation`` (the predicates' labels, joined by ``", "``) and
            ``evidence`` (texts of the reified links behind the edge).
        titles: document id → its label, for every document node.
    """

    graph: nx.DiGraph
    titles: Mapping[str, str] = field(default_factory=dict)

    def info(self, node: str) -> NodeInfo:
        """The ``NodeInfo`` of ``node``."""
        return self.graph.nodes[node]["info"]

    def kinds(self) -> Counter[str]:
        """Nodes per kind."""
        return Counter(kind for _, kind in self.graph.nodes(data="kind"))


@dataclass(frozen=True)
class Centrality:
    """Degree and betweenness centrality of every node (normalised, as networkx gives them).

    Attributes:
        degree: node → degree centrality.
        betweenness: node → betweenness centrality on the undirected graph.
        sampled: ``None`` when betweenness is exact; else the number of source nodes sampled
            (networkx's ``k``), the figure then being an estimate.
        seconds: time taken.
    """

    degree: Mapping[str, float]
    betweenness: Mapping[str, float]
    sampled: int | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Community:
    """One Louvain community.

    Attributes:
        index: rank by size, 0 = largest.
        size: nodes in it.
        kinds: (kind, count) pairs, most common first.
        top: labels of its best-connected nodes.
    """

    index: int
    size: int
    kinds: tuple[tuple[str, int], ...]
    top: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CitedTerm:
    """A label of one kind and how many documents cite it.

    Attributes:
        kind: the kind.
        label: the most used surface form.
        documents: distinct documents citing it (the rank).
        nodes: nodes carrying the label (a concept is one node; a table row is one per document).
    """

    kind: str
    label: str
    documents: int
    nodes: int


@dataclass(frozen=True, slots=True)
class MonthSummary:
    """One newsletter month.

    Attributes:
        month: ``YYYY-MM``.
        documents: documents dated that month.
        signals: signals those documents list.
        themes: (theme, documents) pairs, most common first (ties by name).
    """

    month: str
    documents: int
    signals: int
    themes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class GraphStats:
    """Everything ``kg stats`` prints and ``kg report`` plots.

    Attributes:
        nodes, edges: sizes of the projection.
        kinds: (kind, nodes) pairs, most common first.
        central: (label, kind, degree centrality, betweenness) of the most central nodes, by
            betweenness.
        betweenness_sampled: as ``Centrality.sampled``.
        degree_histogram: ``nx.degree_histogram`` of the undirected graph.
        communities: the largest Louvain communities.
        community_count: how many communities there are in all.
        cited: the most cited labels per kind.
        months: per newsletter month, oldest first.
        seconds: (step, seconds) pairs.
    """

    nodes: int
    edges: int
    kinds: tuple[tuple[str, int], ...]
    central: tuple[tuple[str, str, float, float], ...]
    betweenness_sampled: int | None
    degree_histogram: tuple[int, ...]
    communities: tuple[Community, ...]
    community_count: int
    cited: tuple[CitedTerm, ...]
    months: tuple[MonthSummary, ...]
    seconds: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class _Ontology:
    labels: Mapping[str, str]
    parents: Mapping[str, frozenset[str]]
    annotations: frozenset[str]


@lru_cache(maxsize=1)
def _ontology() -> _Ontology:
    """Property labels and class ancestry, read from the ontology file the namespace is made from."""
    labels: dict[str, str] = {}
    parents: dict[str, set[str]] = defaultdict(set)
    sub_class = str(RDFS.subClassOf)
    for triple in ox.parse(path=str(ONTOLOGY_FILE), format=ox.RdfFormat.TURTLE):
        s, p, o = triple.subject, triple.predicate.value, triple.object
        if not isinstance(s, ox.NamedNode):
            continue
        if p == _LABEL and isinstance(o, ox.Literal) and o.language in (None, "", "en"):
            labels.setdefault(s.value, o.value)
        elif p == sub_class and isinstance(o, ox.NamedNode):
            parents[s.value].add(o.value)
    annotations = {c for c, ups in parents.items() if str(OA.Annotation) in ups}
    return _Ontology(labels, {k: frozenset(v) for k, v in parents.items()}, frozenset(annotations))


def relation_label(predicate: str) -> str:
    """How a predicate reads in a view: its ontology label, else its local name."""
    return _ontology().labels.get(predicate) or _local(predicate)


def _kind_of(types: Sequence[str], schemes: Sequence[str]) -> str:
    ontology = _ontology()
    own = [t for t in types if t.startswith(_FS)]
    if own:
        # The most specific class wins: drop every class another of the node's classes extends.
        extended = {p for t in own for p in ontology.parents.get(t, ())}
        return _local(min((t for t in own if t not in extended), default=min(own)))
    if _CONCEPT in types and schemes:
        scheme = min(schemes)
        return _SCHEME_KINDS.get(scheme, _local(scheme))
    return _local(min(types)) if types else "Resource"


@dataclass
class _Raw:
    """What one pass over the quads collects, per subject IRI."""

    types: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    schemes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    literals: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    evidence: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    docs_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    edges: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # Wiring of annotations and reified links: node → predicate → objects.
    links: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))


# What an object is, as far as the projection cares.
_LITERAL, _IRI, _OTHER = 0, 1, 2
# (graph IRI or "", subject, predicate, object's value, _LITERAL/_IRI/_OTHER)
_Terms = tuple[str, str, str, str, int]


def _quad_terms(quads: Iterable[ox.Quad]) -> Iterator[_Terms]:
    """What ``_read`` takes of each quad."""
    for quad in quads:
        graph, o = quad.graph_name, quad.object
        kind = _LITERAL if isinstance(o, ox.Literal) else _IRI if isinstance(o, ox.NamedNode) else _OTHER
        yield (graph.value if isinstance(graph, ox.NamedNode) else "", quad.subject.value, quad.predicate.value,
               getattr(o, "value", ""), kind)


def _text_terms(texts: Iterable[bytes], leave_out: bytes | None) -> Iterator[_Terms]:
    """The statements of N-Quads texts, in order, without those whose subject IRI holds ``leave_out``.

    Making a pyoxigraph quad and reading its terms back costs several times more than
    splitting a line, so lines laid out as the build writes them are split here; any other
    line (an escape, a blank node, no graph, a comment …) is left to pyoxigraph. Lines come
    grouped by subject, so a subject is looked at and decoded once per group of lines.
    """
    predicates: dict[bytes, str] = {}
    graphs: dict[bytes, str] = {}
    for text in texts:
        escaped = b"\\" in text
        prefix, end, subject, dropped = b"\n", 0, None, False
        for line in text.split(b"\n"):
            if not line:
                continue
            if not line.startswith(prefix):
                # A new subject: ``prefix`` is "<subject> ", which only its own lines start with.
                end = line.find(b"> ") + 1
                prefix = line[:end + 1] if end else b"\n"
                subject = _iri(line[:end])
                dropped = leave_out is not None and leave_out in line[:end]
            if dropped:
                continue
            terms = (None if subject is None or escaped and b"\\" in line
                     else _split_rest(line, end, subject, predicates, graphs))
            if terms is None:
                yield from _quad_terms(ox.parse(line, format=ox.RdfFormat.N_QUADS))
            else:
                yield terms


def _split_rest(line: bytes, end: int, subject: str, predicates: dict[bytes, str],
                graphs: dict[bytes, str]) -> _Terms | None:
    """The terms of ``<s> <p> <o> <g> .`` or ``<s> <p> "text"[^^<type>|@lang] <g> .`` without
    escapes, whose subject ends at ``end``; ``None`` for any other layout.

    In valid N-Quads an IRI holds no ``>`` and, without escapes, a literal's text no ``"``, so
    each term ends at the first of these after it starts. What lines repeat is read once and
    kept: ``predicates`` maps "<p>" to its IRI, ``graphs`` what follows an object (" <g> ." or
    "^^<type> <g> .") to the graph's; a few thousand in all on millions of lines.
    """
    stop = line.find(b"> ", end + 1) + 1
    opening = line[stop + 1:stop + 2]
    if opening == b"<":
        close, kind = line.find(b">", stop + 2), _IRI
    elif opening == b'"':
        close, kind = line.find(b'"', stop + 2), _LITERAL
    else:
        return None
    if close < 0:
        return None
    rest = line[close + 1:]
    graph = graphs.get(rest) or _known_graph(rest, graphs)
    if graph is None or kind == _IRI and rest[:1] != b" ":
        return None
    term = line[end + 1:stop]
    predicate = predicates.get(term) or _known_iri(term, predicates)
    if predicate is None:
        return None
    return graph, subject, predicate, line[stop + 2:close].decode(), kind


def _iri(term: bytes) -> str | None:
    """The IRI of ``<iri>``; ``None`` if ``term`` is anything else."""
    if term[:1] == b"<" and term.find(b">") == len(term) - 1 and b" " not in term:
        return term[1:-1].decode()
    return None


def _known_iri(term: bytes, known: dict[bytes, str]) -> str | None:
    """``_iri(term)``, kept in ``known``."""
    name = _iri(term)
    if name is not None:
        known[term] = name
    return name


def _known_graph(rest: bytes, known: dict[bytes, str]) -> str | None:
    """The graph IRI of ``[^^<type>|@lang] <g> .`` (what follows a line's object), kept in ``known``."""
    parts = rest.split(b" ")
    if len(parts) != 3 or parts[2] != b"." or parts[0] and not _is_suffix(parts[0]):
        return None
    graph = _iri(parts[1])
    if graph is not None:
        known[rest] = graph
    return graph


def _is_suffix(suffix: bytes) -> bool:
    """A literal's datatype or language tag."""
    return suffix[:3] == b"^^<" and suffix[-1:] == b">" or suffix[:1] == b"@"


def _read(terms: Iterable[_Terms]) -> _Raw:
    raw = _Raw()
    docs_of, literals, evidence, edges = raw.docs_of, raw.literals, raw.evidence, raw.edges
    last, skipped, doc = None, False, None
    for graph, s, p, o, kind in terms:
        if graph != last:
            # Statements come a graph at a time: what the graph means is worked out once per run.
            last, skipped = graph, graph in _SKIPPED_GRAPHS
            doc = graph[len(_DOC_GRAPH):] if graph.startswith(_DOC_GRAPH) else None
        if skipped:
            continue
        if doc:
            docs_of[s].add(doc)
        if kind == _LITERAL:
            name = _LITERALS.get(p)
            if name:
                literals[s].setdefault(name, o)
            if p in _EVIDENCE:
                evidence[s].append(o)
        elif p == _TYPE:
            raw.types[s].append(o)
        elif p == _IN_SCHEME:
            raw.schemes[s].append(o)
        elif kind == _IRI:
            edges[(s, o)].add(p)
            if p in _LINKS:
                raw.links[s][p].append(o)
            if doc:
                docs_of[o].add(doc)
    return raw


def _fold_mentions(raw: _Raw) -> set[str]:
    """Add each mention's section and exact text to its entity's evidence; return the scaffolding."""
    annotations = _ontology().annotations
    scaffolding = {
        node for node, classes in raw.types.items() if any(c.startswith(_OA) or c in annotations for c in classes)
    }
    for node in sorted(scaffolding):
        wiring = raw.links[node]
        exact = next((raw.literals.get(sel, {}).get("exact") for target in wiring[_HAS_TARGET]
                      for sel in raw.links[target][_HAS_SELECTOR]), None)
        section = raw.literals.get(node, {}).get("section")
        for body in wiring[_HAS_BODY] if exact else ():
            raw.evidence[body].append(f"{section}: “{exact}”" if section else f"“{exact}”")
    return scaffolding


def _reified_links(raw: _Raw) -> dict[str, tuple[str, str]]:
    """Reified links (two ``fs:participant``s, or ``fs:linkSource`` and ``fs:linkTarget``) → their ends."""
    reified: dict[str, tuple[str, str]] = {}
    for node, wiring in raw.links.items():
        ends = sorted(wiring.get(_PARTICIPANT, ()))
        if wiring.get(_LINK_SOURCE) and wiring.get(_LINK_TARGET):
            ends = [wiring[_LINK_SOURCE][0], wiring[_LINK_TARGET][0]]
        if len(ends) == 2 and node in raw.types:
            reified[node] = (ends[0], ends[1])
    return reified


def _node_info(raw: _Raw, node: str, kind: str) -> NodeInfo:
    values = raw.literals.get(node, {})
    relevancy = values.get("relevancy")
    source = values.get("file")
    if source and values.get("line"):
        source = f"{source}:{values['line']}"
    return NodeInfo(
        iri=node,
        label=values.get("label") or _local(node),
        kind=kind,
        doc_id=values.get("doc_id"),
        description=values.get("description") or values.get("summary"),
        relevancy=int(relevancy) if relevancy and relevancy.lstrip("-").isdigit() else None,
        documents=tuple(sorted(raw.docs_of.get(node, ()))),
        source=source,
        evidence=tuple(dict.fromkeys(raw.evidence.get(node, ()))),
        date=_parse_date(values.get("date")),
    )


class _NodeData(dict):
    """A node's attributes, whose ``info`` is made the first time anything reads it.

    Making every node's ``NodeInfo`` up front cost the build's overview seconds at corpus scale,
    where it draws 2,000 of 150,000 nodes. ``kind`` is stored as it is; every way of reading
    the mapping (an item, ``in``, ``get``, iteration, comparison, a copy, a pickle) sees
    ``info`` as though it were stored too, before ``kind``.
    """

    __slots__ = ("_make",)
    _make: Callable[[], NodeInfo] | None

    def _fill(self) -> None:
        # A copy being unpickled has no ``_make`` until its items are in.
        make = getattr(self, "_make", None)
        if make is not None:
            self._make = None
            rest = list(dict.items(self))
            dict.clear(self)
            dict.__setitem__(self, "info", make())
            dict.update(self, rest)

    def __missing__(self, key: str):
        if key != "info" or getattr(self, "_make", None) is None:
            raise KeyError(key)
        self._fill()
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (key == "info" and getattr(self, "_make", None) is not None)

    def get(self, key: str, default=None):
        return self[key] if key in self else default

    def __eq__(self, other: object) -> bool:
        self._fill()
        if isinstance(other, _NodeData):
            other._fill()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal


def _filled(name: str):
    method = getattr(dict, name)

    def call(self, *args, **kwargs):
        self._fill()
        return method(self, *args, **kwargs)

    call.__name__ = name
    return call


# Whatever reads the mapping whole, or changes it, sees (and keeps) ``info`` first.
for _method in ("__iter__", "__reversed__", "__len__", "__repr__", "__or__", "__ior__", "__delitem__", "__setitem__",
                "__reduce_ex__", "copy", "items", "keys", "values", "pop", "popitem", "setdefault", "update", "clear"):
    setattr(_NodeData, _method, _filled(_method))


def project_quads(quads: Iterable[ox.Quad]) -> Projection:
    """Project RDF quads to a typed networkx graph (see the module docstring).

    Quads in the ontology and provenance graphs are skipped; a resource is placed in document ``<id>``
    when it is the subject or object of a quad in the graph ``fsid:graph/doc/<id>``.

    Args:
        quads: a build's quads, or a store's (``store.quads_for_pattern(None, None, None)``).

    Returns:
        The projection.
    """
    with pause_gc():
        return _project(_read(_quad_terms(quads)))


def project_nquads(texts: Iterable[bytes], *, leave_out: bytes | None = None) -> Projection:
    """``project_quads`` of the statements N-Quads text states, read without making a quad of each.

    Args:
        texts: N-Quads, each a whole number of lines (a build's segments).
        leave_out: skip the statements whose subject IRI contains these bytes.
    """
    with pause_gc():
        return _project(_read(_text_terms(texts, leave_out)))


def project_segments(graph: BuiltGraph, *, leave_out: bytes | None = None, reuse: Path | None = None,
                     version: str = "") -> Projection:
    """``project_nquads`` of a build's segments. With ``reuse``, what each segment states is
    read from that file where an earlier call read a segment of the same hash, with the same
    ``leave_out`` and ``version`` (of the code), and the file is rewritten for the next call:
    after one document changed, the view reads one segment instead of thousands.
    """
    projection, save = read_segments(graph, leave_out=leave_out, reuse=reuse, version=version)
    save()
    return projection


def read_segments(graph: BuiltGraph, *, leave_out: bytes | None = None, reuse: Path | None = None,
                  version: str = "") -> tuple[Projection, Callable[[], None]]:
    """``project_segments``, leaving the rewrite of ``reuse`` to the caller: ``save`` does it
    (a no-op without ``reuse``), so that a build can deliver its page first."""
    kept: dict[str, bytes] = {}
    with pause_gc():
        if reuse is None or not graph.hashes:
            return project_nquads((data for _, data in graph.segments), leave_out=leave_out), lambda: None
        key = _reuse_key(leave_out, version)
        projection = _project(_read(_reused_terms(graph, leave_out, reuse, key, kept)))
    return projection, partial(_save_terms, reuse, key, kept)


def _reuse_key(leave_out: bytes | None, version: str) -> str:
    # marshal's format belongs to the Python version, so the version is part of the key.
    return f"{version}\t{leave_out!r}\t{sys.version}\t{marshal.version}"


def _reused_terms(graph: BuiltGraph, leave_out: bytes | None, path: Path, key: str, kept: dict[str, bytes]) -> Iterator[_Terms]:
    """Each segment's terms, from ``path`` where it holds them under ``key``; ``kept`` is
    filled with what the next call can reuse."""
    try:
        stored_key, old = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        stored_key, old = None, {}
    if stored_key != key:
        old = {}
    for index, (_, digest) in enumerate(graph.hashes):
        blob = old.get(digest)
        terms = marshal.loads(blob) if blob is not None else list(_text_terms([graph.segments[index][1]], leave_out))
        kept[digest] = blob if blob is not None else marshal.dumps(terms)
        yield from terms


def _save_terms(path: Path, key: str, kept: dict[str, bytes]) -> None:
    write_bytes_atomic(path, marshal.dumps((key, kept)))


@contextmanager
def pause_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (objects are still freed as
    their last reference goes).

    A projection makes millions of containers, none of them garbage, and each full
    collection on the way walks them all: 2 s in all at corpus scale.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _project(raw: _Raw) -> Projection:
    scaffolding = _fold_mentions(raw)
    # A reified link is drawn as the edge it stands for, with its evidence on that edge, rather
    # than as a node of its own between its two ends.
    reified = _reified_links(raw)
    graph = nx.DiGraph()
    nodes = [node for node in raw.types if node not in scaffolding and node not in reified]
    _add_nodes(graph, raw, nodes)
    _add_edges(graph, raw)
    _add_reified_links(graph, raw, reified)
    titles = {}
    for node in nodes:
        values = raw.literals.get(node, {})
        if values.get("doc_id"):
            titles[values["doc_id"]] = values.get("label") or _local(node)
    _keep_for_infos(raw, scaffolding | reified.keys())
    return Projection(graph=graph, titles=titles)


# Nodes and edges go straight into networkx's own dicts, laid out as ``add_node`` and
# ``add_edge`` lay them out: through those methods they cost several times more.
def _add_nodes(graph: nx.DiGraph, raw: _Raw, nodes: Sequence[str]) -> None:
    """Each node with its kind, and its info made when first read (see ``_NodeData``)."""
    attributes, succ, pred = graph._node, graph._succ, graph._pred
    kinds: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
    for node in nodes:
        classes = (tuple(raw.types[node]), tuple(raw.schemes.get(node, ())))
        kind = kinds.get(classes)
        if kind is None:
            kind = kinds[classes] = _kind_of(sorted(set(classes[0])), sorted(set(classes[1])))
        data = attributes[node] = _NodeData(kind=kind)
        data._make = partial(_node_info, raw, node, kind)
        succ[node], pred[node] = {}, {}


def _add_edges(graph: nx.DiGraph, raw: _Raw) -> None:
    """An edge for each pair of distinct nodes some triple links, labelled with its predicates."""
    succ, pred = graph._succ, graph._pred
    for (s, o), predicates in raw.edges.items():
        if s in succ and o in succ and s != o:
            # One attribute dict for both ends, as ``add_edge`` makes it.
            succ[s][o] = pred[o][s] = {"relation": _relation(frozenset(predicates)), "evidence": ()}


def _add_reified_links(graph: nx.DiGraph, raw: _Raw, reified: Mapping[str, tuple[str, str]]) -> None:
    for node, (a, b) in sorted(reified.items()):
        if a not in graph or b not in graph or a == b:
            continue
        if not graph.has_edge(a, b) and graph.has_edge(b, a):
            a, b = b, a
        if not graph.has_edge(a, b):
            graph.add_edge(a, b, relation=relation_label(min(raw.types[node])).lower(), evidence=())
        edge = graph.edges[a, b]
        edge["evidence"] = tuple(dict.fromkeys((*edge["evidence"], *raw.evidence.get(node, ()))))


@lru_cache(maxsize=4096)
def _relation(predicates: frozenset[str]) -> str:
    return ", ".join(sorted(relation_label(p) for p in predicates))


def _keep_for_infos(raw: _Raw, others: Iterable[str]) -> None:
    """Free what the nodes' infos, made later, do not read: all but the literals, evidence and
    documents of the nodes (``others`` are the resources that are not)."""
    raw.types.clear()
    raw.schemes.clear()
    raw.edges.clear()
    raw.links.clear()
    for other in others:
        raw.literals.pop(other, None)
        raw.docs_of.pop(other, None)
        raw.evidence.pop(other, None)


def _parse_date(value: str | None) -> _dt.date | None:
    try:
        return _dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def load_projection(store: ox.Store) -> Projection:
    """Project every named graph of a build's store (ontology and provenance excepted)."""
    return project_quads(store.quads_for_pattern(None, None, None, None))


def to_igraph(graph: nx.Graph, nodes: Sequence[str] | None = None):
    """The undirected simple graph of ``graph`` (or of its subgraph on ``nodes``) in igraph.

    Returns:
        ``(igraph.Graph, names)``: vertex ``i`` is node ``names[i]``; names keep ``graph``'s
        node order (or ``nodes``' order).
    """
    import igraph as ig

    names = list(graph.nodes) if nodes is None else list(nodes)
    index = {name: i for i, name in enumerate(names)}
    pairs = [
        (a, b) for u, v in graph.edges(names if nodes is not None else None)
        if (a := index.get(u)) is not None and (b := index.get(v)) is not None
    ]
    # igraph drops the loops and merges the parallel edges in C; its edges come out sorted.
    simple = ig.Graph(n=len(names), edges=pairs)
    simple.simplify()
    return simple, names


def compute_centrality(
    projection: Projection, *, exact_up_to: int = 5000, samples: int = 500, seed: int = 0,
) -> Centrality:
    """Degree and betweenness centrality of the undirected graph, normalised as networkx does.

    Exact betweenness costs O(nodes × edges); above ``exact_up_to`` nodes it is estimated
    from ``samples`` source nodes, and ``sampled`` says so. The figures are networkx's
    (``nx.betweenness_centrality(G, k=samples, seed=seed)``, the same sources drawn the same
    way) but computed by igraph, whose C core is ~100x faster: exact betweenness of the
    5,000-node corpus takes networkx 80 s.

    >>> import networkx as nx
    >>> g = nx.DiGraph(); g.add_edge("a", "b"); g.add_edge("b", "c")
    >>> c = compute_centrality(Projection(g))
    >>> c.betweenness["b"], c.sampled
    (1.0, None)
    """
    import random

    started = time.perf_counter()
    undirected = projection.graph.to_undirected(as_view=True)
    n = len(undirected)
    k = samples if exact_up_to < n and samples < n else None
    if n <= 2:
        degree = nx.degree_centrality(undirected) if n > 1 else {v: 0.0 for v in undirected}
        betweenness = {v: 0.0 for v in undirected}
    else:
        # The directed graph gives the same simple graph, and walking its edges costs a
        # tenth of walking the undirected view's.
        graph, names = to_igraph(projection.graph)
        degree = _degree_centrality(projection.graph, graph, names)
        if k is None:
            raw = graph.betweenness(directed=False)
            betweenness = {name: 2 * raw[i] / ((n - 1) * (n - 2)) for i, name in enumerate(names)}
        else:
            # networkx's sampling and its rescaling (a sampled source cannot be its own target).
            sources = random.Random(seed).sample(names, k)
            index = {name: i for i, name in enumerate(names)}
            raw = graph.betweenness(directed=False, sources=[index[s] for s in sources])
            chosen = set(sources)
            betweenness = {
                name: 2 * raw[i] / (((k - 1) if name in chosen else k) * (n - 2)) for i, name in enumerate(names)
            }
    return Centrality(degree, betweenness, k, round(time.perf_counter() - started, 3))


def _degree_centrality(graph: nx.Graph, simple, names: Sequence[str]) -> dict[str, float]:
    """``nx.degree_centrality`` of the undirected graph, from the degrees of its igraph copy."""
    if graph.is_multigraph() or nx.number_of_selfloops(graph):
        # networkx counts a parallel edge, and a loop twice; the simple graph has neither.
        return nx.degree_centrality(graph.to_undirected(as_view=True))
    scale = 1.0 / (len(names) - 1.0)
    return {name: d * scale for name, d in zip(names, simple.degree())}


def detect_communities(projection: Projection, *, seed: int = 42, top_labels: int = 5) -> tuple[Community, ...]:
    """Louvain communities of the undirected graph (networkx, fixed ``seed``), largest first."""
    graph = projection.graph.to_undirected(as_view=True)
    if graph.number_of_edges() == 0:
        return ()
    parts = nx.community.louvain_communities(graph, seed=seed)
    parts.sort(key=lambda part: (-len(part), min(part)))
    communities = []
    for index, part in enumerate(parts):
        kinds = Counter(graph.nodes[n]["kind"] for n in part)
        best = sorted(part, key=lambda n: (-graph.degree(n), n))[:top_labels]
        communities.append(Community(
            index=index, size=len(part), kinds=tuple(kinds.most_common()),
            top=tuple(projection.info(n).label for n in best),
        ))
    return tuple(communities)


def rank_cited(projection: Projection, kinds: Sequence[str] = CITED_KINDS, *, top: int = 10) -> tuple[CitedTerm, ...]:
    """The labels of each kind cited by the most documents.

    Labels are grouped by their normalised form, so a technology listed as a row in three
    documents (three nodes) and a keyword shared by three documents (one node) both count 3.
    Kinds the graph does not hold are skipped.

    Returns:
        Per kind in the order given, at most ``top`` terms, most cited first (ties by label).
    """
    wanted = {kind.lower(): kind for kind in kinds}
    groups: dict[tuple[str, str], list[NodeInfo]] = defaultdict(list)
    for _, data in projection.graph.nodes(data=True):
        info: NodeInfo = data["info"]
        kind = wanted.get(info.kind.lower())
        if kind is not None:
            groups[(kind, normalize_label(info.label))].append(info)
    per_kind: dict[str, list[CitedTerm]] = defaultdict(list)
    for (kind, _), infos in groups.items():
        documents = {d for info in infos for d in info.documents}
        label = Counter(info.label for info in infos).most_common(1)[0][0]
        per_kind[kind].append(CitedTerm(kind, label, len(documents), len(infos)))
    ranked: list[CitedTerm] = []
    for kind in kinds:
        terms = sorted(per_kind.get(kind, ()), key=lambda t: (-t.documents, t.label.lower()))
        ranked.extend(terms[:top])
    return tuple(ranked)


def summarise_months(projection: Projection, *, top_themes: int | None = None) -> tuple[MonthSummary, ...]:
    """Documents, signals and themes per newsletter month (``fs:newsletterDate``).

    Documents without a real date (``[5117.0]``) are left out. ``top_themes`` keeps only the
    month's leading themes; by default all are kept, most cited first.
    """
    graph = projection.graph
    month_of: dict[str, str] = {}
    for node, data in graph.nodes(data=True):
        info: NodeInfo = data["info"]
        if info.doc_id is not None and info.date is not None:
            month_of[info.doc_id] = f"{info.date:%Y-%m}"
    documents: Counter[str] = Counter(month_of.values())
    signals: Counter[str] = Counter()
    themes: dict[str, Counter[str]] = defaultdict(Counter)
    for node, data in graph.nodes(data=True):
        info: NodeInfo = data["info"]
        months = {month_of[d] for d in info.documents if d in month_of}
        if info.kind == "Signal":
            signals.update(months)
        elif info.kind == "Theme":
            citing = Counter(month_of[d] for d in info.documents if d in month_of)
            for month, n in citing.items():
                themes[month][info.label] += n
    return tuple(
        MonthSummary(
            month=month, documents=documents[month], signals=signals[month],
            themes=tuple(sorted(themes[month].items(), key=lambda kv: (-kv[1], kv[0]))[:top_themes]),
        )
        for month in sorted(documents)
    )


def analyse_graph(projection: Projection, *, top: int = 10, seed: int = 42, exact_up_to: int = 5000,
                  samples: int = 500) -> GraphStats:
    """Every figure of ``kg stats`` and ``kg report``.

    Args:
        projection: the graph.
        top: rows per table.
        seed: for sampled betweenness and Louvain.
        exact_up_to, samples: see ``compute_centrality``.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    centrality = compute_centrality(projection, exact_up_to=exact_up_to, samples=samples, seed=seed)
    seconds["centrality"] = centrality.seconds
    clock = time.perf_counter()
    communities = detect_communities(projection, seed=seed)
    seconds["communities"] = round(time.perf_counter() - clock, 3)
    graph = projection.graph
    best = sorted(graph, key=lambda n: (-centrality.betweenness[n], -centrality.degree[n], n))[:top]
    undirected = graph.to_undirected(as_view=True)
    return GraphStats(
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        kinds=tuple(sorted(projection.kinds().items(), key=lambda kv: (-kv[1], kv[0]))),
        central=tuple(
            (projection.info(n).label, graph.nodes[n]["kind"], centrality.degree[n], centrality.betweenness[n])
            for n in best
        ),
        betweenness_sampled=centrality.sampled,
        degree_histogram=tuple(nx.degree_histogram(undirected)),
        communities=communities[:top],
        community_count=len(communities),
        cited=rank_cited(projection, top=top),
        months=summarise_months(projection),
        seconds=tuple(seconds.items()),
    )


# ---------------------------------------------------------------------------------------------
# The report: matplotlib figures, embedded as base64 PNG in one self-contained page.


def plot_report(stats: GraphStats) -> dict[str, bytes]:
    """Draw the report's figures.

    Returns:
        Figure title → PNG bytes, in reading order; figures with nothing to show are left out.
    """
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figures: dict[str, bytes] = {}

    def save(title: str, fig) -> None:
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=96)
        plt.close(fig)
        figures[title] = buffer.getvalue()

    cited_kinds = list(dict.fromkeys(term.kind for term in stats.cited))
    if cited_kinds:
        cols = min(2, len(cited_kinds))
        rows = -(-len(cited_kinds) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.2 * rows), squeeze=False)
        for ax, kind in zip(axes.flat, cited_kinds):
            terms = [t for t in stats.cited if t.kind == kind][::-1]
            ax.barh([_short(t.label, 38) for t in terms], [t.documents for t in terms], color=_colour(kind))
            ax.set_title(f"{_spaced(kind)}: most cited", fontsize=10)
            ax.set_xlabel("documents citing it")
            ax.tick_params(axis="y", labelsize=8)
            ax.xaxis.get_major_locator().set_params(integer=True)
        for ax in list(axes.flat)[len(cited_kinds):]:
            ax.axis("off")
        save("Most cited across documents", fig)

    if stats.months:
        months = [m.month for m in stats.months]
        fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(months) + 3), 3.4))
        ax.bar(months, [m.signals for m in stats.months], color=_colour("Signal"), label="signals")
        ax.set_ylabel("signals")
        ax2 = ax.twinx()
        ax2.plot(months, [m.documents for m in stats.months], color=_colour("Document"), marker="o", label="documents")
        ax2.set_ylabel("documents")
        ax.tick_params(axis="x", rotation=70, labelsize=7)
        ax.set_title("Signals and documents per newsletter month", fontsize=10)
        fig.legend(loc="upper left", fontsize=8)
        save("Signals per month", fig)

        theme_totals: Counter[str] = Counter()
        for m in stats.months:
            theme_totals.update(dict(m.themes))
        leading = [t for t, _ in theme_totals.most_common(12)]
        if leading:
            grid = [[dict(m.themes).get(t, 0) for m in stats.months] for t in leading]
            fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(months) + 4), 0.35 * len(leading) + 1.6))
            image = ax.imshow(grid, aspect="auto", cmap="YlOrRd")
            ax.set_yticks(range(len(leading)), [_short(t, 32) for t in leading], fontsize=8)
            ax.set_xticks(range(len(months)), months, rotation=70, fontsize=7)
            ax.set_title("Leading themes per month (documents)", fontsize=10)
            fig.colorbar(image, ax=ax, shrink=0.8).locator = matplotlib.ticker.MaxNLocator(integer=True)
            save("Themes per month", fig)

    if stats.central:
        rows = list(stats.central)[::-1]
        fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(rows) + 1.4))
        ax.barh([_short(label, 40) for label, *_ in rows], [b for *_, b in rows],
                color=[_colour(kind) for _, kind, _, _ in rows])
        sampled = f" (estimated from {stats.betweenness_sampled} sampled sources)" if stats.betweenness_sampled else ""
        ax.set_title(f"Most central nodes: betweenness{sampled}", fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        save("Most central nodes", fig)

    if stats.communities:
        fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(stats.communities) + 1.4))
        rows = list(stats.communities)[::-1]
        ax.barh([f"#{c.index}: {_short(', '.join(c.top[:3]), 50)}" for c in rows], [c.size for c in rows], color="#4e79a7")
        ax.set_title(f"Largest of {stats.community_count} Louvain communities (nodes)", fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        save("Communities", fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
    kinds = list(stats.kinds)[::-1]
    left.barh([_spaced(k) for k, _ in kinds], [n for _, n in kinds], color=[_colour(k) for k, _ in kinds])
    left.set_title(f"{stats.nodes:,} nodes by kind", fontsize=10)
    degrees = [(d, n) for d, n in enumerate(stats.degree_histogram) if n and d]
    if degrees:
        right.loglog([d for d, _ in degrees], [n for _, n in degrees], "o", markersize=3, color="#4e79a7")
    right.set_xlabel("degree")
    right.set_ylabel("nodes")
    right.set_title("Degree distribution (log–log)", fontsize=10)
    save("Nodes and degrees", fig)
    return figures


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _spaced(kind: str) -> str:
    return "".join(f" {c}" if c.isupper() and i else c for i, c in enumerate(kind))


def _colour(kind: str) -> str:
    from kg.viz import style_of

    return style_of(kind)[0]


def render_report(stats: GraphStats, figures: Mapping[str, bytes], *, title: str = "Knowledge graph report") -> str:
    """One self-contained HTML page: the figures as inline PNG, then the tables they come from.

    Every value is escaped; the page loads nothing (its CSP forbids it).
    """
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{e(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}}"
        "img{max-width:100%;border:1px solid #eee;margin:.4em 0}table{border-collapse:collapse;font-size:13px;margin:.4em 0 1.2em}"
        "td,th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}td.n{text-align:right}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{stats.nodes:,} nodes, {stats.edges:,} edges, {stats.community_count:,} communities.",
    ]
    if stats.betweenness_sampled:
        parts.append(f" Betweenness is estimated from {stats.betweenness_sampled} sampled source nodes (the graph is too large for the exact figure).")
    parts.append("</p>")
    for name, png in figures.items():
        data = base64.b64encode(png).decode("ascii")
        parts.append(f"<h2>{e(name)}</h2><img alt=\"{e(name)}\" src=\"data:image/png;base64,{data}\">")
    parts.append("<h2>Tables</h2>")
    parts.append(_html_table("Most central", ("label", "kind", "degree", "betweenness"),
                             [(label, kind, f"{d:.4f}", f"{b:.4f}") for label, kind, d, b in stats.central]))
    parts.append(_html_table("Most cited", ("kind", "label", "documents", "nodes"),
                             [(t.kind, t.label, t.documents, t.nodes) for t in stats.cited]))
    parts.append(_html_table("Per month", ("month", "documents", "signals", "leading themes"),
                             [(m.month, m.documents, m.signals, "; ".join(f"{t} ({n})" for t, n in m.themes[:5])) for m in stats.months]))
    parts.append(_html_table("Communities", ("#", "nodes", "kinds", "best connected"),
                             [(c.index, c.size, ", ".join(f"{k} {n}" for k, n in c.kinds[:4]), "; ".join(c.top)) for c in stats.communities]))
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_table(caption: str, head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    e = html.escape
    body = "".join(
        "<tr>" + "".join(f"<td class=\"n\">{v}</td>" if isinstance(v, int) else f"<td>{e(str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    cells = "".join(f"<th>{e(h)}</th>" for h in head)
    return f"<h3>{e(caption)}</h3><table><tr>{cells}</tr>{body}</table>"


def write_report_html(stats: GraphStats, path: Path, *, title: str = "Knowledge graph report") -> Path:
    """Plot ``stats`` and write the report page to ``path`` atomically."""
    write_text_atomic(path, render_report(stats, plot_report(stats), title=title))
    return path
