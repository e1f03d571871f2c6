"""SHACL validation: each shape catches what it should, real builds conform, and the report reads well."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import SH

from kg.rdf.validate import SHAPES_FILE, format_report, validate_path, validate_store
from kg.types import ValidationReport, ValidationResult

SHAPES_DIR = Path(__file__).resolve().parent / "fixtures" / "shapes"
BASE = SHAPES_DIR / "_base.ttl"
FIXTURES = sorted(p for p in SHAPES_DIR.glob("*.ttl") if p != BASE)


def _validate(*files: Path) -> ValidationReport:
    store = ox.Store()
    for file in files:
        store.load(path=str(file), format=ox.RdfFormat.TURTLE)
    return validate_store(store)


def _expected_message(fixture: Path) -> str:
    first = fixture.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{fixture.name} must start with '# expect: <message>'"
    return first.removeprefix("# expect: ")


def _kg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True)


def test_base_fixture_conforms():
    report = _validate(BASE)
    assert report.conforms, format_report(report)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_known_bad_graph_fails_its_shape_with_its_message(fixture: Path):
    report = _validate(BASE, fixture)
    assert not report.conforms
    # Only the shape the file is named after fails, and every result says what it requires.
    assert {r.shape for r in report.results} == {f"fsh:{fixture.stem}"}, format_report(report)
    expected = _expected_message(fixture)
    assert all(expected in r.message for r in report.results), format_report(report)


def test_every_shape_has_a_known_bad_fixture():
    shapes = rdflib.Graph().parse(SHAPES_FILE)
    ns = "https://w3id.org/foresight-kg/shapes#"
    checking = {
        str(s)[len(ns):]
        for s in shapes.subjects()
        if str(s).startswith(ns) and any((s, p, None) in shapes for p in (SH.path, SH.sparql, SH["class"]))
    }
    assert checking == {p.stem for p in FIXTURES}


def test_every_property_shape_says_what_it_requires():
    shapes = rdflib.Graph().parse(SHAPES_FILE)
    silent = [s for s in shapes.subjects(SH.path, None) if isinstance(s, rdflib.URIRef) and shapes.value(s, SH.message) is None]
    assert silent == []


def test_example_build_conforms_and_says_so(example_build: Path):
    report = json.loads((example_build / "report.json").read_text(encoding="utf-8"))
    text = (example_build / "validation.txt").read_text(encoding="utf-8")
    assert report["validation"]["conforms"] is True, text
    assert text.startswith("Conforms: yes (0 violations)")


def test_example_build_folder_validates_with_its_provenance(example_build: Path):
    # The store holds the provenance graph too, so the build's own record is checked as well.
    report = validate_path(example_build)
    assert report.conforms, format_report(report, limit=10)


@pytest.mark.shared
@pytest.mark.slow
def test_shared_corpus_conforms(shared: Path, tmp_path: Path):
    from kg.pipeline import build
    from kg.settings import Settings

    report = build([shared / "corpus"], tmp_path / "out", Settings(write_html=False, jobs=2))
    summary = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))["validation"]
    assert report.documents > 100
    assert summary["conforms"] is True, (tmp_path / "out" / "validation.txt").read_text(encoding="utf-8")[:4000]


def test_kg_validate_prints_label_path_and_message_and_exits_1(tmp_path: Path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(BASE.read_text(encoding="utf-8") + (SHAPES_DIR / "Record-relevancy.ttl").read_text(encoding="utf-8"), encoding="utf-8")
    run = _kg("validate", str(bad))
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("Conforms: no (1 violation)")
    assert '"Too relevant" <https://example.org/bad>' in run.stdout
    assert '  fs:relevancy = "7"^^xsd:integer: fs:relevancy is one xsd:integer from 0 to 5  [fsh:Record-relevancy]' in run.stdout


def test_kg_validate_exits_0_on_a_conforming_file():
    run = _kg("validate", str(BASE))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("Conforms: yes")


def test_kg_validate_of_a_missing_path_is_a_usage_error(tmp_path: Path):
    run = _kg("validate", str(tmp_path / "nowhere"))
    assert run.returncode == 2
    assert "nowhere" in run.stderr


def test_build_no_validate_writes_no_validation(tmp_path: Path):
    source = Path(__file__).resolve().parent.parent / "examples" / "corpus" / "ec39d07e862c313cec8e88471dd089e7.md"
    run = _kg("build", str(source), "--out", str(tmp_path / "out"), "--no-validate", "--no-extract", "--no-html", "--no-store", "-q")
    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "out" / "validation.txt").exists()
    assert "validation" not in json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))


def test_report_groups_results_by_node_and_cuts_at_the_limit():
    results = tuple(
        ValidationResult(focus=f"https://example.org/n{i}", label=f"node {i}", path="fs:relevancy",
                         message="fs:relevancy is one xsd:integer from 0 to 5", shape="fsh:Record-relevancy", value='"9"^^xsd:integer')
        for i in range(3)
    )
    text = format_report(ValidationReport(conforms=False, results=results, triples=10, shapes="shapes.ttl", seconds=0.5), limit=2)
    assert text.splitlines()[0] == "Conforms: no (3 violations) — 10 triples checked against shapes.ttl in 0.5 s"
    assert text.count('"node ') == 2
    assert text.rstrip().endswith("… and 1 more nodes")


def test_selector_result_is_labelled_with_its_mention(tmp_path: Path):
    # A selector has no label of its own; the report names it by the text of the mention above it.
    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "@prefix ex: <https://example.org/> . @prefix oa: <http://www.w3.org/ns/oa#> .\n"
        "ex:m1-selector oa:exact \"HM Treasury again\" .\n",
        encoding="utf-8",
    )
    report = _validate(BASE, extra)
    selector = [r for r in report.results if r.focus == "https://example.org/m1-selector"]
    assert selector and {r.label for r in selector} == {"HM Treasury"}


def test_mention_into_a_text_the_source_lacks_fails_the_quote_check(tmp_path: Path):
    # The concern has no fs:change, so no stored text can hold the quote.
    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "@prefix ex: <https://example.org/> . @prefix fs: <https://w3id.org/foresight-kg/ontology#> .\n"
        "@prefix oa: <http://www.w3.org/ns/oa#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'ex:bad a fs:Mention ; rdfs:label "skills gap" ; oa:hasBody ex:skills-gap ; oa:hasTarget ex:m2-target ;\n'
        '    fs:section "change" ; fs:rule "barrier-cue" .\n',
        encoding="utf-8",
    )
    report = _validate(BASE, extra)
    assert [(r.focus, r.shape, r.message) for r in report.results] == [
        ("https://example.org/bad", "fsh:MentionQuote", 'oa:exact "skills gap" is not the text at oa:start..oa:end of the source\'s "change"')
    ]


_CHOICES_BROKEN = """
@prefix fs: <https://w3id.org/foresight-kg/ontology#> .
@prefix ex: <https://example.org/> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:d1 fs:mentions ex:d0 , ex:untyped , "HM Treasury" , ex:signal , _:b1 , 7 .
ex:m1 oa:hasBody ex:untyped .
ex:m1-target oa:hasSource ex:hm-treasury , "d1" .
ex:extra-body a fs:GovernmentBody .
ex:d0 fs:mentions ex:extra-body .
"""


def test_or_of_classes_gives_the_results_pyshacl_gives(monkeypatch, tmp_path: Path):
    """``sh:or`` lists of classes are checked outside pySHACL (minutes at corpus scale); the
    results must be pySHACL's own, value for value."""
    import kg.rdf.validate as validate

    broken = tmp_path / "broken.ttl"
    broken.write_text(_CHOICES_BROKEN, encoding="utf-8")
    _, _, choices = validate._split_shapes(validate._read_turtle(SHAPES_FILE, "shapes"))
    assert {str(c.shape).rsplit("#", 1)[1] for c in choices} == {"Document-mentions", "Mention-body", "Target-source"}
    store = ox.Store()  # one store for both, so blank nodes keep their names
    for file in (BASE, broken):
        store.load(path=str(file), format=ox.RdfFormat.TURTLE)
    ours = validate_store(store)
    validate._split_shapes.cache_clear()
    monkeypatch.setattr(validate, "class_choice", lambda *args: None)
    try:
        theirs = validate_store(store)
        assert validate._split_shapes(validate._read_turtle(SHAPES_FILE, "shapes"))[2] == ()
    finally:
        validate._split_shapes.cache_clear()
    assert len(theirs.results) >= 7
    assert ours.results == theirs.results


def test_names_are_rdflibs_own():
    """pySHACL's messages name terms through the data graph's namespace manager; ours skips
    rdflib's trie of every namespace seen, and must name every term as rdflib does."""
    from rdflib.namespace import NamespaceManager
    from rdflib.term import Variable

    from kg.rdf.validate import _Names

    terms = [rdflib.URIRef("https://w3id.org/foresight-kg/ontology#Document"), rdflib.URIRef("http://www.w3.org/ns/shacl#or"),
             rdflib.URIRef("https://w3id.org/foresight-kg/id/doc/abc"), rdflib.URIRef("https://example.org/a/b/"),
             rdflib.URIRef("urn:x"), rdflib.URIRef("http://spdx.org/rdf/terms#checksumValue"), Variable("this")]
    ours, theirs = rdflib.Graph(), rdflib.Graph()
    for graph in (ours, theirs):
        graph.bind("fs", "https://w3id.org/foresight-kg/ontology#")
    ours.namespace_manager = _Names(ours)
    named = [ours.namespace_manager.normalizeUri(t) for t in terms]
    assert named == [theirs.namespace_manager.normalizeUri(t) for t in terms]
    assert named[0] == "fs:Document" and named[2] == "<https://w3id.org/foresight-kg/id/doc/abc>"
