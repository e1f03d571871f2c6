"""The ontology, reviewed and documented: every term justified, exemplified, used and aligned
consistently, and the pyLODE page that shows it all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

from kg.gazetteer import DEFAULT_GAZETTEERS
from kg.gen_namespace import ONTOLOGY_FILE, ONTOLOGY_NS
from kg.ontology_docs import render_ontology_docs
from test_viz_browser import browser  # noqa: F401  (the module-scoped headless chromium, skipped where absent)

DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")

# Terms the example corpus does not exercise: it has no `src` column, no column the ontology
# does not know, and no behavior or technology row close enough in wording to a barrier or an
# issue. GAP_DOC below has all three, so each term is still shown to be built.
EXAMPLE_GAPS = {"ScoredLink", "addressesBarrier", "linkSource", "linkTarget", "otherCell", "relatedIssue", "score", "sourceId"}

GAP_DOC = """# __Councils Face Legacy Systems__, (from page [20240501](https://example.org/p/20240501).)

__[External link](https://example.org/report)__

## Keywords

* legacy systems

## Themes

* digital government

## Summary

Local councils say legacy systems are the main barrier to shared data platforms.

## Behaviors

| name | description | relevancy |
|:--|:--|--:|
| Replacing legacy systems | Councils replace legacy systems with shared data platforms. | 4 |

## Technologies

| name | description | relevancy | src | maturity |
|:--|:--|--:|:--|:--|
| Shared data platforms | Shared data platforms let councils exchange records. | 4 | 00000000000000000000000000000abc | early |

## Issues

| name | description | relevancy |
|:--|:--|--:|
| Data platforms for councils | Councils need shared data platforms to exchange records. | 4 |
"""

# Domains and ranges the aligned vocabularies declare (DCMI Terms 2020, PROV-O) for the
# superproperties the ontology uses; the others (dcterms:subject, schema:mentions …) declare none
# or only schema.org's non-binding domainIncludes/rangeIncludes.
EXTERNAL_DOMAIN = {DCTERMS.bibliographicCitation: DCTERMS.BibliographicResource, PROV.wasDerivedFrom: PROV.Entity}
EXTERNAL_RANGE = {DCTERMS.bibliographicCitation: RDFS.Literal, DCTERMS.date: RDFS.Literal,
                  DCTERMS.identifier: RDFS.Literal, DCTERMS.type: RDFS.Class, PROV.wasDerivedFrom: PROV.Entity}


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_FILE)


@pytest.fixture(scope="module")
def gap_build(tmp_path_factory) -> Path:
    from kg.pipeline import build
    from kg.settings import Settings

    folder = tmp_path_factory.mktemp("gap")
    (folder / "in").mkdir()
    (folder / "in" / "00000000000000000000000000000abc.md").write_text(GAP_DOC, encoding="utf-8")
    build([folder / "in"], folder / "out", Settings(write_html=False, write_store=False))
    return folder / "out"


@pytest.fixture(scope="module")
def page_html() -> str:
    return render_ontology_docs()


def _terms(ontology: rdflib.Graph, *types) -> set[rdflib.URIRef]:
    return {s for t in types for s in ontology.subjects(RDF.type, t) if str(s).startswith(ONTOLOGY_NS)}


def _local(term) -> str:
    return str(term)[len(ONTOLOGY_NS):]


def _used(graph: rdflib.Graph, term) -> bool:
    return (None, term, None) in graph or (None, None, term) in graph


def _superclasses(ontology: rdflib.Graph, cls) -> set:
    return set(ontology.transitive_objects(cls, RDFS.subClassOf))


# ---------------------------------------------------------------- the review


def test_every_class_and_property_names_its_source_and_gives_an_example(ontology):
    terms = _terms(ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    assert len(terms) > 50
    missing = sorted(_local(t) for t in terms if ontology.value(t, RDFS.comment) is None or ontology.value(t, SKOS.example) is None)
    assert missing == []


def test_every_term_is_used_by_the_example_build_or_a_gazetteer_unless_abstract_or_a_scheme(ontology, example_build):
    built = rdflib.Graph().parse(example_build / "graph.ttl")
    gazetteers = rdflib.Graph()
    for path in DEFAULT_GAZETTEERS:
        gazetteers.parse(path)
    terms = {s for s in ontology.subjects() if isinstance(s, rdflib.URIRef) and str(s).startswith(ONTOLOGY_NS)}
    # Schemes are typed skos:ConceptScheme; an abstract class is the disjoint union of its subclasses.
    exempt = set(ontology.subjects(RDF.type, SKOS.ConceptScheme)) | set(ontology.subjects(OWL.disjointUnionOf, None))
    unused = {_local(t) for t in terms - exempt if not _used(built, t) and not _used(gazetteers, t)}
    assert unused == EXAMPLE_GAPS


def test_terms_the_examples_miss_are_built_from_a_document_that_has_them(gap_build):
    built = rdflib.Graph().parse(gap_build / "graph.ttl")
    assert {t for t in EXAMPLE_GAPS if not _used(built, rdflib.URIRef(ONTOLOGY_NS + t))} == set()


def test_abstract_record_is_the_disjoint_union_of_the_five_tables(ontology):
    from rdflib.collection import Collection

    union = Collection(ontology, ontology.value(rdflib.URIRef(ONTOLOGY_NS + "Record"), OWL.disjointUnionOf))
    assert {_local(c) for c in union} == {"Signal", "Concern", "Issue", "Behavior", "Technology"}


@pytest.mark.parametrize("which", ["example_build", "gap_build"])
def test_every_use_agrees_with_the_domain_and_range_of_the_property_and_its_superproperties(which, ontology, request):
    """What RDFS would infer from each triple's property (and every property above it) must
    already hold: subjects and objects are of the declared classes, literals of the declared
    datatypes, and nothing is made a class."""
    built = rdflib.Graph().parse(request.getfixturevalue(which) / "graph.ttl")
    problems: list[str] = []
    for prop in _terms(ontology, OWL.ObjectProperty, OWL.DatatypeProperty):
        chain = set(ontology.transitive_objects(prop, RDFS.subPropertyOf))
        domains = {d for p in chain for d in ontology.objects(p, RDFS.domain)} | {EXTERNAL_DOMAIN[p] for p in chain if p in EXTERNAL_DOMAIN}
        ranges = {r for p in chain for r in ontology.objects(p, RDFS.range)} | {EXTERNAL_RANGE[p] for p in chain if p in EXTERNAL_RANGE}
        for s, o in built.subject_objects(prop):
            kinds = {c for t in built.objects(s, RDF.type) for c in _superclasses(ontology, t)}
            problems += [f"{_local(prop)}: subject {s} is not a {d}" for d in domains - kinds]
            for r in ranges:
                if r == RDFS.Class:
                    problems.append(f"{_local(prop)}: would make {o} a class")
                elif isinstance(o, rdflib.Literal):
                    datatype = o.datatype or XSD.string
                    if r != RDFS.Literal and r != datatype:
                        problems.append(f"{_local(prop)}: literal {o!r} is not a {r}")
                else:
                    objects = {c for t in built.objects(o, RDF.type) for c in _superclasses(ontology, t)}
                    if r not in objects and (o, None, None) in built:
                        problems.append(f"{_local(prop)}: object {o} is not a {r}")
    assert sorted(set(problems))[:20] == []


def test_owl_object_and_datatype_properties_are_used_with_iris_and_literals(ontology, example_build):
    built = rdflib.Graph().parse(example_build / "graph.ttl")
    wrong = sorted(
        {_local(p) for p in _terms(ontology, OWL.ObjectProperty) for o in built.objects(None, p) if isinstance(o, rdflib.Literal)}
        | {_local(p) for p in _terms(ontology, OWL.DatatypeProperty) for o in built.objects(None, p) if not isinstance(o, rdflib.Literal)}
    )
    assert wrong == []


def test_build_records_the_ontology_version(ontology, example_build):
    version = str(ontology.value(rdflib.URIRef(ONTOLOGY_NS.rstrip("#")), OWL.versionInfo))
    record = rdflib.Graph().parse(example_build / "provenance.ttl")
    assert (None, OWL.versionInfo, rdflib.Literal(version)) in record
    assert version.count(".") == 2


# ---------------------------------------------------------------- the page


def test_page_shows_every_class_and_property_with_its_example(ontology, page_html):
    for term in _terms(ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        assert f'id="{_local(term)}"' in page_html or f'<code>{term}</code>' in page_html, term
    examples = [str(e) for t in _terms(ontology, OWL.Class) for e in ontology.objects(t, SKOS.example)]
    assert all(e.split("`")[0][:30] in page_html for e in examples)


def test_page_loads_nothing_from_the_network(page_html):
    import re

    assert re.findall(r"<(?:script|img|link|iframe)[^>]+(?:src|href)=\"https?:", page_html) == []


def test_build_writes_the_page_beside_the_graph(example_build):
    assert (example_build / "ontology.html").read_text(encoding="utf-8").count('class="sup-c"') > 10


def test_kg_ontology_docs_writes_the_page(tmp_path):
    out = tmp_path / "docs" / "ontology.html"
    run = subprocess.run([sys.executable, "-m", "kg.cli", "ontology-docs", "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Foresight ontology" in out.read_text(encoding="utf-8")


@pytest.mark.browser
def test_page_opened_in_chromium_lists_every_class(browser, ontology, example_build):  # noqa: F811
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto((example_build / "ontology.html").resolve().as_uri())
    # Each class is a <div> under the Classes section, headed by its label (and a "c" mark).
    shown = page.eval_on_selector_all(
        "#classes > div.entity > h3", "heads => heads.map(h => h.firstChild.textContent.trim())"
    )
    context.close()
    labels = {str(ontology.value(c, RDFS.label)) for c in _terms(ontology, OWL.Class)}
    assert set(shown) == labels and len(shown) == len(labels)
