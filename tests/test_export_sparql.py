"""``kg export sparql``: Graph Store Protocol pushes into a real Oxigraph server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from kg.errors import ExportError, UsageError
from kg.export import ExportOptions, run_export
from kg.rdf.store import NON_DATA_GRAPHS, ONTOLOGY_GRAPH, PROVENANCE_GRAPH
from test_export_support import free_port, oxigraph_server, sparql_json  # noqa: F401  (fixture used by name)


def _push(build: Path, base: str, **options) -> None:
    run_export("sparql", build, ExportOptions(endpoint=f"{base}/store", **options))


def _graph_counts(base: str) -> dict[str, int]:
    rows = sparql_json(base, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    counts = {row["g"]: int(row["n"]) for row in rows}
    [default] = sparql_json(base, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    if int(default["n"]):
        counts[""] = int(default["n"])
    return counts


def _dump(base: str) -> set[str]:
    response = httpx.get(f"{base}/store", headers={"Accept": "application/n-quads"})
    response.raise_for_status()
    return set(response.text.splitlines())


def _store_counts(build: Path) -> dict[str, int]:
    store = ox.Store.read_only(str(build / "store"))
    rows = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {row["g"].value: int(row["n"].value) for row in rows if row["g"].value not in NON_DATA_GRAPHS}


def test_push_per_document_matches_the_store_and_a_second_push_changes_nothing(example_build, oxigraph_server):
    _push(example_build, oxigraph_server, graph_per_document=True)
    assert _graph_counts(oxigraph_server) == _store_counts(example_build)
    first = _dump(oxigraph_server)
    _push(example_build, oxigraph_server, graph_per_document=True)
    assert _dump(oxigraph_server) == first


def test_push_without_graphs_fills_the_default_graph_with_the_merged_triples(example_build, oxigraph_server):
    _push(example_build, oxigraph_server)
    _push(example_build, oxigraph_server)
    merged = len({q.triple for q in ox.Store.read_only(str(example_build / "store")).quads_for_pattern(None, None, None)
                  if q.graph_name.value not in NON_DATA_GRAPHS})
    assert _graph_counts(oxigraph_server) == {"": merged}


def test_push_into_names_the_one_graph_to_fill(example_build, oxigraph_server):
    _push(example_build, oxigraph_server, into="https://example.org/kg")
    assert list(_graph_counts(oxigraph_server)) == ["https://example.org/kg"]


def test_push_with_ontology_adds_the_ontology_graph(example_build, oxigraph_server):
    _push(example_build, oxigraph_server, graph_per_document=True, include_ontology=True)
    assert ONTOLOGY_GRAPH in _graph_counts(oxigraph_server)


def test_server_refusal_is_an_export_error_naming_the_graph(example_build, oxigraph_server):
    with pytest.raises(ExportError, match=r"/nowhere \(graph default\): HTTP 404"):
        run_export("sparql", example_build, ExportOptions(endpoint=f"{oxigraph_server}/nowhere"))


def test_unreachable_endpoint_is_an_export_error_naming_it(example_build):
    endpoint = f"http://127.0.0.1:{free_port()}/store"
    with pytest.raises(ExportError, match=endpoint):
        run_export("sparql", example_build, ExportOptions(endpoint=endpoint))


def test_into_with_graph_per_document_is_a_usage_error(example_build):
    with pytest.raises(UsageError, match="--into"):
        run_export("sparql", example_build, ExportOptions(endpoint="http://127.0.0.1:1/store", into="https://example.org/g",
                                                          graph_per_document=True))


def test_push_without_endpoint_is_a_usage_error(example_build):
    with pytest.raises(UsageError, match="--endpoint"):
        run_export("sparql", example_build, ExportOptions())
