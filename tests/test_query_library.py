"""The library of named queries (kg/queries/*.rq): each answers its question with the expected
rows, on the example corpus or, for entities found in text, on the hand-written graph
tests/fixtures/entities.ttl (the shape issue 3 plans); and rdflib's own engine, over graph.ttl in
its memory store, gives the same rows."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from kg.namespaces import FS, PREFIXES
from kg.query import SparqlQuery, list_queries, load_query, open_graph, run_query
from kg.query.sparql import bind_params, to_rdflib
from kg.rdf.store import ONTOLOGY_GRAPH

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "entities.ttl"
ID = "https://w3id.org/foresight-kg/id/"
EU_ACT = "7f9865e7441207dadf825331b6f2f3a3"
PQC = "8195f0a05296a59a6faeea97f464199d"
LEGACY_IT = "d0e554ec4a6c4c7b672a6d8ab63953b2"
BLETCHLEY = "e2430dc8d6891e06fca42d05a18a30b2"
NAO_AI = "ec39d07e862c313cec8e88471dd089e7"
GOVUK_CHAT = "f71168e0f6b8e4c033ae684a2f86312d"


@pytest.fixture(scope="module")
def example(example_build) -> ox.Store:
    return open_graph(example_build)


@pytest.fixture(scope="module")
def entities() -> ox.Store:
    return open_graph(FIXTURE)


def answer(store: ox.Store, name: str, **params: str) -> list[tuple]:
    return run_query(store, load_query(name), params).values()


# ---------------------------------------------------------------- the library itself


def test_library_answers_the_issue_questions():
    assert {q.name for q in list_queries()} >= {
        "barriers-most-cited",
        "organisations-with-technology",
        "signals-by-driving-force",
        "themes-by-month",
        "entity-mentions",
        "related-documents",
        "government-bodies",
    }


def test_every_library_query_has_a_one_line_description():
    for query in list_queries():
        assert query.description and "\n" not in query.description, query.name


def test_library_queries_use_only_terms_the_ontology_defines():
    for query in list_queries():
        code = "\n".join(line.split("#", 1)[0] for line in query.text.splitlines())
        for name in set(re.findall(r"\bfs:([A-Za-z_]\w*)", code)):
            assert getattr(FS, name), f"{query.name}: fs:{name}"


def test_parameters_are_selected_so_they_can_be_bound():
    for query in list_queries():
        head = query.text.split("WHERE", 1)[0]
        for param in query.params:
            assert f"?{param.name}" in head, f"{query.name}: ?{param.name} is not selected"


# ---------------------------------------------------------------- on the example corpus


def test_themes_by_month_on_the_example_corpus(example):
    assert answer(example, "themes-by-month") == [
        ("2023-03", "digital government", 1),
        ("2023-03", "modernisation", 1),
        ("2023-03", "public sector IT", 1),
        ("2023-03", "skills and workforce", 1),
        ("2023-11", "AI governance", 1),
        ("2023-11", "AI safety", 1),
        ("2023-11", "diplomacy", 1),
        ("2023-11", "international relations", 1),
        ("2023-11", "technology risk", 1),
        ("2024-01", "digital government", 1),
        ("2024-01", "generative AI", 1),
        ("2024-01", "public services", 1),
        ("2024-01", "trust", 1),
        ("2024-03", "data and infrastructure", 1),
        ("2024-03", "digital government", 1),
        ("2024-03", "governance and accountability", 1),
        ("2024-03", "public sector AI adoption", 1),
        ("2024-03", "public sector productivity", 1),
        ("2024-08", "AI regulation", 1),
        ("2024-08", "European Union", 1),
        ("2024-08", "critical infrastructure", 1),
        ("2024-08", "cryptographic standards", 1),
        ("2024-08", "cybersecurity", 1),
        ("2024-08", "digital policy", 1),
        ("2024-08", "fundamental rights", 1),
        ("2024-08", "innovation and competitiveness", 1),
        ("2024-08", "quantum computing", 1),
        ("2024-08", "technology migration", 1),
    ]


def test_signals_by_driving_force_on_the_example_corpus_is_empty(example):
    # Each of the example corpus's 30 signals is driven by a force worded only once.
    assert answer(example, "signals-by-driving-force") == []


def test_every_example_signal_has_a_driving_force_of_its_own(example):
    text = "SELECT (COUNT(DISTINCT ?s) AS ?signals) (COUNT(DISTINCT ?f) AS ?forces) WHERE { ?s fs:drivingForce ?f }"
    assert run_query(example, SparqlQuery(text)).values() == [(30, 30)]


def test_related_documents_by_closest_links_and_keywords_on_the_example_corpus(example):
    rows = answer(example, "related-documents", document=NAO_AI)
    # Shared entities depend on what extraction finds; Closest links and keywords do not.
    by_closest_or_keyword = {
        related: (closest, shared, set(filter(None, keywords.split("; "))))
        for _, related, _, closest, shared, _, keywords, _ in rows
        if closest or shared
    }
    assert by_closest_or_keyword == {
        LEGACY_IT: (True, 4, {"Cabinet Office", "CDDO", "legacy systems", "National Audit Office"}),
        GOVUK_CHAT: (True, 0, set()),
        BLETCHLEY: (False, 1, {"DSIT"}),
    }


def test_related_documents_puts_closest_links_first(example):
    flags = [(closest, related) for _, related, _, closest, *_ in answer(example, "related-documents", document=GOVUK_CHAT)]
    assert sorted(related for closest, related in flags[:2] if closest) == sorted([LEGACY_IT, NAO_AI])
    assert not any(closest for closest, _ in flags[2:])


def test_related_documents_of_an_unknown_document_is_empty(example):
    assert answer(example, "related-documents", document="0" * 32) == []


# ---------------------------------------------------------------- on the entity fixture


def test_signals_are_grouped_by_shared_driving_forces_the_most_shared_first(entities):
    assert answer(entities, "signals-by-driving-force") == [
        ("Quantum computers on the horizon", 3, "Crypto inventories", "pqc"),
        ("Quantum computers on the horizon", 3, "Harvest now, decrypt later", "pqc"),
        ("Quantum computers on the horizon", 3, "Migration plans", "pqc"),
        ("Pressure on public finances", 2, "Cheaper answers for citizens", "gds-chat"),
        ("Pressure on public finances", 2, "Shared AI tools", "nao-ai"),
    ]


def test_themes_by_month_counts_the_documents_of_a_month_sharing_a_theme(entities):
    assert answer(entities, "themes-by-month") == [
        ("2024-01", "digital government", 1),
        ("2024-03", "digital government", 1),
        ("2024-08", "technology policy", 2),
        ("2024-08", "cybersecurity", 1),
    ]


def test_barriers_most_cited_counts_documents_and_mentions(entities):
    assert answer(entities, "barriers-most-cited") == [
        (f"{ID}barrier/legacy-systems", "legacy systems", 3, 3),
        (f"{ID}barrier/skills-gaps", "skills gaps", 2, 2),
        (f"{ID}barrier/lack-of-funding", "lack of funding", 1, 1),
    ]


def test_organisations_with_a_technology_by_shared_documents(entities):
    assert answer(entities, "organisations-with-technology", technology="generative AI") == [
        ("generative AI", f"{ID}government-body/cabinet-office", "Cabinet Office", 2),
        ("generative AI", f"{ID}organization/openai", "OpenAI", 2),
        ("generative AI", f"{ID}government-body/cddo", "Central Digital and Data Office", 1),
        ("generative AI", f"{ID}government-body/european-commission", "European Commission", 1),
        ("generative AI", f"{ID}government-body/gds", "Government Digital Service", 1),
        ("generative AI", f"{ID}government-body/national-audit-office", "National Audit Office", 1),
    ]


def test_organisations_with_a_technology_match_its_label_exactly(entities):
    assert answer(entities, "organisations-with-technology", technology="Generative AI") == []


def test_organisations_with_a_technology_a_table_row_names(entities):
    rows = answer(entities, "organisations-with-technology", technology="post-quantum cryptography")
    assert [(label, n) for _, _, label, n in rows] == [
        ("Government Communications Headquarters", 1),
        ("National Cyber Security Centre", 1),
    ]


def test_entity_mentions_give_the_evidence_in_each_document(entities):
    assert answer(entities, "entity-mentions", entity="legacy systems") == [
        ("legacy systems", "gds-chat", "GDS Tests a Chatbot for GOV.UK", "summary", "legacy systems", 122, 136,
         "chatbot built on generative AI from OpenAI. Old content and legacy systems remain a worry."),
        ("legacy systems", "nao-ai", "National Audit Office Reviews AI Adoption in Government", "summary", "Legacy systems",
         158, 172, "e drafting a strategy for generative AI in public services. Legacy systems and skills gaps hold the work back."),
        ("legacy systems", "pqc", "NCSC Urges Post-Quantum Migration", "description", "Legacy systems", 0, 14,
         "Legacy systems that are hard to update will slow the migration."),
    ]


def test_entity_mentions_of_a_government_body(entities):
    rows = answer(entities, "entity-mentions", entity="Cabinet Office")
    assert [(doc, text, start, end) for _, doc, _, _, text, start, end, _ in rows] == [
        ("gds-chat", "Cabinet Office", 38, 52),
        ("nao-ai", "Cabinet Office", 41, 55),
    ]


def test_government_bodies_with_their_parents(entities):
    assert [(label, parent, n) for _, label, _, parent, n in answer(entities, "government-bodies")] == [
        ("Cabinet Office", None, 2),
        ("Central Digital and Data Office", "Cabinet Office", 1),
        ("European Commission", None, 1),
        ("Government Communications Headquarters", None, 1),
        ("Government Digital Service", "Cabinet Office", 1),
        ("National Audit Office", None, 1),
        ("National Cyber Security Centre", "Government Communications Headquarters", 1),
    ]


def test_related_documents_count_shared_entities(entities):
    rows = answer(entities, "related-documents", document="nao-ai")
    assert [(doc, closest, kw, ent, set(entities.split("; "))) for _, doc, _, closest, kw, ent, _, entities in rows] == [
        ("gds-chat", True, 1, 3, {"Cabinet Office", "generative AI", "legacy systems"}),
        ("pqc", False, 0, 2, {"legacy systems", "skills gaps"}),
        ("eu-act", False, 0, 1, {"generative AI"}),
    ]


# ---------------------------------------------------------------- rdflib's engine agrees

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
LIST_COLUMNS = {"keywords", "entities"}  # GROUP_CONCAT: SPARQL leaves the order of the pieces open
CASES = [
    ("example", "barriers-most-cited", {}),
    ("example", "entity-mentions", {"entity": "Cabinet Office"}),
    ("example", "government-bodies", {}),
    ("example", "organisations-with-technology", {"technology": "generative AI"}),
    ("example", "related-documents", {"document": NAO_AI}),
    ("example", "signals-by-driving-force", {}),
    ("example", "themes-by-month", {}),
    ("fixture", "barriers-most-cited", {}),
    ("fixture", "entity-mentions", {"entity": "legacy systems"}),
    ("fixture", "government-bodies", {}),
    ("fixture", "organisations-with-technology", {"technology": "generative AI"}),
    ("fixture", "related-documents", {"document": "nao-ai"}),
    ("fixture", "signals-by-driving-force", {}),
    ("fixture", "themes-by-month", {}),
]


@pytest.fixture(scope="module")
def rdflib_graphs(example_build, example) -> dict[str, rdflib.Graph]:
    """rdflib's memory store: graph.ttl plus the ontology graph the store adds to it."""
    built = rdflib.Graph().parse(example_build / "graph.ttl")
    ontology = example.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(ONTOLOGY_GRAPH))
    built.parse(data=ontology.decode(), format="nt")
    return {"example": built, "fixture": rdflib.Graph().parse(FIXTURE)}


