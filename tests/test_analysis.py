"""kg.analysis: the networkx projection of a build, its figures, `kg stats` and `kg report`."""

from __future__ import annotations

import copy
import pickle
import re
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest

from kg.analysis import (
    GraphStats,
    Projection,
    analyse_graph,
    compute_centrality,
    detect_communities,
    load_projection,
    project_nquads,
    project_quads,
    rank_cited,
    render_report,
    summarise_months,
)
from kg.iri import document_iri, graph_iri
from kg.namespaces import FS, RDF, RDFS
from kg.rdf.store import open_store


@pytest.fixture(scope="module")
def projection(example_build: Path) -> Projection:
    return load_projection(open_store(example_build))


@pytest.fixture(scope="module")
def store(example_build: Path) -> ox.Store:
    return open_store(example_build)


def _select(store: ox.Store, query: str) -> list:
    return list(store.query(query, use_default_graph_as_union=True))


def _quad(s: str, p, o, doc: str) -> ox.Quad:
    obj = o if isinstance(o, (ox.Literal, ox.NamedNode)) else ox.NamedNode(str(o))
    return ox.Quad(ox.NamedNode(s), ox.NamedNode(str(p)), obj, ox.NamedNode(graph_iri(f"doc/{doc}")))


def _typed(iri: str, cls, label: str, doc: str) -> list[ox.Quad]:
    return [_quad(iri, RDF.type, cls, doc), _quad(iri, RDFS.label, ox.Literal(label), doc)]


def test_every_signal_of_the_store_is_a_signal_node(projection: Projection, store: ox.Store):
    signals = {row["s"].value for row in _select(store, f"SELECT DISTINCT ?s WHERE {{ ?s a <{FS.Signal}> }}")}
    assert signals and {n for n, k in projection.graph.nodes(data="kind") if k == "Signal"} == signals


def test_ontology_graph_is_not_projected(projection: Projection):
    assert not [n for n in projection.graph if n.startswith(str(FS._NS))]


def test_build_provenance_is_not_projected():
    provenance = ox.NamedNode(graph_iri("provenance"))
    quad = ox.Quad(ox.NamedNode("https://example.org/run"), ox.NamedNode(str(RDF.type)), ox.NamedNode(str(FS.Document)), provenance)
    assert project_quads([quad]).graph.number_of_nodes() == 0


def test_annotation_scaffolding_is_not_a_node(projection: Projection):
    assert not {"Mention", "SpecificResource", "TextPositionSelector", "TextQuoteSelector"} & set(projection.kinds())


def test_shared_keyword_lists_every_citing_document(projection: Projection, store: ox.Store):
    rows = _select(store, f"""SELECT ?k (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d <{FS.keyword}> ?k }}
                              GROUP BY ?k ORDER BY DESC(?n) STR(?k) LIMIT 1""")
    keyword, count = rows[0]["k"].value, int(rows[0]["n"].value)
    assert count >= 2 and len(projection.info(keyword).documents) == count


def test_edge_reads_as_the_ontology_label(projection: Projection):
    relations = {r for _, _, r in projection.graph.edges(data="relation")}
    assert "driving force" in relations and "drivingForce" not in relations


def test_row_carries_relevancy_source_and_description(projection: Projection):
    info = next(projection.info(n) for n, k in projection.graph.nodes(data="kind") if k == "Signal")
    assert info.relevancy is not None and re.fullmatch(r".+\.md:\d+", info.source) and info.description


def test_reified_association_becomes_an_edge_with_its_evidence():
    doc = "d1"
    a, b, link = f"{document_iri(doc)}/a", f"{document_iri(doc)}/b", f"{document_iri(doc)}/assoc"
    quads = [
        *_typed(a, FS.Technology, "Alpha", doc), *_typed(b, FS.Technology, "Beta", doc),
        *_typed(link, FS.Association, "Alpha — Beta", doc),
        _quad(link, FS.participant, a, doc), _quad(link, FS.participant, b, doc),
        _quad(link, FS.evidence, ox.Literal("Alpha needs Beta."), doc),
    ]
    graph = project_quads(quads).graph
    assert link not in graph and graph.edges[a, b]["evidence"] == ("Alpha needs Beta.",)


