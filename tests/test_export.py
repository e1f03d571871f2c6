"""``kg export``: the registry, RDF round trips, stable bytes, JSON-LD, graph tools, and names
with quotes and query fragments surviving every target."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from typer.testing import CliRunner

from conftest import EXAMPLES
from kg.errors import ExportError, UsageError
from kg.export import EXPORTERS, ExportOptions, get_exporter, read_dataset, run_export
from kg.export.graphtools import write_gexf
from kg.export.jsonld import compact_iri, jsonld_context
from kg.export.property_graph import PgNode, PgProperty, PropertyGraph, assign_names, project_property_graph
from kg.namespaces import FS, XSD
from kg.rdf.store import NON_DATA_GRAPHS, ONTOLOGY_GRAPH, PROVENANCE_GRAPH
from test_export_support import (  # noqa: F401  (fixtures used by name)
    NASTY,
    FakeDriver,
    array_delimiter,
    nasty_build,
    oxigraph_server,
    parse_import_command,
    read_cypher_script,
    sparql_json,
)

FILE_FORMATS = [name for name in EXPORTERS if name not in ("neo4j", "sparql")]
QUAD_FORMATS = {"nquads", "trig", "jsonld"}
# (format, parser): pyoxigraph reads every RDF format written; rapper those it knows; rdflib
# also reads the JSON-LD, which is built by hand rather than by a library's serialiser.
ROUND_TRIPS = [
    *((fmt, "pyoxigraph") for fmt in ("turtle", "ntriples", "nquads", "trig", "jsonld", "rdfxml")),
    *((fmt, "rapper") for fmt in ("turtle", "ntriples", "nquads", "trig", "rdfxml")),
    ("jsonld", "rdflib"),
]
_OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES, "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG, "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML,
}
_XSD_STRING = str(XSD.string)


def _export(fmt: str, build: Path, out: Path, **options) -> Path:
    run_export(fmt, build, ExportOptions(out=out, **options))
    return out


def _term(term) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return rdflib.Literal(term.value, datatype=None if datatype == _XSD_STRING else rdflib.URIRef(datatype))


def _parse(path: Path, fmt: str, parser: str, rapper: str | None) -> dict[str, rdflib.Graph]:
    """The file's triples by graph name ("" for the default graph), read by ``parser``."""
    if parser == "rdflib":
        dataset = rdflib.Dataset()
        dataset.parse(path, format="json-ld")
        graphs: dict[str, rdflib.Graph] = {}
        for s, p, o, g in dataset.quads((None, None, None, None)):
            name = "" if g is None or g == rdflib.graph.DATASET_DEFAULT_GRAPH_ID else str(g)
            graphs.setdefault(name, rdflib.Graph()).add((s, p, o))
        return graphs
    if parser == "rapper":
        text = subprocess.run([rapper, "-q", "-i", fmt, "-o", "nquads", str(path)], check=True, capture_output=True).stdout
        quads = ox.parse(text, format=ox.RdfFormat.N_QUADS)
    else:
        quads = ox.parse(path=str(path), format=_OX_FORMATS[fmt])
    graphs = {}
    for quad in quads:
        graph = quad.graph_name
        name = graph.value if isinstance(graph, ox.NamedNode) else ""
        graphs.setdefault(name, rdflib.Graph()).add((_term(quad.subject), _term(quad.predicate), _term(quad.object)))
    return graphs


def _store_graphs(build: Path) -> dict[str, rdflib.Graph]:
    store = ox.Store.read_only(str(build / "store"))
    graphs: dict[str, rdflib.Graph] = {}
    for quad in store.quads_for_pattern(None, None, None):
        if quad.graph_name.value not in NON_DATA_GRAPHS:
            graphs.setdefault(quad.graph_name.value, rdflib.Graph()).add(
                (_term(quad.subject), _term(quad.predicate), _term(quad.object))
            )
    return graphs


def _union(graphs: dict[str, rdflib.Graph]) -> rdflib.Graph:
    union = rdflib.Graph()
    for graph in graphs.values():
        for triple in graph:
            union.add(triple)
    return union


# ---------------------------------------------------------------- registry


def test_unknown_format_lists_every_valid_one():
    with pytest.raises(UsageError) as err:
        get_exporter("neo5j")
    assert "'neo5j'" in str(err.value)
    assert all(name in str(err.value) for name in EXPORTERS)


def test_registry_holds_the_issue_targets():
    assert set(EXPORTERS) == {
        "turtle", "ntriples", "nquads", "trig", "jsonld", "rdfxml", "neo4j-csv", "cypher", "neo4j", "sparql", "graphml", "gexf",
    }


def test_file_target_without_out_is_a_usage_error(example_build):
    with pytest.raises(UsageError, match="--out"):
        run_export("turtle", example_build, ExportOptions())


def test_folder_without_store_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no store"):
        run_export("turtle", tmp_path, ExportOptions(out=tmp_path / "g.ttl"))


