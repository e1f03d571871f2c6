"""kg.query.sparql: resolving a query, binding parameters safely, syntax errors at the user's line
and column, the union default graph, and the result formats."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from kg.errors import QueryError, UsageError
from kg.query import QuerySyntaxError, SparqlQuery, execute, load_query, open_graph, resolve_query, run_query, serialize_result
from kg.query.sparql import bind_params, find_undeclared_prefix, parse_param_options, parse_query_text

NAO_AI = "ec39d07e862c313cec8e88471dd089e7"


@pytest.fixture(scope="module")
def store(example_build) -> ox.Store:
    return open_graph(example_build)


def run(store: ox.Store, text: str, **params: str):
    return run_query(store, SparqlQuery(text), params)


# ---------------------------------------------------------------- which query


def test_a_library_name_resolves_to_the_library_query():
    query = resolve_query("themes-by-month")
    assert (query.name, query.source) == ("themes-by-month", "library:themes-by-month")


def test_a_file_resolves_to_its_text_with_its_declared_parameters(tmp_path: Path):
    path = tmp_path / "mine.rq"
    path.write_text("# My question.\n# param doc: a document id\nSELECT ?doc WHERE { }\n", encoding="utf-8")
    query = resolve_query(str(path))
    assert (query.source, query.description, [p.name for p in query.params]) == (str(path), "My question.", ["doc"])


def test_query_text_resolves_to_itself():
    query = resolve_query("ASK { ?s ?p ?o }")
    assert (query.text, query.source, query.name) == ("ASK { ?s ?p ?o }", "<query>", None)


def test_an_unknown_name_lists_the_library():
    with pytest.raises(UsageError, match="themes-by-month") as caught:
        resolve_query("themes-per-month")
    assert "'themes-per-month'" in str(caught.value)


def test_a_missing_query_file_is_named():
    with pytest.raises(UsageError, match="nowhere.rq: no such query file"):
        resolve_query("nowhere.rq")


def test_the_first_comment_line_is_the_description():
    query = parse_query_text("\n# Top barriers.\n# More words.\n# param n: how many\nSELECT * {}")
    assert (query.description, query.params[0].description) == ("Top barriers.", "how many")


# ---------------------------------------------------------------- parameters


def test_param_options_split_at_the_first_equals_sign():
    assert parse_param_options(["entity=a=b", "?x=1"]) == {"entity": "a=b", "x": "1"}


def test_a_param_option_without_a_name_is_refused():
    with pytest.raises(UsageError, match="NAME=VALUE"):
        parse_param_options(["=value"])


def test_a_missing_declared_parameter_is_named():
    with pytest.raises(UsageError, match=r"missing --param document=…"):
        bind_params(load_query("related-documents"), {})


def test_an_undeclared_parameter_lists_the_declared_ones():
    with pytest.raises(UsageError, match=r"unknown parameter doc; it takes document"):
        bind_params(load_query("related-documents"), {"doc": NAO_AI})


def test_a_value_in_angle_brackets_binds_an_iri():
    assert bind_params(SparqlQuery("SELECT * {}"), {"x": "<https://example.org/a>"}) == {"x": ox.NamedNode("https://example.org/a")}


def test_a_malformed_iri_value_is_refused_with_the_value():
    with pytest.raises(UsageError, match="x=<not an iri>"):
        bind_params(SparqlQuery("SELECT * {}"), {"x": "<not an iri>"})


def test_a_parameter_binds_a_value(store):
    rows = run(store, "SELECT ?id ?title WHERE { ?d fs:documentId ?id ; dcterms:title ?title }", id=NAO_AI).values()
    assert [title for _, title in rows] == [
        "National Audit Office Examines How the UK Government Is Preparing to Adopt Artificial Intelligence"
    ]


def test_a_parameter_value_cannot_change_the_query(store):
    # Spliced into the text, this value would close the string and make the filter always true.
    hostile = '" || true || "'
    text = 'SELECT ?id ?x WHERE { ?d fs:documentId ?id FILTER(?id = ?x) }'
    assert run(store, text, x=hostile).values() == []


def test_a_parameter_on_an_unselected_variable_says_to_select_it(store):
    with pytest.raises(UsageError, match=r"add \?x to the SELECT clause"):
        run(store, "SELECT ?d WHERE { ?d fs:documentId ?x }", x=NAO_AI)


# ---------------------------------------------------------------- syntax errors


def test_a_syntax_error_gives_the_line_and_column_of_the_query_as_written(store):
    # Were the project's prefixes prepended as text, the error would sit a dozen lines lower.
    with pytest.raises(QuerySyntaxError) as caught:
        run(store, "SELECT ?d WHERE {\n  ?d a fs:Document .\n}\nLIMIT ten")
    assert (caught.value.line, caught.value.column) == (4, 7)
    assert str(caught.value).startswith("<query>:4:7: SPARQL syntax error: ")


def test_a_syntax_error_in_a_file_counts_its_comment_lines(tmp_path: Path, store):
    path = tmp_path / "broken.rq"
    path.write_text("# A broken query.\n# param x: anything\nSELECT ?x WHERE { ?x ?p ?o }\nLIMIT ten\n", encoding="utf-8")
    with pytest.raises(QuerySyntaxError, match=rf"^{path}:4:7: "):
        execute(store, resolve_query(str(path)), {"x": "1"})


def test_a_syntax_error_shows_the_line_with_a_caret_under_the_column(store):
    with pytest.raises(QuerySyntaxError) as caught:
        run(store, "SELECT * WHERE { ?s ?p }")
    excerpt = str(caught.value).splitlines()[1:]
    assert excerpt[0] == "    SELECT * WHERE { ?s ?p }"
    assert excerpt[1].index("^") == 4 + caught.value.column - 1


def test_an_undeclared_prefix_is_reported_where_it_stands(store):
    with pytest.raises(QuerySyntaxError, match="undeclared prefix dc:") as caught:
        run(store, "SELECT ?t\nWHERE {\n  ?d dc:title ?t }")
    assert (caught.value.line, caught.value.column) == (3, 6)


def test_a_colon_in_a_string_iri_or_comment_is_no_prefix():
    assert find_undeclared_prefix('SELECT * { ?s <urn:a:b> "x:y" } # see:also') is None


def test_a_library_query_error_names_the_library_query(store):
    with pytest.raises(QuerySyntaxError, match=r"^broken:1:"):
        execute(store, SparqlQuery("SELECT * WHERE {", source="broken"))


# ---------------------------------------------------------------- what the queries see


def test_the_project_prefixes_are_declared(store):
    assert run(store, "ASK { ?d a fs:Document ; fs:keyword/skos:prefLabel ?k }").boolean is True


def test_a_prefix_the_query_declares_wins(store):
    text = "PREFIX fs: <urn:nothing#> ASK { ?d a fs:Document }"
    assert run(store, text).boolean is False


def test_the_default_graph_is_the_union_of_document_vocabulary_and_ontology_graphs(store):
    # The document's triples sit in its own graph, its keyword's label in the vocabulary graph
    # and the class definition in the ontology graph.
    text = "ASK { ?d fs:documentId ?id ; fs:keyword ?k ; a ?c . ?k rdfs:label 'DSIT' . ?c a owl:Class }"
    assert run(store, text).boolean is True


def test_a_query_can_ask_which_document_graph_said_something(store):
    rows = run(store, "SELECT ?g WHERE { GRAPH ?g { ?s rdfs:label 'Risk tiers for AI' } }").values()
    assert rows == [("https://w3id.org/foresight-kg/id/graph/doc/7f9865e7441207dadf825331b6f2f3a3",)]


# ---------------------------------------------------------------- answers and formats


def test_select_as_csv_has_a_header_then_rows(store):
    raw = execute(store, SparqlQuery(f"SELECT ?id WHERE {{ ?d fs:documentId ?id FILTER(?id = '{NAO_AI}') }}"))
    assert serialize_result(raw, "csv").decode().splitlines() == ["id", NAO_AI]


def test_select_as_json_is_sparql_results_json(store):
    raw = execute(store, SparqlQuery("SELECT ?n WHERE { BIND(3 AS ?n) }"))
    assert json.loads(serialize_result(raw, "json"))["results"]["bindings"][0]["n"]["value"] == "3"


def test_select_as_tsv_writes_terms(store):
    raw = execute(store, SparqlQuery("SELECT ?n WHERE { BIND('a' AS ?n) }"))
    assert serialize_result(raw, "tsv").decode().splitlines() == ["?n", '"a"']


def test_construct_writes_turtle(store):
    raw = execute(store, SparqlQuery("CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a fs:Document ; rdfs:label ?l }"))
    graph = rdflib.Graph().parse(data=serialize_result(raw).decode(), format="turtle")
    assert len(graph) == 6


def test_an_unknown_format_lists_the_formats(store):
    raw = execute(store, SparqlQuery("ASK {}"))
    with pytest.raises(UsageError, match="csv, tsv, json"):
        serialize_result(raw, "yaml")


def test_ask_answers_a_boolean(store):
    assert run(store, "ASK { ?d fs:documentId 'no such id' }").boolean is False


def test_the_html_table_escapes_every_value(store):
    result = run(store, "SELECT ?x WHERE { BIND('<script>alert(1)</script>' AS ?x) }")
    assert "<script>" not in result.to_html() and "&lt;script&gt;" in result.to_html()


def test_iris_show_with_the_project_prefixes(store):
    result = run(store, f"SELECT ?d WHERE {{ ?d fs:documentId '{NAO_AI}' }}")
    assert f"<td>fsid:doc/{NAO_AI}</td>" in result.to_html()


# ---------------------------------------------------------------- what can be queried


def test_a_missing_graph_path_says_to_build(tmp_path: Path):
    with pytest.raises(UsageError, match="run 'kg build"):
        open_graph(tmp_path / "nothing")


def test_a_folder_that_is_no_store_is_refused(tmp_path: Path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "junk").write_text("not a database")
    with pytest.raises(UsageError, match="not an Oxigraph store"):
        open_graph(tmp_path)


def test_an_rdf_file_of_unknown_type_is_refused(tmp_path: Path):
    path = tmp_path / "graph.docx"
    path.write_text("x")
    with pytest.raises(UsageError, match="unknown RDF file type .docx"):
        open_graph(path)


def test_a_turtle_file_can_be_queried(tmp_path: Path):
    path = tmp_path / "small.ttl"
    path.write_text('<https://example.org/a> <https://example.org/p> "v" .\n', encoding="utf-8")
    assert run(open_graph(path), "SELECT ?o WHERE { ?s ?p ?o }").values() == [("v",)]


def test_a_failure_while_answering_is_a_query_error_naming_the_query():
    # Port 9 is refused by pyoxigraph itself, so nothing goes out.
    query = SparqlQuery("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", source="remote.rq")
    with pytest.raises(QueryError, match="^remote.rq: the query failed: "):
        run_query(ox.Store(), query)
