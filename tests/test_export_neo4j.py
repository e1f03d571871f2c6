"""Neo4j targets: the bulk-import CSV files and command, the Cypher script, the live push.

No Neo4j server runs here: the CSV headers are checked against the documented header rules,
the CSV files and the Cypher statements are loaded into kuzu (an embedded Cypher engine) and
counted against SPARQL on the same build, and the live push runs against a stand-in driver.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.errors import ExportError, UsageError
from kg.export import ExportOptions, run_export
from kg.export.cypher import CONSTRAINT, cypher_literal, node_query, relationship_query
from kg.export.neo4j import INSTALL_HINT
from kg.namespaces import RDF
from kg.rdf.store import NON_DATA_GRAPHS, ONTOLOGY_GRAPH, PROVENANCE_GRAPH
from test_export_support import (  # noqa: F401  (fixtures used by name)
    ALT_FORMS,
    NASTY,
    FakeDriver,
    KuzuGraph,
    array_delimiter,
    check_header,
    nasty_build,
    parse_import_command,
    read_cypher_literal,
    read_cypher_script,
    sparql_counts,
)

EU_DOC = "https://w3id.org/foresight-kg/id/doc/7f9865e7441207dadf825331b6f2f3a3"


def _csv_export(build: Path, folder: Path):
    result = run_export("neo4j-csv", build, ExportOptions(out=folder))
    nodes, rels, options = parse_import_command(result.notes[0])
    return result, nodes, rels, options


def _rows(file: str) -> list[dict[str, str]]:
    with Path(file).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _header(file: str) -> list[str]:
    return Path(file).read_text(encoding="utf-8").split("\n", 1)[0].split(",")


@pytest.fixture(scope="module")
def csv_export(example_build, tmp_path_factory):
    return _csv_export(example_build, tmp_path_factory.mktemp("neo4j-csv") / "csv")


@pytest.fixture(scope="module")
def counts(example_build):
    return sparql_counts(example_build)


# ---------------------------------------------------------------- CSV files and command


def test_csv_headers_follow_the_import_header_format(csv_export):
    _, nodes, rels, _ = csv_export
    problems = {file: check_header(_header(file), "nodes") for _, file in nodes}
    problems.update({file: check_header(_header(file), "relationships") for _, file in rels})
    assert {file: p for file, p in problems.items() if p} == {}


def test_header_checker_catches_what_neo4j_rejects():
    assert check_header(["uri:ID", "a:ID", "x:integer", "y:string[]"], "nodes") == [
        "'x:integer': unknown type 'integer'",
        "2 :ID fields (want 1..1)",
    ]


def test_command_names_every_file_written(csv_export):
    result, nodes, rels, _ = csv_export
    folder = result.outputs[0]
    written = {p.as_posix() for p in folder.rglob("*.csv")}
    assert {file for _, file in nodes} | {file for _, file in rels} == written


def test_command_spells_out_the_csv_dialect(csv_export):
    _, _, _, options = csv_export
    assert options["delimiter"] == "," and options["quote"] == '"' and options["array-delimiter"] == ";"
    assert options["multiline-fields"] == "false" and options["trim-strings"] == "false"
    assert options["database"] == "neo4j"


def test_label_column_matches_the_command(csv_export):
    _, nodes, _, options = csv_export
    for labels, file in nodes:
        assert {row[":LABEL"] for row in _rows(file)} == {array_delimiter(options).join(labels)}, file


def test_every_node_is_a_resource_labelled_by_its_classes(csv_export, example_build):
    store = ox.Store.read_only(str(example_build / "store"))
    classes: dict[str, set[str]] = {}
    for quad in store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None):
        if quad.graph_name.value not in NON_DATA_GRAPHS:
            classes.setdefault(quad.subject.value, set()).add(quad.object.value.rsplit("#", 1)[-1])
    _, nodes, _, _ = csv_export
    found = {row["uri:ID"]: labels for labels, file in nodes for row in _rows(file)}
    assert all(labels[0] == "Resource" for labels in found.values())
    assert {uri: set(labels[1:]) for uri, labels in found.items() if uri in classes} == classes


def test_integers_and_dates_get_typed_columns(csv_export):
    _, nodes, _, _ = csv_export
    files = {labels[-1]: file for labels, file in nodes}
    assert {"relevancy:int", "sourceLine:int"} <= set(_header(files["Signal"]))
    assert "newsletterDate:date" in _header(files["Document"])


def test_external_links_become_string_properties(csv_export):
    _, nodes, rels, _ = csv_export
    document = next(file for labels, file in nodes if "Document" in labels)
    row = next(r for r in _rows(document) if r["uri:ID"] == EU_DOC)
    assert row["sourceLink"] == "https://eur-lex.europa.eu/eli/reg/2024/1689/oj"
    assert "sourceLink" not in {rel_type for rel_type, _ in rels}


def test_relationship_types_keep_the_predicates_local_names(csv_export):
    _, _, rels, _ = csv_export
    assert {"document", "keyword", "theme", "drivingForce", "relatedDocument"} <= {rel_type for rel_type, _ in rels}


def test_string_lists_get_an_array_type_and_a_delimiter_no_item_holds(nasty_build, tmp_path):
    _, nodes, _, options = _csv_export(nasty_build, tmp_path / "csv")
    delimiter = array_delimiter(options)
    assert delimiter not in ";|,\""
    concepts = next(file for labels, file in nodes if labels == ["Resource", "Concept"])
    assert "altLabel:string[]" in _header(concepts)
    lists = [row["altLabel:string[]"].split(delimiter) for row in _rows(concepts) if row["altLabel:string[]"]]
    assert lists == [sorted(set(ALT_FORMS) - {"PIPE|SEMI; KEYWORD"})]


def test_line_breaks_switch_multiline_fields_on(nasty_build, tmp_path):
    _, _, _, options = _csv_export(nasty_build, tmp_path / "csv")
    assert options["multiline-fields"] == "true"


def test_export_refuses_to_replace_a_folder_it_did_not_write(example_build, tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not a neo4j-csv export"):
        run_export("neo4j-csv", example_build, ExportOptions(out=tmp_path))
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_export_replaces_its_own_previous_folder(example_build, tmp_path):
    run_export("neo4j-csv", example_build, ExportOptions(out=tmp_path / "csv"))
    (tmp_path / "csv" / "nodes" / "Stale.csv").write_text("uri:ID\n", encoding="utf-8")
    run_export("neo4j-csv", example_build, ExportOptions(out=tmp_path / "csv"))
    assert not (tmp_path / "csv" / "nodes" / "Stale.csv").exists()


@pytest.fixture(scope="module")
def kuzu_from_csv(csv_export) -> KuzuGraph:
    graph = KuzuGraph()
    graph.load_csv(Path("/"), csv_export[0].notes[0])
    return graph


def test_csv_loads_into_kuzu_with_the_sparql_counts(kuzu_from_csv, counts):
    assert (kuzu_from_csv.label_counts(), kuzu_from_csv.type_counts()) == counts


# ---------------------------------------------------------------- Cypher script


@pytest.fixture(scope="module")
def script(example_build, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cypher") / "graph.cypher"
    run_export("cypher", example_build, ExportOptions(out=path, batch_size=40))
    return path


@pytest.fixture(scope="module")
def kuzu_from_script(script) -> KuzuGraph:
    graph = KuzuGraph()
    graph.run_statements(read_cypher_script(script))
    return graph


def test_cypher_script_runs_in_kuzu_with_the_sparql_counts(kuzu_from_script, counts):
    assert (kuzu_from_script.label_counts(), kuzu_from_script.type_counts()) == counts


def test_cypher_script_and_csv_files_give_the_same_nodes(kuzu_from_script, kuzu_from_csv):
    assert kuzu_from_script.nodes() == kuzu_from_csv.nodes()


def test_cypher_script_holds_values_only_in_param_lines(script):
    name = "`[A-Za-z_][A-Za-z0-9_]*`"
    templates = re.compile(
        "|".join([
            re.escape(CONSTRAINT),
            rf"UNWIND \$rows AS row MERGE \(n:Resource \{{uri: row\.uri\}}\)(?: SET n(?::{name})+)? SET n \+= row\.props",
            rf"UNWIND \$rows AS row MATCH \(a:Resource \{{uri: row\.start\}}\) MATCH \(b:Resource \{{uri: row\.end\}}\) "
            rf"MERGE \(a\)-\[:{name}\]->\(b\)",
        ])
    )
    lines = script.read_text(encoding="utf-8").split("\n")
    statements = [line for line in lines if line and not line.startswith(("//", ":param rows => "))]
    assert statements and [s for s in statements if not templates.fullmatch(s.removesuffix(";"))] == []


def test_cypher_script_batches_rows(script, example_build):
    batches = [rows for _, rows in read_cypher_script(script) if rows]
    assert max(len(rows) for rows in batches) == 40


def test_label_outside_the_identifier_pattern_is_refused():
    with pytest.raises(ExportError, match="not a safe Neo4j label"):
        node_query(("Signal`) DETACH DELETE n //",))


def test_relationship_type_outside_the_identifier_pattern_is_refused():
    with pytest.raises(ExportError, match="not a safe Neo4j label"):
        relationship_query("x]->() DETACH DELETE a //")


@pytest.mark.parametrize("text", [*NASTY, "line\u2028separator\x85next\r\nand\ttab", "emoji \U0001F600 and \\u0041"])
def test_cypher_string_literal_stays_on_one_line_and_reads_back(text):
    literal = cypher_literal(text)
    assert not any(c in literal for c in "\n\r\x85\u2028\u2029")
    assert read_cypher_literal(literal) == text


# ---------------------------------------------------------------- live push


class Drivers(list):
    """The ``FakeDriver``s opened, in order, and what each was opened with."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[tuple] = []

    def open(self, uri, auth) -> FakeDriver:
        self.opened.append((uri, auth))
        self.append(FakeDriver())
        return self[-1]