def test_most_specific_class_is_the_kind():
    quads = [*_typed("https://example.org/x", FS.Record, "x", "d1"), _quad("https://example.org/x", RDF.type, FS.Signal, "d1")]
    assert project_quads(quads).info("https://example.org/x").kind == "Signal"


def _everything(projection: Projection) -> tuple:
    graph = projection.graph
    return list(graph.nodes(data=True)), list(graph.edges(data=True)), list(projection.titles.items())


def test_nquads_text_projects_as_its_quads(store: ox.Store):
    """Lines split in Python and lines left to pyoxigraph (escapes, blank nodes, the default
    graph, a language tag, a comment) give what the parsed quads give, in the same order."""
    doc = graph_iri("doc/d1")
    odd = "\n".join([
        f'<https://example.org/q> <{RDF.type}> <{FS.Signal}> <{doc}> .',
        f'<https://example.org/q> <{RDFS.label}> "say \\"hi\\"\\n" <{doc}> .',
        f'<https://example.org/q> <{FS.description}> "plain"@en <{doc}> .',
        f'_:b <{RDF.type}> <{FS.Signal}> <{doc}> .',
        f'<https://example.org/q> <{FS.keyword}> <https://example.org/k> .',
        "# a comment",
        f'<https://example.org/k> <{RDF.type}> <{FS.Technology}>\t<{doc}> .',
        "",
    ]).encode()
    text = store.dump(format=ox.RdfFormat.N_QUADS) + odd
    lines = text.splitlines(keepends=True)
    chunks = [b"".join(lines[i:i + 500]) for i in range(0, len(lines), 500)]
    want = _everything(project_quads(ox.parse(text, format=ox.RdfFormat.N_QUADS)))
    assert _everything(project_nquads(chunks)) == want
    assert project_nquads([odd]).info("https://example.org/q").label == 'say "hi"\n'


def test_leave_out_skips_the_subjects_that_hold_it(store: ox.Store):
    text = store.dump(format=ox.RdfFormat.N_QUADS)
    kept = b"".join(line for line in text.splitlines(keepends=True) if b"/mention/" not in line.split(b" ", 1)[0])
    want = _everything(project_quads(ox.parse(kept, format=ox.RdfFormat.N_QUADS)))
    assert _everything(project_nquads([text], leave_out=b"/mention/")) == want


def test_node_attributes_read_like_a_plain_dict(store: ox.Store):
    """A node's info is made when first read, yet every way of reading its attributes sees it."""
    projection = load_projection(store)
    graph = projection.graph
    first, *others = list(graph)[:6]
    data = graph.nodes[first]
    assert "info" in data and data.get("nothing") is None and list(data) == ["info", "kind"]
    assert data.get("info") is projection.info(first) and data["info"].iri == first
    reads = (dict, copy.copy, copy.deepcopy, lambda d: pickle.loads(pickle.dumps(d)), lambda d: {**d})
    for node, read in zip(others, reads, strict=True):
        assert read(graph.nodes[node]) == {"info": projection.info(node), "kind": projection.info(node).kind}
    fresh = load_projection(store).graph
    assert list(pickle.loads(pickle.dumps(fresh)).nodes(data=True)) == list(graph.nodes(data=True))


def test_degree_centrality_is_networkx_degree_centrality(projection: Projection):
    want = nx.degree_centrality(projection.graph.to_undirected())
    assert compute_centrality(projection).degree == want


def test_exact_betweenness_is_networkx_exact(projection: Projection):
    got = compute_centrality(projection)
    want = nx.betweenness_centrality(projection.graph.to_undirected())
    assert got.sampled is None and max(abs(got.betweenness[n] - want[n]) for n in want) < 1e-12


