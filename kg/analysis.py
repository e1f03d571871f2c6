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
import html
import io
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import networkx as nx
import pyoxigraph as ox

from kg.fsutil import write_text_atomic
from kg.gen_namespace import ONTOLOGY_FILE
from kg.iri import graph_iri
from kg.namespaces import FS, OA, RDF, RDFS, SKOS
from kg.text import normalize_label

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
    "plot_report",
    "project_quads",
    "rank_cited",
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


def _read(quads: Iterable[ox.Quad]) -> _Raw:
    raw = _Raw()
    for quad in quads:
        graph = quad.graph_name
        graph_value = graph.value if isinstance(graph, ox.NamedNode) else ""
        if graph_value in _SKIPPED_GRAPHS:
            continue
        s, p, o = quad.subject.value, quad.predicate.value, quad.object
        doc = graph_value[len(_DOC_GRAPH):] if graph_value.startswith(_DOC_GRAPH) else None
        if doc:
            raw.docs_of[s].add(doc)
        if isinstance(o, ox.Literal):
            name = _LITERALS.get(p)
            if name:
                raw.literals[s].setdefault(name, o.value)
            if p in _EVIDENCE:
                raw.evidence[s].append(o.value)
        elif p == _TYPE:
            raw.types[s].append(o.value)
        elif p == _IN_SCHEME:
            raw.schemes[s].append(o.value)
        elif isinstance(o, ox.NamedNode):
            raw.edges[(s, o.value)].add(p)
            if p in _LINKS:
                raw.links[s][p].append(o.value)
            if doc:
                raw.docs_of[o.value].add(doc)
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


def _node_info(raw: _Raw, node: str) -> NodeInfo:
    values = raw.literals.get(node, {})
    relevancy = values.get("relevancy")
    source = values.get("file")
    if source and values.get("line"):
        source = f"{source}:{values['line']}"
    return NodeInfo(
        iri=node,
        label=values.get("label") or _local(node),
        kind=_kind_of(sorted(set(raw.types[node])), sorted(set(raw.schemes.get(node, ())))),
        doc_id=values.get("doc_id"),
        description=values.get("description") or values.get("summary"),
        relevancy=int(relevancy) if relevancy and relevancy.lstrip("-").isdigit() else None,
        documents=tuple(sorted(raw.docs_of.get(node, ()))),
        source=source,
        evidence=tuple(dict.fromkeys(raw.evidence.get(node, ()))),
        date=_parse_date(values.get("date")),
    )


def project_quads(quads: Iterable[ox.Quad]) -> Projection:
    """Project RDF quads to a typed networkx graph (see the module docstring).

    Quads in the ontology and provenance graphs are skipped; a resource is placed in document ``<id>``
    when it is the subject or object of a quad in the graph ``fsid:graph/doc/<id>``.

    Args:
        quads: a build's quads, or a store's (``store.quads_for_pattern(None, None, None)``).

    Returns:
        The projection.
    """
    raw = _read(quads)
    scaffolding = _fold_mentions(raw)
    # A reified link is drawn as the edge it stands for, with its evidence on that edge, rather
    # than as a node of its own between its two ends.
    reified = _reified_links(raw)
    graph = nx.DiGraph()
    for node in raw.types:
        if node not in scaffolding and node not in reified:
            info = _node_info(raw, node)
            graph.add_node(node, info=info, kind=info.kind)
    for (s, o), predicates in raw.edges.items():
        if s in graph and o in graph and s != o:
            graph.add_edge(s, o, relation=", ".join(sorted(relation_label(p) for p in predicates)), evidence=())
    for node, (a, b) in sorted(reified.items()):
        if a not in graph or b not in graph or a == b:
            continue
        if not graph.has_edge(a, b) and graph.has_edge(b, a):
            a, b = b, a
        if not graph.has_edge(a, b):
            graph.add_edge(a, b, relation=relation_label(min(raw.types[node])).lower(), evidence=())
        edge = graph.edges[a, b]
        edge["evidence"] = tuple(dict.fromkeys((*edge["evidence"], *raw.evidence.get(node, ()))))
    titles = {info.doc_id: info.label for _, info in graph.nodes(data="info") if info.doc_id}
    return Projection(graph=graph, titles=titles)


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
    pairs = {
        (a, b) if a < b else (b, a)
        for u, v in graph.edges(names if nodes is not None else None)
        if (a := index.get(u)) is not None and (b := index.get(v)) is not None and a != b
    }
    return ig.Graph(n=len(names), edges=sorted(pairs)), names


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
    degree = nx.degree_centrality(undirected) if n > 1 else {v: 0.0 for v in undirected}
    k = samples if exact_up_to < n and samples < n else None
    if n <= 2:
        betweenness = {v: 0.0 for v in undirected}
    else:
        graph, names = to_igraph(undirected)
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