@pytest.fixture
def fake_neo4j(monkeypatch) -> Drivers:
    """Every driver ``kg export neo4j`` opens is a ``FakeDriver``."""
    neo4j = pytest.importorskip("neo4j")
    drivers = Drivers()
    monkeypatch.setattr(neo4j.GraphDatabase, "driver", drivers.open)
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret")
    return drivers


def _push(build: Path, **options) -> None:
    run_export("neo4j", build, ExportOptions(uri="bolt://127.0.0.1:7687", **options))


def test_live_push_sends_one_batch_per_write_transaction(example_build, fake_neo4j):
    _push(example_build, batch_size=7, user="loader", database="kg")
    [driver] = fake_neo4j
    assert fake_neo4j.opened == [("bolt://127.0.0.1:7687", ("loader", "s3cret"))]
    assert driver.databases == ["kg"]
    assert all(len(tx) == 1 for tx in driver.transactions)
    sizes: Counter = Counter()
    for query, rows in driver.sent:
        assert len(rows) <= 7
        sizes[query] += len(rows)
    expected = sum(math.ceil(n / 7) for n in sizes.values() if n) + 1  # + the constraint
    assert len(driver.transactions) == expected


def test_live_push_twice_creates_nothing_new(example_build, fake_neo4j, counts):
    _push(example_build)
    _push(example_build)
    first, second = fake_neo4j
    assert first.sent == second.sent
    graph = KuzuGraph()
    graph.run_statements(first.sent)
    after_one = (graph.label_counts(), graph.type_counts(), graph.nodes())
    graph.run_statements(second.sent)
    assert (graph.label_counts(), graph.type_counts(), graph.nodes()) == after_one
    assert after_one[:2] == counts


