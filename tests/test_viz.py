"""kg.viz without a browser: what a view selects, how it lays out, and what its HTML holds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest

from kg.analysis import NodeInfo, Projection, load_projection
from kg.errors import QueryError, UsageError
from kg.namespaces import FS
from kg.rdf.store import open_store
from kg.types import BuiltGraph
from kg.viz import PHYSICS_UP_TO, ViewOptions, layout_view, render_view, select_view, write_build_view, write_view

ROOT = Path(__file__).resolve().parent.parent
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def store(example_build: Path):
    return open_store(example_build)


@pytest.fixture(scope="module")
def projection(store) -> Projection:
    return load_projection(store)


def _page_data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="kg-data">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))


def _labels(selection) -> set[str]:
    return {info.label for info in selection.nodes}


def test_build_view_loads_nothing_remote(example_build: Path):
    page = (example_build / "graph.html").read_text(encoding="utf-8")
    assert not REMOTE.search(page) and "<script src" not in page and "<link" not in page


def test_build_view_inlines_vis_network(example_build: Path):
    page = (example_build / "graph.html").read_text(encoding="utf-8")
    assert "vis-network" in page and "new vis.Network" in page and "window.KG_VIEW" in page


def test_build_view_is_the_unfiltered_view(example_build: Path, projection: Projection):
    data = _page_data((example_build / "graph.html").read_text(encoding="utf-8"))
    assert len(data["nodes"]) == projection.graph.number_of_nodes()


def _quoted(data: dict) -> int:
    return sum(1 for d in data["details"] if any("“" in e for e in d.get("evidence") or ()))


def test_big_graph_view_draws_the_same_nodes_without_mention_evidence(tmp_path: Path, projection: Projection, monkeypatch,
                                                                      example_build: Path):
    """Past BIG_GRAPH statements the overview skips the mention annotations: the same nodes,
    entities still linked to their documents, only the quoted evidence is gone."""
    import kg.viz
    from kg.pipeline import build

    monkeypatch.setattr(kg.viz, "BIG_GRAPH", 0)
    out = tmp_path / "big"
    build([ROOT / "examples" / "corpus"], out)
    data = _page_data((out / "graph.html").read_text(encoding="utf-8"))
    assert len(data["nodes"]) == projection.graph.number_of_nodes()
    assert len(data["edges"]) > 0
    assert _quoted(data) == 0
    assert _quoted(_page_data((example_build / "graph.html").read_text(encoding="utf-8"))) > 0


@pytest.mark.parametrize("big", [False, True])
def test_build_view_is_the_same_page_every_time(store, tmp_path: Path, monkeypatch, big: bool):
    import kg.viz

    if big:
        monkeypatch.setattr(kg.viz, "BIG_GRAPH", 0)
    data = store.dump(format=ox.RdfFormat.N_QUADS)
    graph = BuiltGraph(segments=[("all", data)], triples=data.count(b"\n"))
    first, second = write_build_view(graph, tmp_path / "a.html"), write_build_view(graph, tmp_path / "b.html")
    assert first.read_bytes() == second.read_bytes()


def _path_projection(size: int) -> Projection:
    graph = nx.DiGraph()
    for i in range(size):
        iri = f"https://example.org/{i}"
        graph.add_node(iri, info=NodeInfo(iri=iri, label=str(i), kind="Signal"), kind="Signal")
    nx.add_path(graph, list(graph), relation="next", evidence=())
    return Projection(graph)


def test_large_graph_samples_fewer_sources_and_says_so(monkeypatch):
    import kg.viz

    projection = _path_projection(6000)
    assert "estimated from 500 sampled sources" in select_view(projection, ViewOptions(limit=100)).note
    # 6,000 nodes and 5,999 edges: 1,200,000 visits allow 100 sources.
    monkeypatch.setattr(kg.viz, "BETWEENNESS_VISITS", 1_200_000)
    first, second = select_view(projection, ViewOptions(limit=100)), select_view(projection, ViewOptions(limit=100))
    assert "estimated from 100 sampled sources" in first.note and first == second


def test_csp_allows_only_the_page_own_scripts(example_build: Path):
    page = (example_build / "graph.html").read_text(encoding="utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    script_src = re.search(r"script-src ([^;]+)", csp).group(1).split()
    assert "default-src 'none'" in csp and len(script_src) == 2 and all(s.startswith("'sha256-") for s in script_src)


def _hostile_view(projection: Projection, label: str) -> str:
    selection = select_view(projection, ViewOptions(limit=3))
    first = selection.nodes[0]
    hostile = type(first)(**{**{f: getattr(first, f) for f in first.__slots__}, "label": label, "description": label})
    selection = type(selection)(**{**selection.__dict__, "nodes": (hostile, *selection.nodes[1:])})
    return render_view(selection, layout_view(selection), title=label)


def test_markup_in_a_label_never_reaches_the_page_as_markup(projection: Projection):
    payload = "</script><img src=x onerror=alert(1)><!--"
    page = _hostile_view(projection, payload)
    assert "<img src=x" not in page and "</script><img" not in page
    assert _page_data(page)["details"][0]["label"] == payload


def test_placeholder_text_in_a_label_is_not_filled(projection: Projection):
    page = _hostile_view(projection, "/*APP*/ /*VIS*/")
    assert _page_data(page)["title"] == "/*APP*/ /*VIS*/" and page.count("new vis.Network") == 1


def test_focus_is_case_insensitive_and_draws_the_neighbourhood(projection: Projection):
    node = max(projection.graph, key=lambda n: projection.graph.degree(n))
    label = projection.info(node).label
    selection = select_view(projection, ViewOptions(focus=label.upper(), depth=1, limit=10_000))
    ego = nx.ego_graph(projection.graph.to_undirected(as_view=True), node, radius=1)
    assert {i.iri for i in selection.nodes} == set(ego)


def test_unknown_focus_lists_close_matches(projection: Projection):
    with pytest.raises(UsageError, match=r"--focus 'National Audit Ofice': no node has this label; close matches: .*'National Audit Office'"):
        select_view(projection, ViewOptions(focus="National Audit Ofice"))


def test_type_filter_keeps_only_those_kinds(projection: Projection):
    selection = select_view(projection, ViewOptions(types=("driving-force", "signal")))
    assert {i.kind for i in selection.nodes} == {"DrivingForce", "Signal"}


def test_unknown_type_lists_the_kinds(projection: Projection):
    with pytest.raises(UsageError, match=r"--type 'Widget': no such kind in this graph; kinds: .*Signal"):
        select_view(projection, ViewOptions(types=("Widget",)))


def test_min_relevancy_drops_lower_rows(projection: Projection):
    kept = select_view(projection, ViewOptions(min_relevancy=5)).nodes
    assert all(i.relevancy is None or i.relevancy >= 5 for i in kept)
    assert any(i.relevancy == 5 for i in kept)


def test_document_filter_keeps_what_the_document_states_or_cites(projection: Projection):
    doc_id = sorted(projection.titles)[0]
    selection = select_view(projection, ViewOptions(document=doc_id[:8]))
    assert selection.nodes and all(doc_id in i.documents for i in selection.nodes)


def test_unknown_document_is_a_usage_error(projection: Projection):
    with pytest.raises(UsageError, match="--document 'zzzz': no document has this id"):
        select_view(projection, ViewOptions(document="zzzz"))


def test_theme_filter_keeps_the_documents_with_that_theme(projection: Projection, store):
    rows = store.query(f"""SELECT ?d WHERE {{ ?d <{FS.theme}> ?t . ?t <http://www.w3.org/2000/01/rdf-schema#label> "digital government" }}""",
                       use_default_graph_as_union=True)
    want = {r["d"].value for r in rows}
    selection = select_view(projection, ViewOptions(theme="Digital Government"))
    want_ids = {projection.info(d).doc_id for d in want}
    assert want and want <= {i.iri for i in selection.nodes} and all(want_ids & set(i.documents) for i in selection.nodes)


def test_limit_keeps_the_most_central_and_says_what_it_left_out(projection: Projection):
    selection = select_view(projection, ViewOptions(limit=50))
    betweenness = nx.betweenness_centrality(projection.graph.to_undirected())
    kept = {i.iri for i in selection.nodes}
    assert len(kept) == 50
    assert min(betweenness[n] for n in kept) >= max(b for n, b in betweenness.items() if n not in kept) - 1e-12
    left = projection.graph.number_of_nodes() - 50
    assert f"Showing the 50 most central (by betweenness) of {projection.graph.number_of_nodes():,} nodes; {left:,} left out:" in selection.note


def test_construct_query_draws_its_triples(projection: Projection, store, tmp_path: Path):
    query = tmp_path / "forces.rq"
    query.write_text("CONSTRUCT { ?s fs:drivingForce ?f } WHERE { ?s a fs:Signal ; fs:drivingForce ?f }", encoding="utf-8")
    selection = select_view(projection, ViewOptions(query=query), store=store)
    assert selection.edges and {rel for *_, rel, _ in selection.edges} == {"driving force"}
    assert {i.kind for i in selection.nodes} == {"Signal", "DrivingForce"}


def test_select_query_draws_the_nodes_it_binds(projection: Projection, store, tmp_path: Path):
    query = tmp_path / "docs.rq"
    query.write_text("SELECT ?d WHERE { ?d a fs:Document }", encoding="utf-8")
    selection = select_view(projection, ViewOptions(query=query), store=store)
    assert {i.kind for i in selection.nodes} == {"Document"} and len(selection.nodes) == len(projection.titles)


def test_malformed_query_names_its_file(projection: Projection, store, tmp_path: Path):
    query = tmp_path / "bad.rq"
    query.write_text("SELECT ?x WHERE { ?x a }", encoding="utf-8")
    with pytest.raises(QueryError, match=r"bad\.rq: "):
        select_view(projection, ViewOptions(query=query), store=store)


def test_ask_query_is_refused(projection: Projection, store, tmp_path: Path):
    query = tmp_path / "ask.rq"
    query.write_text("ASK { ?s ?p ?o }", encoding="utf-8")
    with pytest.raises(QueryError, match="ASK query names no nodes"):
        select_view(projection, ViewOptions(query=query), store=store)


def test_small_view_uses_physics(projection: Projection):
    layout = layout_view(select_view(projection, ViewOptions(limit=PHYSICS_UP_TO)))
    assert layout.physics and not layout.positions


def test_large_view_is_laid_out_beforehand_the_same_way_twice(projection: Projection):
    selection = select_view(projection, ViewOptions())
    first, second = layout_view(selection, physics_up_to=10), layout_view(selection, physics_up_to=10)
    assert not first.physics and len(first.positions) == len(selection.nodes) and first.positions == second.positions


def test_laid_out_page_is_the_same_bytes_however_long_the_layout_took(projection: Projection, tmp_path: Path, monkeypatch):
    import itertools

    import kg.viz

    pages = []
    for step in (0.25, 9.0):  # a clock that makes the layout take 0.25 s, then 9 s
        ticks = itertools.count(0.0, step)
        monkeypatch.setattr(kg.viz.time, "perf_counter", lambda: next(ticks))
        pages.append(write_view(projection, ViewOptions(), tmp_path / f"{step}.html", physics_up_to=10))
    monkeypatch.undo()
    assert not _page_data(pages[0].path.read_text(encoding="utf-8"))["physics"]
    assert pages[0].layout_seconds != pages[1].layout_seconds
    assert pages[0].path.read_bytes() == pages[1].path.read_bytes()


def _kg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True, timeout=300)


def test_kg_viz_writes_the_focused_view(example_build: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from kg.cli import app

    out = tmp_path / "nao.html"
    args = ["viz", "--graph", str(example_build), "--focus", "national audit office", "--depth", "1", "--out", str(out)]
    assert CliRunner().invoke(app, args, catch_exceptions=False).exit_code == 0
    assert any(d["label"] == "National Audit Office" for d in _page_data(out.read_text(encoding="utf-8"))["details"])


def test_kg_viz_unknown_focus_exits_2_with_close_matches(example_build: Path, tmp_path: Path):
    run = _kg("viz", "--graph", str(example_build), "--focus", "Cabinet Ofice", "--out", str(tmp_path / "x.html"))
    assert run.returncode == 2 and "close matches" in run.stderr and "Cabinet Office" in run.stderr


@pytest.mark.slow
def test_notebook_shows_stats_plots_and_two_views():
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "notebooks" / "02-visual-analysis.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 4
    assert any("Most central nodes" in h for h in html) and sum("<iframe srcdoc=" in h for h in html) == 2
