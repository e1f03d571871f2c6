"""`kg query` as a user runs it: the library, formats, parameters, exit status and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import rdflib

from kg.query import list_queries

NAO_AI = "ec39d07e862c313cec8e88471dd089e7"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "entities.ttl"


@pytest.fixture
def kg(capsys):
    """Run ``kg`` in this process (as ``kg.cli.main`` does) and return (status, stdout, stderr)."""
    from kg.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with mock.patch.object(sys, "argv", ["kg", *args]):
            try:
                main()
                status = 0
            except SystemExit as exc:
                status = exc.code or 0
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_list_shows_every_library_query_with_its_description(kg):
    status, out, _ = kg("query", "--list")
    assert status == 0
    for query in list_queries():
        assert f"{query.name}  " in out and query.description in out


def test_list_shows_the_parameters_a_query_takes(kg):
    _, out, _ = kg("query", "--list")
    assert "--param document=…" in out


def test_a_library_query_runs_by_name_with_a_parameter(kg, example_build):
    status, out, _ = kg("query", "related-documents", "--graph", str(example_build), "--param", f"document={NAO_AI}", "--format", "csv")
    lines = out.splitlines()
    assert status == 0
    assert lines[0] == "document,id,title,closest,sharedKeywords,sharedEntities,keywords,entities"
    assert any(line.startswith(f"{NAO_AI},d0e554ec4a6c4c7b672a6d8ab63953b2,Legacy IT Systems") for line in lines)


def test_a_query_file_runs(kg, example_build, tmp_path: Path):
    path = tmp_path / "count.rq"
    path.write_text("# Documents.\nSELECT (COUNT(*) AS ?n) WHERE { ?d a fs:Document ; fs:documentId ?id }\n", encoding="utf-8")
    status, out, _ = kg("query", str(path), "-g", str(example_build), "-f", "tsv")
    assert (status, out.splitlines()) == (0, ["?n", "6"])


def test_json_is_sparql_results_json(kg, example_build):
    status, out, _ = kg("query", "SELECT ?id WHERE { ?d fs:documentId ?id } ORDER BY ?id LIMIT 1", "-g", str(example_build), "-f", "json")
    assert status == 0
    assert json.loads(out)["results"]["bindings"] == [{"id": {"type": "literal", "value": "7f9865e7441207dadf825331b6f2f3a3"}}]


def test_the_table_shows_values_and_counts_rows(kg, example_build):
    status, out, err = kg("query", "themes-by-month", "-g", str(example_build))
    assert status == 0
    assert "public sector IT" in out and "2023-03" in out
    assert "28 rows" in err


def test_ask_prints_true_or_false(kg, example_build):
    assert kg("query", "ASK { ?d fs:documentId 'nope' }", "-g", str(example_build))[:2] == (0, "false\n")


def test_construct_writes_turtle(kg, example_build):
    status, out, _ = kg("query", "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a fs:Document ; rdfs:label ?l }", "-g", str(example_build))
    assert status == 0
    assert len(rdflib.Graph().parse(data=out, format="turtle")) == 6


def test_construct_refuses_a_tabular_format(kg, example_build):
    status, _, err = kg("query", "CONSTRUCT WHERE { ?s ?p ?o }", "-g", str(example_build), "-f", "csv")
    assert status == 2 and "writes Turtle" in err


def test_a_syntax_error_exits_1_with_line_column_and_caret(kg, example_build):
    status, _, err = kg("query", "SELECT ?d WHERE {\n  ?d a fs:Document .\n}\nLIMIT ten", "-g", str(example_build))
    assert status == 1
    assert "<query>:4:7: SPARQL syntax error" in err
    assert "    LIMIT ten\n          ^" in err


def test_an_unknown_query_name_exits_2_listing_the_library(kg, example_build):
    status, _, err = kg("query", "barriers", "-g", str(example_build))
    assert status == 2 and "barriers-most-cited" in err


def test_a_missing_parameter_exits_2_naming_it(kg, example_build):
    status, _, err = kg("query", "entity-mentions", "-g", str(example_build))
    assert status == 2 and "--param entity=" in err


def test_no_query_exits_2(kg, example_build):
    status, _, err = kg("query", "-g", str(example_build))
    assert status == 2 and "kg query --list" in err


def test_a_graph_that_was_never_built_exits_2(kg, tmp_path: Path):
    status, _, err = kg("query", "ASK {}", "-g", str(tmp_path / "none"))
    assert status == 2 and "run 'kg build" in err


def test_a_turtle_file_can_stand_for_the_graph(kg):
    status, out, _ = kg("query", "government-bodies", "-g", str(FIXTURE), "-f", "csv")
    assert status == 0 and "National Cyber Security Centre" in out


def test_the_installed_command_exits_with_the_status(example_build):
    run = subprocess.run(
        [sys.executable, "-m", "kg.cli", "query", "SELECT * WHERE {", "-g", str(example_build)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1 and "SPARQL syntax error" in run.stderr and "Traceback" not in run.stderr