def test_live_push_needs_the_password_variable(example_build, fake_neo4j, monkeypatch):
    monkeypatch.delenv("KG_NO_SUCH_VARIABLE", raising=False)
    with pytest.raises(UsageError, match="KG_NO_SUCH_VARIABLE"):
        _push(example_build, password_env="KG_NO_SUCH_VARIABLE")


def test_live_push_without_uri_is_a_usage_error(example_build):
    with pytest.raises(UsageError, match="--uri"):
        run_export("neo4j", example_build, ExportOptions())


def test_live_push_without_the_driver_names_the_extra(example_build, monkeypatch):
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret")
    monkeypatch.setitem(sys.modules, "neo4j", None)
    with pytest.raises(ExportError) as err:
        _push(example_build)
    assert INSTALL_HINT in str(err.value)


def test_live_push_reports_an_unreachable_server_with_its_uri(example_build, monkeypatch):
    neo4j = pytest.importorskip("neo4j")
    from neo4j.exceptions import ServiceUnavailable

    class Down(FakeDriver):
        def session(self, database="neo4j"):
            raise ServiceUnavailable("connection refused")

    monkeypatch.setattr(neo4j.GraphDatabase, "driver", lambda uri, auth: Down())
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret")
    with pytest.raises(ExportError, match="bolt://127.0.0.1:7687.*connection refused"):
        _push(example_build)