def test_cli_unknown_format_exits_2_naming_the_valid_ones(example_build):
    proc = subprocess.run(
        [sys.executable, "-m", "kg.cli", "export", "owl2", "--graph", str(example_build)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "unknown export format 'owl2'" in proc.stderr and "neo4j-csv" in proc.stderr


def test_cli_help_names_every_format():
    from kg.cli import app

    result = CliRunner().invoke(app, ["export", "--help"], env={"COLUMNS": "300"})
    assert [name for name in EXPORTERS if name not in result.stdout] == []


def test_cli_neo4j_csv_prints_the_import_command(example_build, tmp_path):
    from kg.cli import app

    result = CliRunner().invoke(app, ["export", "neo4j-csv", "--graph", str(example_build), "--out", str(tmp_path / "csv")])
    assert result.exit_code == 0, result.output
    assert "neo4j-admin database import full" in result.stdout


# ---------------------------------------------------------------- RDF


# rdflib's own JSON-LD parser calls its deprecated ConjunctiveGraph API.
@pytest.mark.filterwarnings("ignore:.*(ConjunctiveGraph|default_context).*:DeprecationWarning")
@pytest.mark.parametrize("corpus", ["example_build", "nasty_build"])
@pytest.mark.parametrize(("fmt", "parser"), ROUND_TRIPS, ids=[f"{f}-{p}" for f, p in ROUND_TRIPS])
def test_rdf_round_trip(tmp_path, request, corpus, fmt, parser):
    """Export, read back with an independent parser, compare with the build: the union with
    graph.ttl, and for dataset formats each named graph with the store's."""
    build = request.getfixturevalue(corpus)
    rapper = request.getfixturevalue("rapper") if parser == "rapper" else None
    path = _export(fmt, build, tmp_path / f"graph.{fmt}")
    parsed = _parse(path, fmt, parser, rapper)
    expected = rdflib.Graph().parse(build / "graph.ttl")
    assert isomorphic(_union(parsed), expected)
    if fmt in QUAD_FORMATS:
        store = _store_graphs(build)
        assert set(parsed) == set(store)
        for name, graph in store.items():
            assert isomorphic(parsed[name], graph), name


@pytest.fixture(scope="module")
def second_build(tmp_path_factory) -> Path:
    """The example corpus built again, into another folder."""
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("example-build-again")
    build([EXAMPLES], out)
    return out


def _tree_bytes(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_same_build_gives_same_bytes(example_build, second_build, tmp_path, fmt):
    first = _export(fmt, example_build, tmp_path / "a" / "out")
    again = _export(fmt, second_build, tmp_path / "b" / "out")
    assert _tree_bytes(first) == _tree_bytes(again)


@pytest.mark.parametrize(
    ("predicate", "value"),
    [("https://example.org/p/", "x"), ("https://example.org/p", "bell\x07")],
    ids=["predicate-without-xml-name", "control-character"],
)
def test_rdfxml_refuses_what_xml_cannot_carry(tmp_path, predicate, value):
    from kg.export.base import Dataset
    from kg.export.rdf import write_rdf

    quad = ox.Quad(ox.NamedNode("https://example.org/s"), ox.NamedNode(predicate), ox.Literal(value))
    with pytest.raises(ExportError, match="RDF/XML cannot"):
        write_rdf(Dataset(tmp_path, (quad,)), ox.RdfFormat.RDF_XML, tmp_path / "g.rdf")
    assert not (tmp_path / "g.rdf").exists()


def test_ontology_graph_is_left_out_unless_asked(example_build, tmp_path):
    plain = _parse(_export("nquads", example_build, tmp_path / "a.nq"), "nquads", "pyoxigraph", None)
    full = _parse(_export("nquads", example_build, tmp_path / "b.nq", include_ontology=True), "nquads", "pyoxigraph", None)
    assert ONTOLOGY_GRAPH not in plain
    assert (rdflib.URIRef(str(FS.Signal)), None, None) in full[ONTOLOGY_GRAPH]


def test_jsonld_context_declares_the_ontology_prefixes(example_build, tmp_path):
    doc = json.loads(_export("jsonld", example_build, tmp_path / "g.jsonld").read_text(encoding="utf-8"))
    assert doc["@context"]["fs"] == str(FS._NS)
    first = doc["@graph"][0]["@graph"][0]
    assert any(key.startswith("fs:") for key in first)


def test_jsonld_drops_a_prefix_that_is_also_a_scheme_of_the_data(tmp_path):
    from kg.export.base import Dataset

    quad = ox.Quad(ox.NamedNode("fs:odd"), ox.NamedNode(str(FS.sourceLink)), ox.NamedNode("https://example.org/"))
    context = jsonld_context(Dataset(tmp_path, (quad,)))
    assert "fs" not in context and "rdfs" in context


def test_compact_iri_keeps_a_suffix_that_would_read_as_an_iri():
    assert compact_iri("http://example.org///x", {"ex": "http://example.org/"}) == "http://example.org///x"


# ---------------------------------------------------------------- graph tools


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graph_tool_files_carry_labels_classes_and_relations(example_build, tmp_path, fmt):
    path = _export(fmt, example_build, tmp_path / f"g.{fmt}")
    graph = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
    pg = project_property_graph(read_dataset(example_build))
    assert graph.number_of_nodes() == len(pg.nodes)
    assert Counter(d["relation"] for _, _, d in graph.edges(data=True)) == Counter(e.type for e in pg.edges)
    doc = graph.nodes["https://w3id.org/foresight-kg/id/doc/7f9865e7441207dadf825331b6f2f3a3"]
    assert doc["label"] == "The EU Artificial Intelligence Act Sets Out a Risk-Based Rulebook for AI"
    assert doc["class"] == "Document"


def test_gexf_keeps_properties_named_like_its_time_fields_as_plain_attributes(tmp_path):
    node = PgNode("https://example.org/selector", ("TextPositionSelector",), (("end", 9), ("start", 3)))
    props = (PgProperty("end", "http://www.w3.org/ns/oa#end", "int"), PgProperty("start", "http://www.w3.org/ns/oa#start", "int"))
    write_gexf(PropertyGraph(nodes=(node,), edges=(), properties=props), tmp_path / "g.gexf")
    graph = nx.read_gexf(tmp_path / "g.gexf")
    assert graph.graph["mode"] == "static"
    assert (graph.nodes[node.uri]["rdf_start"], graph.nodes[node.uri]["rdf_end"]) == (3, 9)


def test_assign_names_prefixes_a_shared_local_name():
    names = assign_names(["http://purl.org/dc/terms/title", "https://schema.org/title"])
    assert names == {"http://purl.org/dc/terms/title": "dcterms__title", "https://schema.org/title": "schema__title"}


def test_assign_names_prefixes_a_reserved_name():
    assert assign_names(["https://schema.org/uri"], frozenset({"uri"})) == {"https://schema.org/uri": "schema__uri"}


def test_assign_names_makes_identifiers_of_any_local_name():
    assert assign_names(["https://example.org/10-year outlook"]) == {"https://example.org/10-year outlook": "_10_year_outlook"}


# ---------------------------------------------------------------- names that look like code


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _values_from(fmt: str, build: Path, out: Path, request, monkeypatch) -> tuple[set[str], list[str]]:
    """(every string value ``fmt``'s export carries, the query texts it sends or writes)."""
    if fmt in _OX_FORMATS:
        path = _export(fmt, build, out / "g")
        return {q.object.value for q in ox.parse(path=str(path), format=_OX_FORMATS[fmt]) if isinstance(q.object, ox.Literal)}, []
    if fmt == "neo4j-csv":
        import csv

        folder = out / "csv"
        result = run_export(fmt, build, ExportOptions(out=folder))
        nodes, _, options = parse_import_command(result.notes[0])
        delimiter = array_delimiter(options)
        values: set[str] = set()
        for _, file in nodes:
            with Path(file).open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    for key, value in row.items():
                        values.update(value.split(delimiter) if key.endswith("[]") else [value])
        return values, []
    if fmt == "cypher":
        statements = read_cypher_script(_export(fmt, build, out / "g.cypher"))
        return _strings([rows for _, rows in statements]), [query for query, _ in statements]
    if fmt in ("graphml", "gexf"):
        path = _export(fmt, build, out / f"g.{fmt}")
        graph = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        return {v for _, data in graph.nodes(data=True) for v in data.values() if isinstance(v, str)}, []
    if fmt == "neo4j":
        import neo4j

        driver = FakeDriver()
        monkeypatch.setenv("KG_TEST_NEO4J_PASSWORD", "secret")
        monkeypatch.setattr(neo4j.GraphDatabase, "driver", lambda uri, auth: driver)
        run_export(fmt, build, ExportOptions(uri="bolt://127.0.0.1:1", password_env="KG_TEST_NEO4J_PASSWORD"))
        return _strings([rows for _, rows in driver.sent]), [query for query, _ in driver.sent]
    if fmt == "sparql":
        base = request.getfixturevalue("oxigraph_server")
        run_export(fmt, build, ExportOptions(endpoint=f"{base}/store", graph_per_document=True))
        rows = sparql_json(base, "SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } FILTER isLiteral(?o) }")
        return {row["o"] for row in rows}, []
    raise AssertionError(f"no reader for {fmt}")


@pytest.mark.parametrize("fmt", list(EXPORTERS))
def test_names_that_look_like_code_survive_as_data(nasty_build, tmp_path, request, monkeypatch, fmt):
    values, queries = _values_from(fmt, nasty_build, tmp_path, request, monkeypatch)
    assert [s for s in NASTY if s not in values] == []
    fragments = ("DETACH DELETE", "DROP", "<script>", "INSERT DATA", "back`tick")
    assert [q for q in queries if any(f in q for f in fragments)] == []