def test_sampled_betweenness_is_networkx_k_sample(projection: Projection):
    got = compute_centrality(projection, exact_up_to=10, samples=40, seed=7)
    want = nx.betweenness_centrality(projection.graph.to_undirected(), k=40, seed=7)
    assert got.sampled == 40 and max(abs(got.betweenness[n] - want[n]) for n in want) < 1e-12


def test_communities_partition_every_node_the_same_way_twice(projection: Projection):
    first, second = detect_communities(projection, seed=3), detect_communities(projection, seed=3)
    assert first == second and sum(c.size for c in first) == projection.graph.number_of_nodes()


def test_cited_counts_documents_not_nodes_for_rows_sharing_a_label():
    quads = [q for doc in ("d1", "d2", "d3") for q in _typed(f"{document_iri(doc)}/technology/ai", FS.Technology, "AI", doc)]
    quads += _typed(f"{document_iri('d1')}/technology/other", FS.Technology, "Other", "d1")
    top = rank_cited(project_quads(quads), ("Technology",), top=1)
    assert [(t.label, t.documents, t.nodes) for t in top] == [("AI", 3, 3)]


def test_cited_lists_a_kind_once_the_graph_holds_it():
    quads = _typed(f"{document_iri('d1')}/x", FS.Barrier, "Skills gaps", "d1")
    assert [t.kind for t in rank_cited(project_quads(quads))] == ["Barrier"]


def test_cited_themes_match_the_store(projection: Projection, store: ox.Store):
    rows = _select(store, f"""SELECT ?l (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d <{FS.theme}> ?t . ?t <{RDFS.label}> ?l }}
                              GROUP BY ?l ORDER BY DESC(?n) ?l LIMIT 1""")
    top = next(t for t in rank_cited(projection, ("Theme",)))
    assert (top.label, top.documents) == (rows[0]["l"].value, int(rows[0]["n"].value))


def test_months_count_documents_and_signals_as_the_store_does(projection: Projection, store: ox.Store):
    rows = _select(store, f"""SELECT ?m (COUNT(DISTINCT ?d) AS ?docs) (COUNT(DISTINCT ?s) AS ?signals) WHERE {{
        ?d <{FS.newsletterDate}> ?date . BIND(SUBSTR(STR(?date), 1, 7) AS ?m)
        OPTIONAL {{ ?s <{FS.document}> ?d ; a <{FS.Signal}> }} }} GROUP BY ?m ORDER BY ?m""")
    want = [(r["m"].value, int(r["docs"].value), int(r["signals"].value)) for r in rows]
    assert [(m.month, m.documents, m.signals) for m in summarise_months(projection)] == want


def test_analysis_says_when_betweenness_is_sampled(projection: Projection):
    stats = analyse_graph(projection, exact_up_to=50, samples=30)
    assert stats.betweenness_sampled == 30 and len(stats.central) == 10


@pytest.fixture(scope="module")
def stats(projection: Projection) -> GraphStats:
    return analyse_graph(projection)


def test_report_is_self_contained_and_escapes_labels(stats: GraphStats):
    hostile = GraphStats(**{**stats.__dict__, "central": (("<script>alert(1)</script>", "Signal", 0.5, 0.5),)})
    page = render_report(hostile, {"plot": b"\x89PNG fake"})
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) and "data:image/png;base64," in page


def _kg(*args: str):
    from typer.testing import CliRunner

    from kg.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_kg_stats_prints_the_tables(example_build: Path):
    run = _kg("stats", "--graph", str(example_build))
    assert run.exit_code == 0
    for title in ("Most central nodes (exact betweenness)", "Most cited across documents", "Per newsletter month", "Louvain"):
        assert title in run.stdout


def test_kg_report_writes_plots_into_the_build_folder(example_build: Path):
    run = _kg("report", "--graph", str(example_build))
    page = (example_build / "report.html").read_text(encoding="utf-8")
    assert run.exit_code == 0
    assert page.count("data:image/png;base64,") >= 4
