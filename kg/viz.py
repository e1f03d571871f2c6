"""Self-contained, safe HTML views of the graph, readable at corpus scale.

Flow::

    Projection ─select_view─▶ ViewSelection ─layout_view─▶ ViewLayout ─render_view─▶ HTML

One HTML file holds everything: vis-network's script and style (the copy pyvis ships) are
inlined and a Content-Security-Policy lets the page load nothing and run only its own two
scripts. No text from the graph is ever parsed as markup: it travels as JSON in a
non-executed ``<script type="application/json">`` and reaches the page through
``textContent``. pyvis's own templates are not used: they load Bootstrap and vis.js from CDNs
and insert tooltips and headings with ``innerHTML``.

Small views (up to ``PHYSICS_UP_TO`` nodes) settle with vis-network's physics; larger ones get
a layout computed beforehand by igraph's Fruchterman–Reingold (about 1 s for 10,000 nodes,
where networkx's ``spring_layout`` takes minutes) and are drawn with physics off. An
unfiltered view of a large graph draws the ``limit`` most central nodes (by betweenness) and
says on the page what it left out.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import random
import re
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pyoxigraph as ox

from kg.analysis import (
    NodeInfo,
    Projection,
    compute_centrality,
    load_projection,
    pause_gc,
    read_segments,
    relation_label,
)
from kg.errors import QueryError, UsageError
from kg.fsutil import write_text_atomic
from kg.namespaces import PREFIXES
from kg.text import normalize_label
from kg.types import BuiltGraph

__all__ = [
    "CLASS_STYLE",
    "PHYSICS_UP_TO",
    "ViewLayout",
    "ViewOptions",
    "ViewResult",
    "ViewSelection",
    "layout_view",
    "render_view",
    "select_view",
    "style_of",
    "write_build_view",
    "write_store_view",
    "write_view",
]

PHYSICS_UP_TO = 500

# Colour and vis-network shape per kind; only shapes drawn beside their label, since shapes that
# hold their label (box, ellipse) swell into bars when a large view is zoomed out. Kinds not listed get a stable colour of their own
# (see ``style_of``), so classes added to the ontology later still draw, with a legend entry.
CLASS_STYLE: dict[str, tuple[str, str]] = {
    "Document": ("#4e79a7", "square"),
    "Signal": ("#f28e2b", "dot"),
    "Concern": ("#e15759", "triangle"),
    "Issue": ("#b07aa1", "diamond"),
    "Behavior": ("#59a14f", "dot"),
    "Technology": ("#76b7b2", "hexagon"),
    "DrivingForce": ("#edc948", "star"),
    "Barrier": ("#9c0d0d", "triangleDown"),
    "Organization": ("#1f77b4", "square"),
    "GovernmentBody": ("#17becf", "square"),
    "Keyword": ("#bab0ac", "dot"),
    "Theme": ("#ff9da7", "dot"),
    "Category": ("#9c755f", "dot"),
    "DocumentType": ("#d4a6c8", "dot"),
}
_SPARE = ("#8cd17d", "#b6992d", "#499894", "#86bcb6", "#d37295", "#fabfd2", "#79706e", "#d7b5a6")


def style_of(kind: str) -> tuple[str, str]:
    """Colour and shape of a kind; an unknown kind gets a colour derived from its name.

    >>> style_of("Signal")
    ('#f28e2b', 'dot')
    >>> style_of("Widget") == style_of("Widget")
    True
    """
    return CLASS_STYLE.get(kind) or (_SPARE[zlib.crc32(kind.encode()) % len(_SPARE)], "dot")


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """What to draw. Filters combine: a node is drawn when it passes every one given.

    Attributes:
        focus: draw the neighbourhood of the node(s) with this label (case-insensitive).
        depth: how many hops around ``focus``.
        types: keep these kinds only (``Signal``, ``driving-force`` … case and dashes ignored).
        theme: keep the documents with this theme, and what they state or cite.
        min_relevancy: drop nodes whose relevancy is below this (nodes without one stay).
        document: keep one document (id, or a unique id prefix) and what it states or cites.
        query: a SPARQL file: CONSTRUCT draws its triples, SELECT the nodes it binds.
        limit: most nodes drawn; beyond it the most central are kept.
        title: the page heading.
    """

    focus: str | None = None
    depth: int = 1
    types: tuple[str, ...] = ()
    theme: str | None = None
    min_relevancy: int | None = None
    document: str | None = None
    query: Path | None = None
    limit: int = 2000
    title: str = "Knowledge graph"


@dataclass(frozen=True)
class ViewSelection:
    """The nodes and edges a view draws.

    Attributes:
        nodes: what is known of each drawn node, most central first.
        edges: (from IRI, to IRI, relation label, evidence texts).
        centrality: node → degree centrality in the whole graph (the node's size).
        total: nodes in the whole graph.
        matched: nodes that passed the filters, before ``limit``.
        left_out: (kind, nodes) cut by ``limit``.
        note: what the page says about the selection.
    """

    nodes: tuple[NodeInfo, ...]
    edges: tuple[tuple[str, str, str, tuple[str, ...]], ...]
    centrality: Mapping[str, float]
    total: int
    matched: int
    left_out: tuple[tuple[str, int], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ViewLayout:
    """Where nodes go.

    Attributes:
        physics: vis-network settles the layout in the browser; ``positions`` is empty.
        positions: IRI → (x, y) in canvas pixels, computed beforehand.
        engine: what computed it.
        seconds: how long that took.
    """

    physics: bool
    positions: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    engine: str = "vis-network physics"
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ViewResult:
    """What ``write_view`` wrote.

    Attributes:
        path: the HTML file.
        nodes, edges: drawn.
        physics: laid out in the browser rather than beforehand.
        layout_seconds: time spent on the layout beforehand.
        note: the page's note on what was left out.
    """

    path: Path
    nodes: int
    edges: int
    physics: bool
    layout_seconds: float
    note: str


def _key(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _close(value: str, choices: Iterable[str], limit: int = 5) -> str:
    from rapidfuzz import fuzz, process

    found = [c for c, _, _ in process.extract(value, list(dict.fromkeys(choices)), scorer=fuzz.WRatio, limit=limit)]
    return ", ".join(repr(c) for c in found) if found else "none"


def _by_label(projection: Projection, label: str, *, what: str, kinds: set[str] | None = None) -> list[str]:
    wanted = normalize_label(label)
    labels: dict[str, list[str]] = {}
    for node, data in projection.graph.nodes(data=True):
        info: NodeInfo = data["info"]
        if kinds is None or info.kind in kinds:
            labels.setdefault(info.label, []).append(node)
    found = [n for text, nodes in labels.items() if normalize_label(text) == wanted for n in nodes]
    if not found:
        raise UsageError(f"{what} {label!r}: no node has this label; close matches: {_close(label, labels)}")
    return sorted(found)


def _documents_of(projection: Projection, doc_ids: set[str]) -> set[str]:
    return {n for n, data in projection.graph.nodes(data=True) if doc_ids.intersection(data["info"].documents)}


def _neighbourhood(projection: Projection, start: Sequence[str], depth: int) -> set[str]:
    graph = projection.graph
    seen = set(start)
    frontier = deque((n, 0) for n in start)
    while frontier:
        node, hops = frontier.popleft()
        if hops == depth:
            continue
        for other in (*graph.successors(node), *graph.predecessors(node)):
            if other not in seen:
                seen.add(other)
                frontier.append((other, hops + 1))
    return seen


def _run_query(store: ox.Store | None, path: Path) -> tuple[set[str], list[tuple[str, str, str]] | None]:
    """IRIs a query names and, for CONSTRUCT, the IRI-to-IRI triples it builds."""
    if store is None:
        raise UsageError(f"{path}: a query needs the build's store (kg build without --no-store)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the query: {exc.strerror}") from exc
    try:
        result = store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise QueryError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise QueryError(f"{path}: the query failed: {exc}") from exc
    if isinstance(result, ox.QueryBoolean):
        raise QueryError(f"{path}: an ASK query names no nodes; write a CONSTRUCT or a SELECT")
    if isinstance(result, ox.QueryTriples):
        triples = [
            (t.subject.value, t.predicate.value, t.object.value)
            for t in result
            if isinstance(t.subject, ox.NamedNode) and isinstance(t.object, ox.NamedNode)
        ]
        return {s for s, _, _ in triples} | {o for _, _, o in triples}, triples
    nodes = {
        term.value for solution in result for term in solution if isinstance(term, ox.NamedNode)
    }
    return nodes, None


@dataclass
class _Scope:
    """What the filters of a view leave: ``nodes`` is ``None`` while no filter has narrowed it."""

    nodes: set[str] | None = None
    filters: list[str] = field(default_factory=list)
    focus: list[str] = field(default_factory=list)
    extra: dict[str, NodeInfo] = field(default_factory=dict)
    constructed: list[tuple[str, str, str]] | None = None

    def narrow(self, nodes: set[str], why: str) -> None:
        self.nodes = nodes if self.nodes is None else self.nodes & nodes
        self.filters.append(why)


def _apply_filters(projection: Projection, options: ViewOptions, store: ox.Store | None) -> _Scope:
    graph = projection.graph
    scope = _Scope()
    if options.query is not None:
        named, scope.constructed = _run_query(store, options.query)
        for iri in named - graph.nodes.keys():
            # A CONSTRUCT may name resources the projection does not type (an ontology class).
            scope.extra[iri] = NodeInfo(iri=iri, label=iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1], kind="Resource")
        scope.narrow(named, f"query {options.query.name}")
    if options.document is not None:
        ids = sorted(projection.titles)
        chosen = [d for d in ids if d == options.document] or [d for d in ids if d.startswith(options.document)]
        if len(chosen) != 1:
            detail = f"it matches {len(chosen)} documents" if chosen else "no document has this id"
            raise UsageError(f"--document {options.document!r}: {detail}; close matches: {_close(options.document, ids)}")
        scope.narrow(_documents_of(projection, set(chosen)), f"document {chosen[0]}")
    if options.theme is not None:
        themes = _by_label(projection, options.theme, what="--theme", kinds={"Theme"})
        citing = {d for t in themes for d in projection.info(t).documents}
        scope.narrow(_documents_of(projection, citing), f"theme {options.theme!r} ({len(citing)} documents)")
    if options.focus is not None:
        scope.focus = _by_label(projection, options.focus, what="--focus")
        scope.narrow(_neighbourhood(projection, scope.focus, options.depth), f"{options.depth} hop(s) around {options.focus!r}")
    if options.types:
        known = {_key(k): k for k in projection.kinds()} | {_key(i.kind): i.kind for i in scope.extra.values()}
        unknown = [t for t in options.types if _key(t) not in known]
        if unknown:
            raise UsageError(f"--type {unknown[0]!r}: no such kind in this graph; kinds: {', '.join(sorted(known.values()))}")
        kinds = {known[_key(t)] for t in options.types}
        nodes = {n for n, k in graph.nodes(data="kind") if k in kinds} | {n for n, i in scope.extra.items() if i.kind in kinds}
        scope.narrow(nodes, "types " + ", ".join(sorted(kinds)))
    if options.min_relevancy is not None:
        nodes = {n for n, info in graph.nodes(data="info") if info.relevancy is None or info.relevancy >= options.min_relevancy}
        scope.narrow(nodes | scope.extra.keys(), f"relevancy ≥ {options.min_relevancy}")
    return scope


# Sampled betweenness walks the whole graph once per source (15 ms a source on the
# 154,000-node corpus); past this many node and edge visits in all, about a second, a view
# samples fewer sources than ``compute_centrality``'s 500. On that corpus the 2,000 nodes
# drawn from 67 sources share as many nodes with those a 1,500-source estimate draws as the
# 2,000 drawn from 500 sources do (about 1,280 against 1,266), and hold as much of its
# betweenness (88 % against 87 %): past the first few hundred, any sample reshuffles them.
BETWEENNESS_VISITS = 30_000_000


def _betweenness_sources(nodes: int, edges: int, *, most: int = 500, least: int = 50) -> int:
    """How many sources a view samples to estimate betweenness on a graph of this size.

    >>> _betweenness_sources(20_000, 40_000), _betweenness_sources(154_118, 290_383)
    (500, 67)
    """
    return max(least, min(most, BETWEENNESS_VISITS // max(nodes + edges, 1)))


def select_view(projection: Projection, options: ViewOptions, *, store: ox.Store | None = None) -> ViewSelection:
    """Choose the nodes and edges to draw.

    Filters narrow the graph in turn (query, document, theme, focus neighbourhood, types,
    relevancy); when more than ``options.limit`` nodes remain, the most central (by betweenness
    in the whole graph, then degree) are kept, focus nodes always among them. Above 5,000
    nodes betweenness is estimated from ``_betweenness_sources`` sampled sources (500,
    fewer on graphs so large that 500 would cost seconds), as the page's note says.

    Raises:
        UsageError: an unknown focus label, theme, document or type (the message lists close
            matches or the valid values), or a bad limit or depth.
        QueryError: the query is malformed, fails, or is an ASK.
    """
    if options.limit < 1:
        raise UsageError(f"--limit {options.limit}: must be at least 1")
    if options.depth < 0:
        raise UsageError(f"--depth {options.depth}: must be 0 or more")
    graph = projection.graph
    total = graph.number_of_nodes()
    degree = dict(graph.degree())
    scope = _apply_filters(projection, options, store)
    extra, constructed, filters = scope.extra, scope.constructed, scope.filters

    candidates = set(graph.nodes) if scope.nodes is None else scope.nodes
    pinned = set(scope.focus) & candidates
    ranking = "degree"
    betweenness: Mapping[str, float] = {}
    if len(candidates) > options.limit:
        # Ranked by degree alone, a large corpus's overview is its documents (each with dozens of
        # rows) and no edge between them; betweenness keeps the concepts that join them.
        # Each edge adds one to the degree of both its ends.
        sources = _betweenness_sources(total, sum(degree.values()) // 2)
        measured = compute_centrality(projection, samples=sources)
        betweenness = measured.betweenness
        ranking = "betweenness" + (f", estimated from {measured.sampled} sampled sources" if measured.sampled else "")
    kept = heapq.nsmallest(options.limit, candidates,
                           key=lambda n: (n not in pinned, -betweenness.get(n, 0.0), -degree.get(n, 0), n))
    kept_set = set(kept)
    cut = Counter((graph.nodes[n]["kind"] if n in graph else extra[n].kind) for n in candidates - kept_set)
    if constructed is not None:
        pairs: dict[tuple[str, str], set[str]] = {}
        for s, p, o in constructed:
            if s in kept_set and o in kept_set and s != o:
                pairs.setdefault((s, o), set()).add(relation_label(p))
        edges = [(s, o, ", ".join(sorted(labels)), ()) for (s, o), labels in sorted(pairs.items())]
    else:
        edges = sorted((s, o, d["relation"], d["evidence"]) for s, o, d in graph.subgraph(kept).edges(data=True))
    infos = tuple(graph.nodes[n]["info"] if n in graph else extra[n] for n in kept)
    note = _note(len(kept), len(candidates), total, filters, cut, ranking)
    scale = 1 / (total - 1) if total > 1 else 1.0
    return ViewSelection(
        nodes=infos, edges=tuple(edges), centrality={n: degree.get(n, 0) * scale for n in kept},
        total=total, matched=len(candidates), left_out=tuple(sorted(cut.items(), key=lambda kv: (-kv[1], kv[0]))),
        note=note,
    )


def _note(shown: int, matched: int, total: int, filters: Sequence[str], cut: Counter[str], ranking: str) -> str:
    where = f" matching {'; '.join(filters)}" if filters else ""
    if shown == matched:
        text = f"All {shown:,} nodes{where}" + (f" (of {total:,} in the graph)." if shown != total else ".")
    else:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(cut.items(), key=lambda kv: (-kv[1], kv[0])))
        text = (f"Showing the {shown:,} most central (by {ranking}) of {matched:,} nodes{where}; "
                f"{matched - shown:,} left out: {kinds}.")
    return text + " Size: degree centrality."


def layout_view(selection: ViewSelection, *, physics_up_to: int = PHYSICS_UP_TO, seed: int = 0) -> ViewLayout:
    """Lay out a selection: in the browser when small, else with igraph beforehand.

    The precomputed layout is Fruchterman–Reingold (grid variant above 1,000 nodes) with
    igraph's generator seeded by ``seed``, so the same selection always gets the same picture.
    """
    names = [info.iri for info in selection.nodes]
    if len(names) <= physics_up_to:
        return ViewLayout(physics=True)
    import igraph  # noqa: F401  (imported before the clock starts: the import is not layout time)

    started = time.perf_counter()
    index = {name: i for i, name in enumerate(names)}
    pairs = sorted({(min(index[s], index[o]), max(index[s], index[o])) for s, o, *_ in selection.edges if s != o})
    coords = _place_components(len(names), pairs, seed)
    return ViewLayout(
        physics=False, positions={name: coords[i] for i, name in enumerate(names)},
        engine="igraph Fruchterman-Reingold", seconds=round(time.perf_counter() - started, 3),
    )


def _place_components(count: int, pairs: Sequence[tuple[int, int]], seed: int) -> list[tuple[float, float]]:
    """Lay out each connected component on its own, then pack them in rows, largest first.

    Laid out together, small components drift far from the main one and the view, fitted to
    the outliers, shows the main component as a speck.
    """
    import igraph as ig

    # igraph's layouts draw from a process-wide generator; a seeded one for the duration
    # (igraph's default, the ``random`` module, put back after) makes the picture reproducible.
    ig.set_random_number_generator(random.Random(seed))
    try:
        return _pack_components(ig.Graph(n=count, edges=list(pairs)))
    finally:
        ig.set_random_number_generator(random)


def _pack_components(graph) -> list[tuple[float, float]]:
    count = graph.vcount()
    placed: list[tuple[float, float]] = [(0.0, 0.0)] * count
    boxes: list[tuple[list[int], list[tuple[float, float]], float, float]] = []
    for members in sorted(graph.connected_components(), key=lambda m: (-len(m), m[0])):
        sub = graph.induced_subgraph(members)
        if len(members) == 1:
            local = [(0.0, 0.0)]
        else:
            # igraph's own random start: given start positions, its grid variant runs ~40x slower.
            raw = sub.layout_fruchterman_reingold(niter=500, grid="auto").coords
            local = _to_pixels(raw, [e.tuple for e in sub.es])
        left, top = min(x for x, _ in local), min(y for _, y in local)
        local = [(x - left, y - top) for x, y in local]
        width, height = max(x for x, _ in local), max(y for _, y in local)
        boxes.append((members, local, width + 60, height + 60))
    width = max(max(w for _, _, w, _ in boxes), math.sqrt(sum(w * h for _, _, w, h in boxes)) * 1.2)
    x = y = row = 0.0
    for members, local, w, h in boxes:
        if x and x + w > width:
            x, y, row = 0.0, y + row, 0.0
        for member, (lx, ly) in zip(members, local):
            placed[member] = (round(x + lx, 1), round(y + ly, 1))
        x, row = x + w, max(row, h)
    return placed


def _to_pixels(coords: Sequence[Sequence[float]], pairs: Sequence[tuple[int, int]]) -> list[tuple[float, float]]:
    """Scale a layout so that a typical edge is ~90 px long."""
    lengths = sorted(math.dist(coords[a], coords[b]) for a, b in pairs if a != b)
    typical = lengths[len(lengths) // 2] if lengths else 0.0
    factor = 90 / typical if typical > 0 else 1.0
    return [(x * factor, y * factor) for x, y in coords]


def render_view(selection: ViewSelection, layout: ViewLayout, *, title: str = "Knowledge graph",
                titles: Mapping[str, str] | None = None) -> str:
    """One self-contained HTML page drawing ``selection``.

    Args:
        selection: what to draw.
        layout: where (or physics).
        title: the heading (shown as text).
        titles: document id → title, for the tooltips' source documents.
    """
    titles = titles or {}
    index = {info.iri: i for i, info in enumerate(selection.nodes)}
    counts = Counter(info.kind for info in selection.nodes)
    nodes, details = [], []
    for i, info in enumerate(selection.nodes):
        colour, shape = style_of(info.kind)
        node = {"id": i, "label": _cut(info.label, 40), "color": colour, "shape": shape,
                "value": selection.centrality.get(info.iri, 0.0)}
        if info.iri in layout.positions:
            node["x"], node["y"] = layout.positions[info.iri]
        nodes.append(node)
        docs = [f"{titles.get(d, d)} ({d})" for d in info.documents[:5]]
        details.append({
            "label": info.label, "kind": info.kind, "iri": info.iri,
            "description": _cut(info.description or "", 500), "relevancy": info.relevancy,
            "documents": docs, "more": max(0, len(info.documents) - len(docs)),
            "source": info.source or "", "evidence": [_cut(e, 300) for e in info.evidence[:3]],
            "centrality": round(selection.centrality.get(info.iri, 0.0), 5),
        })
    edges = []
    for s, o, rel, evidence in selection.edges:
        edge = {"from": index[s], "to": index[o], "label": rel}
        if evidence:
            edge["evidence"] = [_cut(e, 300) for e in evidence[:3]]
        edges.append(edge)
    data = {
        "title": title, "note": selection.note, "physics": layout.physics, "nodes": nodes, "edges": edges,
        # Not the layout's seconds: the same graph must give the same page, byte for byte.
        "details": details, "layout": layout.engine,
        "legend": [[kind, n, *style_of(kind)] for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))],
    }
    # As JSON inside a data block nothing can end the block or open markup: <, > and & are escaped.
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    script, style = _vis_assets()
    parts = {"STYLE": style, "DATA": payload, "CSP": f"'{_sha256(script)}' '{_sha256(_APP)}'", "VIS": script, "APP": _APP}
    # One pass over the template: text put in is never searched again for placeholders.
    return re.sub(r"/\*(STYLE|DATA|CSP|VIS|APP)\*/", lambda m: parts[m.group(1)], _TEMPLATE)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _sha256(script: str) -> str:
    import base64

    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


@lru_cache(maxsize=1)
def _vis_assets() -> tuple[str, str]:
    lib = resources.files("pyvis") / "lib" / "vis-9.1.2"
    script = (lib / "vis-network.min.js").read_text(encoding="utf-8")
    style = (lib / "vis-network.css").read_text(encoding="utf-8")
    return script.replace("</script", "<\\/script"), style.replace("</style", "<\\/style")


def write_view(projection: Projection, options: ViewOptions, path: Path, *, store: ox.Store | None = None,
               physics_up_to: int = PHYSICS_UP_TO) -> ViewResult:
    """Select, lay out and render a view, and write it to ``path`` atomically.

    Raises:
        UsageError, QueryError: as ``select_view``.
    """
    selection = select_view(projection, options, store=store)
    layout = layout_view(selection, physics_up_to=physics_up_to)
    write_text_atomic(path, render_view(selection, layout, title=options.title, titles=projection.titles))
    return ViewResult(path, len(selection.nodes), len(selection.edges), layout.physics, layout.seconds, selection.note)


def write_store_view(store: ox.Store, options: ViewOptions, path: Path) -> ViewResult:
    """``write_view`` on the projection of a build's store (what ``kg viz`` runs)."""
    return write_view(load_projection(store), options, path, store=store)


# Past this many statements the build's overview leaves out the mention annotations (a third
# of a corpus's statements): reading them cost the view half its time, and an overview of
# thousands of documents shows documents and what they mention, which fs:mentions still gives.
BIG_GRAPH = 1_000_000


def write_build_view(graph: BuiltGraph, path: Path, *, limit: int = 2000, reuse: Path | None = None, version: str = "",
                     written: Callable[[Path], None] | None = None) -> Path:
    """Write the build's ``graph.html``: the same view as an unfiltered ``kg viz`` (for a graph
    of more than ``BIG_GRAPH`` statements, without the mentions' quoted text as evidence).
    ``reuse`` and ``version``: see ``project_segments``; ``written`` is told the page's path
    as soon as it is written, before ``reuse`` is saved."""
    # A mention annotation, its target and its selector are the subjects with "/mention/" in their IRI.
    leave_out = b"/mention/" if graph.triples > BIG_GRAPH else None
    # Nothing the view makes is garbage before it is done, yet at corpus scale collections
    # would walk its millions of objects again and again (in the build's forked child, the
    # parent's objects too, copying their pages).
    with pause_gc():
        projection, save = read_segments(graph, leave_out=leave_out, reuse=reuse, version=version)
        write_view(projection, ViewOptions(limit=limit), path)
        # networkx's views of the graph refer back to it, so only a collection, walking all
        # of it first, would free it; emptied, its contents go at once.
        projection.graph.clear()
    if written is not None:
        written(path)
    save()
    return path


# The page's own script. It is hashed into the CSP, so it must stay free of per-page data.
_APP = r"""
const DATA = JSON.parse(document.getElementById('kg-data').textContent);
const $ = (id) => document.getElementById(id);
document.title = DATA.title;
$('title').textContent = DATA.title;
$('note').textContent = DATA.note + (DATA.physics ? '' : ' Layout: ' + DATA.layout + ', computed before the page was written.');
for (const [kind, n, colour] of DATA.legend) {
  const item = document.createElement('span'); const dot = document.createElement('i');
  dot.style.background = colour; item.appendChild(dot);
  item.appendChild(document.createTextNode(kind + ' ' + n.toLocaleString())); $('legend').appendChild(item);
}
function field(box, name, value) {
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return;
  const row = document.createElement('div'); const key = document.createElement('b');
  key.textContent = name + ': '; row.appendChild(key);
  row.appendChild(document.createTextNode(Array.isArray(value) ? value.join(' · ') : String(value)));
  box.appendChild(row);
}
function describe(box, i) {
  const d = DATA.details[i];
  box.replaceChildren();
  const head = document.createElement('div'); head.className = 'head'; head.textContent = d.label; box.appendChild(head);
  field(box, 'class', d.kind);
  field(box, 'description', d.description);
  field(box, 'relevancy', d.relevancy);
  field(box, 'documents', d.documents.concat(d.more ? ['and ' + d.more + ' more'] : []));
  field(box, 'source', d.source);
  field(box, 'evidence', d.evidence);
  field(box, 'centrality', d.centrality);
  field(box, 'IRI', d.iri);
}
const nodes = new vis.DataSet(DATA.nodes); const edges = new vis.DataSet(DATA.edges);
const big = DATA.nodes.length > 2000;
const network = new vis.Network($('net'), {nodes, edges}, {
  layout: {improvedLayout: DATA.physics && DATA.nodes.length <= 150},
  physics: DATA.physics ? {enabled: true, solver: 'barnesHut', stabilization: {iterations: 250, fit: true},
                           barnesHut: {gravitationalConstant: -3000, springLength: 90, avoidOverlap: 0.2}}
                        : {enabled: false},
  nodes: {scaling: {min: 6, max: 36, label: {enabled: true, min: 9, max: 16, drawThreshold: 6}},
          font: {size: 11}, borderWidth: 1},
  edges: {smooth: false, arrows: {to: {enabled: true, scaleFactor: 0.35}}, color: {color: '#b8b8b8', highlight: '#555'},
          width: 0.6, font: {size: 8, color: '#666', strokeWidth: 2}, selectionWidth: 1.5},
  interaction: {hover: !big, tooltipDelay: 120, hideEdgesOnDrag: big, hideEdgesOnZoom: big}});
const tip = $('tip');
function show(p) {
  tip.style.display = 'block';
  tip.style.left = Math.min(p.pointer.DOM.x + 14, window.innerWidth - 380) + 'px';
  tip.style.top = ($('net').offsetTop + p.pointer.DOM.y + 14) + 'px';
}
network.on('hoverNode', (p) => {
  describe(tip, p.node); show(p);
});
network.on('blurNode', () => { tip.style.display = 'none'; });
network.on('hoverEdge', (p) => {
  const e = edges.get(p.edge); tip.replaceChildren();
  const head = document.createElement('div'); head.className = 'head';
  head.textContent = DATA.details[e.from].label + ' — ' + e.label + ' → ' + DATA.details[e.to].label;
  tip.appendChild(head); field(tip, 'evidence', e.evidence || []); show(p);
});
network.on('blurEdge', () => { tip.style.display = 'none'; });
network.on('click', (p) => { if (p.nodes.length) { describe($('panel'), p.nodes[0]); $('panel').style.display = 'block'; } });
if (DATA.physics) network.once('stabilizationIterationsDone', () => network.setOptions({physics: {enabled: false}}));
else network.fit({animation: false});
$('find').addEventListener('change', (e) => {
  const want = e.target.value.trim().toLowerCase(); if (!want) return;
  const hit = DATA.details.findIndex((d) => d.label.toLowerCase().includes(want));
  if (hit >= 0) { network.selectNodes([hit]); network.focus(hit, {scale: 1.2}); describe($('panel'), hit); $('panel').style.display = 'block'; }
});
window.KG_VIEW = {nodes: null, edges: DATA.edges.length, physics: DATA.physics, drawn: false, firstDrawMs: null, network};
network.once('afterDrawing', () => {
  window.KG_VIEW.nodes = network.body.nodeIndices.length;
  window.KG_VIEW.firstDrawMs = performance.now();
  window.KG_VIEW.drawn = true;
});
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src /*CSP*/; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>foresight-kg view</title>
<style>/*STYLE*/
body{font-family:system-ui,sans-serif;margin:0;color:#222;height:100vh;display:flex;flex-direction:column}
#bar{padding:6px 10px;border-bottom:1px solid #ddd;font-size:13px;flex:none}
#bar input{float:right;font-size:13px;width:220px;margin-left:8px}
#net{width:100%;flex:1;min-height:300px}
#legend span{display:inline-block;margin-right:12px;font-size:12px}
#legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
#note{color:#555}
#tip,#panel{position:absolute;display:none;max-width:360px;background:#fff;border:1px solid #bbb;border-radius:4px;
padding:6px 8px;font-size:12px;box-shadow:0 2px 6px rgba(0,0,0,.15);pointer-events:none;overflow-wrap:anywhere}
#panel{pointer-events:auto;right:10px;top:80px;max-height:60vh;overflow:auto}
.head{font-weight:600;font-size:13px;margin-bottom:3px}
</style>
</head><body>
<div id="bar"><input id="find" placeholder="find a label…" aria-label="find a label"><b id="title"></b> <span id="note"></span><div id="legend"></div></div>
<div id="net"></div><div id="tip"></div><div id="panel"></div>
<script type="application/json" id="kg-data">/*DATA*/</script>
<script>/*VIS*/</script>
<script>/*APP*/</script>
</body></html>
"""
