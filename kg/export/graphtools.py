"""GraphML and GEXF through networkx, for Gephi, yEd and Cytoscape.

Nodes are keyed by ``uri`` and carry ``label`` (what tools display), ``class`` (the labels of
the property-graph view, ``;``-joined) and every property of that view: integers stay integers,
dates become ISO strings and lists are joined with ``"; "``, since neither format has lists.
Edges carry ``relation`` (and ``label``, which Gephi shows) named as in Neo4j.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from kg.export.base import Dataset, ExportOptions, ExportResult, require_out
from kg.export.property_graph import PgNode, PropertyGraph, Value, project_property_graph
from kg.fsutil import atomic_write

__all__ = ["LIST_SEPARATOR", "display_label", "export_gexf", "export_graphml", "to_networkx", "write_gexf", "write_graphml"]

LIST_SEPARATOR = "; "
# Names networkx's writers take for structure (GEXF reads start/end as time spells, pid as a
# parent, viz as drawing hints) or that this module sets itself.
_RESERVED = {"label", "class", "uri", "id", "pid", "start", "end", "viz", "spells", "parents", "key"}


def display_label(node: PgNode) -> str:
    """What a tool should show: ``rdfs:label`` (``label``), else ``prefLabel``, else the IRI's tail."""
    props = dict(node.properties)
    for key in ("label", "prefLabel"):
        value = props.get(key)
        if value:
            return str(value[0] if isinstance(value, tuple) else value)
    return node.uri.rstrip("/").rsplit("/", 1)[-1]


def _attribute(value: Value) -> str | int:
    if isinstance(value, tuple):
        return LIST_SEPARATOR.join(str(_attribute(v)) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_networkx(graph: PropertyGraph) -> nx.MultiDiGraph:
    """The property graph as a networkx multigraph, nodes and edges in the graph's order.

    A property whose name a writer reserves (``label``, ``class``, ``uri``, ``id``, ``start``,
    ``end`` …) is kept as ``rdf_<name>``, except a single ``rdfs:label``, which is the display
    label itself.
    """
    g = nx.MultiDiGraph()
    for node in graph.nodes:
        attrs: dict[str, str | int] = {"label": display_label(node), "class": ";".join(node.labels), "uri": node.uri}
        for key, value in node.properties:
            if key == "label" and not isinstance(value, tuple):
                continue  # it is the display label already
            attrs[f"rdf_{key}" if key in _RESERVED else key] = _attribute(value)
        g.add_node(node.uri, **attrs)
    for index, edge in enumerate(graph.edges):
        g.add_edge(edge.start, edge.end, key=index, relation=edge.type, label=edge.type)
    return g


def write_graphml(graph: PropertyGraph, path: Path) -> None:
    """Write GraphML to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        nx.write_graphml(to_networkx(graph), handle, encoding="utf-8", prettyprint=True)


def write_gexf(graph: PropertyGraph, path: Path) -> None:
    """Write GEXF 1.2 to ``path`` atomically, without networkx's date stamp (same build, same bytes)."""
    from networkx.readwrite.gexf import GEXFWriter

    writer = GEXFWriter(encoding="utf-8", prettyprint=True, version="1.2draft")
    meta = writer.xml.find("meta")
    meta.attrib.pop("lastmodifieddate", None)
    meta.find("creator").text = "foresight-kg"
    writer.add_graph(to_networkx(graph))
    with atomic_write(path, "wb") as handle:
        writer.write(handle)


def _export(name: str, write: Callable[[PropertyGraph, Path], None]) -> Callable[[Dataset, ExportOptions], ExportResult]:
    def run(dataset: Dataset, options: ExportOptions) -> ExportResult:
        path = require_out(options, name)
        graph = project_property_graph(dataset)
        write(graph, path)
        return ExportResult(target=name, outputs=(path,), counts=(("nodes", len(graph.nodes)), ("edges", len(graph.edges))))

    run.__doc__ = f"``kg export {name} --out FILE``."
    return run


export_graphml = _export("graphml", write_graphml)
export_gexf = _export("gexf", write_gexf)
