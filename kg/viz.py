"""Self-contained HTML views of the graph (vis-network inlined; no remote URL)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

import pyoxigraph as ox

from kg.fsutil import write_text_atomic
from kg.namespaces import FS, RDF, RDFS
from kg.types import BuiltGraph

__all__ = ["CLASS_STYLE", "render_html", "write_build_view"]

CLASS_STYLE: dict[str, tuple[str, str]] = {
    "Document": ("#4e79a7", "box"),
    "Signal": ("#f28e2b", "dot"),
    "Concern": ("#e15759", "triangle"),
    "Issue": ("#b07aa1", "diamond"),
    "Behavior": ("#59a14f", "dot"),
    "Technology": ("#76b7b2", "square"),
    "DrivingForce": ("#edc948", "star"),
    "Concept": ("#bab0ac", "ellipse"),
}


def _vis_assets() -> tuple[str, str]:
    lib = resources.files("pyvis") / "lib" / "vis-9.1.2"
    return (lib / "vis-network.min.js").read_text(encoding="utf-8"), (lib / "vis-network.css").read_text(encoding="utf-8")


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def write_build_view(graph: BuiltGraph, path: Path, *, limit: int = 2000) -> Path:
    """Write the build's overview: every node up to ``limit``, else the best-connected ones."""
    labels: dict[str, str] = {}
    classes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for quad in graph.quads:
        s, p, o = quad.subject.value, quad.predicate.value, quad.object
        if p == str(RDFS.label):
            labels[s] = o.value
        elif p == str(RDF.type):
            classes.setdefault(s, "Concept" if "skos" in o.value else _local(o.value))
        elif isinstance(o, ox.NamedNode) and p.startswith(str(FS._NS)):
            edges.append((s, o.value, _local(p)))
    degree: Counter[str] = Counter()
    for s, o, _ in edges:
        degree[s] += 1
        degree[o] += 1
    nodes = sorted(classes, key=lambda n: (-degree[n], n))
    kept = set(nodes[:limit])
    shown_edges = [e for e in edges if e[0] in kept and e[1] in kept]
    left_out = len(nodes) - len(kept)
    html = render_html(
        title="Knowledge graph",
        nodes=[{"id": n, "label": labels.get(n, _local(n)), "cls": classes[n], "degree": degree[n]} for n in sorted(kept)],
        edges=[{"from": s, "to": o, "label": p} for s, o, p in shown_edges],
        note=(f"Showing the {len(kept)} best-connected of {len(nodes)} nodes; {left_out} left out." if left_out else ""),
    )
    write_text_atomic(path, html)
    return path


def render_html(*, title: str, nodes: list[dict], edges: list[dict], note: str = "") -> str:
    """One HTML page drawing ``nodes`` and ``edges``; all text goes in as JSON data, never as markup."""
    script, style = _vis_assets()
    by_class: dict[str, int] = defaultdict(int)
    vis_nodes = []
    for node in nodes:
        color, shape = CLASS_STYLE.get(node["cls"], ("#9c755f", "dot"))
        by_class[node["cls"]] += 1
        vis_nodes.append({
            "id": node["id"], "label": node["label"][:40], "title": f"{node['label']}\n{node['cls']}",
            "color": color, "shape": shape, "group": node["cls"], "value": 1 + node.get("degree", 0),
        })
    data = {"nodes": vis_nodes, "edges": edges, "legend": sorted(by_class.items()), "styles": CLASS_STYLE,
            "title": title, "note": note, "physics": len(nodes) <= 500}
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")
    return _TEMPLATE.replace("/*STYLE*/", style).replace("/*SCRIPT*/", script.replace("</script", "<\\/script")).replace("/*DATA*/", payload)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>foresight-kg view</title>
<style>/*STYLE*/
body{font-family:system-ui,sans-serif;margin:0}#bar{padding:6px 10px;border-bottom:1px solid #ddd}
#net{width:100%;height:calc(100vh - 60px)}#legend span{display:inline-block;margin-right:12px}
#legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}</style>
</head><body><div id="bar"><b id="title"></b> <span id="note"></span><div id="legend"></div></div><div id="net"></div>
<script>/*SCRIPT*/</script>
<script>
const DATA = /*DATA*/;
document.getElementById('title').textContent = DATA.title;
document.getElementById('note').textContent = DATA.note;
const legend = document.getElementById('legend');
for (const [cls, n] of DATA.legend) {
  const span = document.createElement('span'); const dot = document.createElement('i');
  dot.style.background = (DATA.styles[cls] || ['#9c755f'])[0]; span.appendChild(dot);
  span.appendChild(document.createTextNode(cls + ' (' + n + ')')); legend.appendChild(span);
}
const nodes = new vis.DataSet(DATA.nodes); const edges = new vis.DataSet(DATA.edges);
const network = new vis.Network(document.getElementById('net'), {nodes, edges}, {
  physics: {enabled: DATA.physics, stabilization: {iterations: 200}},
  edges: {smooth: false, arrows: 'to', font: {size: 8}}, nodes: {scaling: {min: 8, max: 40}},
  interaction: {hover: true, tooltipDelay: 150}});
window.KG_VIEW = {nodes: DATA.nodes.length, edges: DATA.edges.length, network};
</script></body></html>
"""
