"""The graph a build writes: shape, determinism, validity."""

from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from kg.namespaces import FS, RDF, RDFS
from kg.pipeline import build

DOC = """# __Tiny <b>Doc</b>__, (from page [20240407](https://example.org/p/20240407).)

__[External link](https://example.org/source)__

## Keywords

* AI

## Themes

* Policy

## Summary

A summary.

## Concerns

| name | description | relevancy |
|:--|:--|--:|
| Cost | Too dear | 3 |
| Cost | Too dear | 3 |
"""

EXPECTED = """
@prefix fs: <https://w3id.org/foresight-kg/ontology#> .
@prefix id: <https://w3id.org/foresight-kg/id/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://w3id.org/foresight-kg/id/doc/0123456789abcdef0123456789abcdef> a fs:Document ;
    rdfs:label "Tiny <b>Doc</b>" ; dcterms:title "Tiny <b>Doc</b>" ;
    fs:documentId "0123456789abcdef0123456789abcdef" ; fs:sourceFormat "current" ;
    fs:sourceFile "in/0123456789abcdef0123456789abcdef.md" ;
    fs:newsletterIssue "20240407" ; fs:newsletterDate "2024-04-07"^^xsd:date ;
    fs:newsletterPage <https://example.org/p/20240407> ; fs:sourceLink <https://example.org/source> ;
    fs:summary "A summary." ;
    fs:keyword <https://w3id.org/foresight-kg/id/keyword/ai> ;
    fs:theme <https://w3id.org/foresight-kg/id/theme/policy> .

<https://w3id.org/foresight-kg/id/doc/0123456789abcdef0123456789abcdef/concern/cost> a fs:Concern ;
    rdfs:label "Cost" ; fs:document <https://w3id.org/foresight-kg/id/doc/0123456789abcdef0123456789abcdef> ;
    fs:description "Too dear" ; fs:relevancy 3 ;
    fs:sourceFile "in/0123456789abcdef0123456789abcdef.md" ; fs:sourceLine 21 .

<https://w3id.org/foresight-kg/id/keyword/ai> a skos:Concept ; rdfs:label "AI" ; skos:prefLabel "AI" ;
    skos:inScheme fs:Keywords .
<https://w3id.org/foresight-kg/id/theme/policy> a skos:Concept ; rdfs:label "Policy" ; skos:prefLabel "Policy" ;
    skos:inScheme fs:Themes .
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_graph_is_exactly_the_expected_one(tmp_path: Path):
    _write(tmp_path / "in", "0123456789abcdef0123456789abcdef.md", DOC)
    build([tmp_path / "in"], tmp_path / "out", _no_extras())
    got = rdflib.Graph().parse(tmp_path / "out" / "graph.ttl")
    want = rdflib.Graph().parse(data=EXPECTED, format="turtle")
    assert isomorphic(got, want), got.serialize(format="turtle")


def _no_extras():
    from kg.settings import Settings

    return Settings(write_store=False, write_html=False, extract=False, validate=False)


def test_two_builds_are_byte_identical(tmp_path: Path, shared: Path):
    corpus = shared / "corpus" / "futures-docs"
    build([corpus], tmp_path / "a", _no_extras())
    build([corpus], tmp_path / "b", _no_extras())
    assert (tmp_path / "a" / "graph.ttl").read_bytes() == (tmp_path / "b" / "graph.ttl").read_bytes()


def test_rapper_accepts_the_example_graph(example_build: Path, rapper: str):
    import subprocess

    run = subprocess.run([rapper, "-i", "turtle", "-c", str(example_build / "graph.ttl")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "returned" in run.stderr


def test_every_node_has_exactly_one_label(example_build: Path):
    from rdflib.namespace import SKOS

    g = rdflib.Graph().parse(example_build / "graph.ttl")
    # Every node of an ontology class or a concept; Web Annotation targets and selectors are
    # structure of a mention (which has its label), not things an analyst names.
    typed = {s for s, o in g.subject_objects(RDF.type) if str(o).startswith(str(FS._NS)) or o == SKOS.Concept}
    assert typed
    for node in typed:
        assert len(list(g.objects(node, RDFS.label))) == 1, node


def test_same_keyword_in_two_documents_is_one_concept(tmp_path: Path):
    _write(tmp_path / "in", "a.md", DOC)
    _write(tmp_path / "in", "b.md", DOC.replace("Tiny", "Other").replace("* AI", "* ai "))
    build([tmp_path / "in"], tmp_path / "out", _no_extras())
    g = rdflib.Graph().parse(tmp_path / "out" / "graph.ttl")
    docs = list(g.subjects(RDF.type, FS.Document))
    assert len(docs) == 2
    concepts = {c for d in docs for c in g.objects(d, FS.keyword)}
    assert len(concepts) == 1


def test_repeated_row_is_one_node(tmp_path: Path):
    _write(tmp_path / "in", "0123456789abcdef0123456789abcdef.md", DOC)
    build([tmp_path / "in"], tmp_path / "out", _no_extras())
    g = rdflib.Graph().parse(tmp_path / "out" / "graph.ttl")
    assert len(list(g.subjects(RDF.type, FS.Concern))) == 1


def test_rows_sharing_a_name_get_distinct_iris(tmp_path: Path):
    text = DOC.replace("| Cost | Too dear | 3 |\n| Cost | Too dear | 3 |", "| Cost | Too dear | 3 |\n| Cost | Too cheap | 2 |")
    _write(tmp_path / "in", "x.md", text)
    build([tmp_path / "in"], tmp_path / "out", _no_extras())
    g = rdflib.Graph().parse(tmp_path / "out" / "graph.ttl")
    concerns = set(g.subjects(RDF.type, FS.Concern))
    assert len(concerns) == 2
    assert {str(g.value(c, FS.description)) for c in concerns} == {"Too dear", "Too cheap"}


@pytest.mark.parametrize(
    "name",
    ['Quote " and \\ backslash', "<script>alert(1)</script>", "} ; DROP . @prefix x: <y> .", "tab\there", "日本語のテキスト", "‮rtl"],
)
def test_hostile_names_give_valid_turtle(tmp_path: Path, name: str, rapper: str):
    import subprocess

    text = DOC.replace("| Cost | Too dear | 3 |\n| Cost | Too dear | 3 |", f"| {name.replace('|', '/')} | Too dear | 3 |")
    text = text.replace("* AI", f"* {name}")
    _write(tmp_path / "in", "x.md", text)
    build([tmp_path / "in"], tmp_path / "out", _no_extras())
    ttl = tmp_path / "out" / "graph.ttl"
    run = subprocess.run([rapper, "-i", "turtle", "-c", str(ttl)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    g = rdflib.Graph().parse(ttl)
    (concern,) = g.subjects(RDF.type, FS.Concern)
    from kg.text import clean_text

    assert str(g.value(concern, RDFS.label)) == clean_text(name)