def _cell(name: str, kind: str, value: str, extra: str | None):
    if name in LIST_COLUMNS:
        value = "; ".join(sorted(filter(None, value.split("; "))))
    return kind, value, None if extra == XSD_STRING else extra


def _ox_row(variables, row):
    cells = []
    for name, term in zip(variables, row):
        if term is None:
            cells.append(None)
        elif isinstance(term, ox.Literal):
            extra = f"@{term.language}" if term.language else term.datatype.value
            cells.append(_cell(name, "literal", term.value, extra))
        else:
            cells.append(_cell(name, type(term).__name__, term.value if isinstance(term, ox.NamedNode) else "", None))
    return tuple(cells)


def _rdflib_row(variables, row):
    cells = []
    for name, term in zip(variables, row):
        if term is None:
            cells.append(None)
        elif isinstance(term, rdflib.Literal):
            extra = f"@{term.language}" if term.language else (str(term.datatype) if term.datatype else None)
            cells.append(_cell(name, "literal", str(term), extra))
        elif isinstance(term, rdflib.URIRef):
            cells.append(_cell(name, "NamedNode", str(term), None))
        else:
            cells.append(_cell(name, "BlankNode", "", None))
    return tuple(cells)


@pytest.mark.parametrize(("source", "name", "params"), CASES, ids=[f"{s}-{n}" for s, n, _ in CASES])
def test_rdflib_engine_gives_the_same_rows(source, name, params, example, entities, rdflib_graphs):
    query = load_query(name)
    store = {"example": example, "fixture": entities}[source]
    ours = run_query(store, query, params)
    bindings = {k: to_rdflib(v) for k, v in bind_params(query, params).items()}
    theirs = rdflib_graphs[source].query(query.text, initNs=PREFIXES, initBindings=bindings)
    variables = [str(v) for v in theirs.vars]
    assert variables == list(ours.variables)
    assert sorted(map(repr, (_rdflib_row(variables, r) for r in theirs))) == sorted(
        map(repr, (_ox_row(ours.variables, r) for r in ours.rows))
    )
