"""Entity extraction and linking: rules without a trained model, resolution, graph links."""

from pathlib import Path

import pyoxigraph as ox
import pytest
import spacy

from kg.extract.acronyms import find_acronym_definitions
from kg.extract.orgs import find_org_spans, load_org_rules
from kg.pipeline import build
from kg.resolve import normalize_org_name, read_overrides
from kg.settings import Settings

from conftest import SEED, need

FS = "https://w3id.org/foresight-kg/ontology#"
PREFIX = f"PREFIX fs: <{FS}> PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
SETTINGS = Settings(write_html=False, validate=False)

DOC = """# __{title}__, (from page [20240407](https://example.org/p/20240407).)

## Summary

{summary}

## Technologies

| name | description | relevancy |
|:--|:--|--:|
{tech}
"""


def write_doc(folder: Path, name: str, title: str, summary: str, tech: str = "| Widget | A widget | 3 |") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(DOC.format(title=title, summary=summary, tech=tech), encoding="utf-8")
    return path


def store_of(out: Path) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(out / "graph.ttl"), format=ox.RdfFormat.TURTLE)
    return store


def select(store: ox.Store, query: str) -> list[dict]:
    """Rows of a SELECT as dicts of plain strings."""
    solutions = store.query(PREFIX + query)
    names = [v.value for v in solutions.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in solutions]


@pytest.fixture(scope="module")
def seed_build(tmp_path_factory) -> Path:
    need(SEED.is_file(), f"{SEED} is absent")
    out = tmp_path_factory.mktemp("seed")
    build([SEED], out, SETTINGS)
    return out


def test_seed_bodies_found_with_offsets_that_slice_back(seed_build: Path):
    store = store_of(seed_build)
    rows = select(store, """
        SELECT ?label ?exact ?start ?end ?text WHERE {
          ?m a fs:Mention ; oa:hasBody ?e ; oa:hasTarget ?t ; fs:section ?section .
          ?e rdfs:label ?label .
          ?t oa:hasSource ?src ; oa:hasSelector ?s .
          ?s oa:exact ?exact ; oa:start ?start ; oa:end ?end .
          VALUES (?section ?p) { ("summary" fs:summary) ("description" fs:description) ("title" rdfs:label) }
          ?src ?p ?text .
        }""")
    labels = {r["label"] for r in rows}
    for body in ("Cabinet Office", "Department for Science, Innovation and Technology", "HM Treasury", "Government of the United Kingdom"):
        assert body in labels, (body, labels)
    for r in rows:
        assert r["text"][int(r["start"]):int(r["end"])] == r["exact"]
    dsit = {r["exact"] for r in rows if r["label"] == "Department for Science, Innovation and Technology"}
    assert dsit == {"DSIT"}
    assert {"UK Cabinet Office", "the Cabinet Office"} <= {r["exact"] for r in rows if r["label"] == "Cabinet Office"}


def test_acronym_in_one_document_and_long_form_in_another_are_one_node(tmp_path: Path):
    write_doc(tmp_path / "in", "a.md", "A", "The Department for Science, Innovation and Technology published a plan.")
    write_doc(tmp_path / "in", "b.md", "B", "Officials at DSIT said the plan would slip.")
    build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    rows = select(store_of(tmp_path / "out"), """
        SELECT ?e (COUNT(DISTINCT ?d) AS ?docs) WHERE { ?d a fs:Document ; fs:mentions ?e . ?e a fs:GovernmentBody } GROUP BY ?e""")
    assert len(rows) == 1 and rows[0]["docs"] == "2"


def test_acronym_defined_in_text_links_both_forms(tmp_path: Path):
    write_doc(tmp_path / "in", "a.md", "A", "The Ministry of Quantum Affairs (MQA) met. Later the MQA agreed.")
    write_doc(tmp_path / "in", "b.md", "B", "A spokesperson for MQA declined to comment.")
    build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    rows = select(store_of(tmp_path / "out"), """
        SELECT ?label (COUNT(?m) AS ?n) WHERE { ?m oa:hasBody ?e . ?e rdfs:label ?label ; a fs:GovernmentBody } GROUP BY ?label""")
    assert rows == [{"label": "Ministry of Quantum Affairs", "n": "4"}]
    merges = (tmp_path / "out" / "merges.csv").read_text()
    assert ",MQA,acronym," in merges


def test_table_name_in_one_document_found_in_another_summary(tmp_path: Path):
    write_doc(tmp_path / "in", "a.md", "A", "Nothing here.", tech="| Quantum Sensors | Measure gravity | 4 |")
    write_doc(tmp_path / "in", "b.md", "B", "Navies are testing quantum sensors at sea.")
    build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    rows = select(store_of(tmp_path / "out"), """
        SELECT ?title WHERE { ?c a fs:TechnologyConcept ; rdfs:label "Quantum Sensors" .
                              ?d a fs:Document ; fs:mentions ?c ; rdfs:label ?title } ORDER BY ?title""")
    assert [r["title"] for r in rows] == ["A", "B"]
    rows = select(store_of(tmp_path / "out"), 'SELECT ?r WHERE { ?r a fs:Technology ; fs:concept ?c . ?c rdfs:label "Quantum Sensors" }')
    assert len(rows) == 1


def test_barrier_phrases_become_shared_barriers(tmp_path: Path):
    write_doc(tmp_path / "in", "a.md", "A", "Departments struggle with legacy systems and a lack of skilled staff.")
    write_doc(tmp_path / "in", "b.md", "B", "The legacy system at the agency is decades old.")
    build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    rows = select(store_of(tmp_path / "out"), """
        SELECT ?label (COUNT(DISTINCT ?d) AS ?n) WHERE { ?b a fs:Barrier ; rdfs:label ?label . ?d a fs:Document ; fs:mentions ?b }
        GROUP BY ?label ORDER BY ?label""")
    # "legacy systems" and "legacy system" are one barrier; the tie on its label goes alphabetically.
    assert {r["label"]: r["n"] for r in rows} == {"lack of skilled staff": "1", "legacy system": "2"}


def test_co_occurring_entities_associated_with_sentence_evidence(tmp_path: Path):
    write_doc(tmp_path / "in", "a.md", "A", "HM Treasury and the Cabinet Office agreed a budget. Nothing else.")
    build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    rows = select(store_of(tmp_path / "out"), """
        SELECT ?evidence WHERE { ?a a fs:Association ; fs:participant ?x, ?y ; fs:evidence ?evidence .
          ?x rdfs:label "HM Treasury" . ?y rdfs:label "Cabinet Office" }""")
    assert [r["evidence"] for r in rows] == ["HM Treasury and the Cabinet Office agreed a budget."]


def test_overrides_force_and_forbid(tmp_path: Path):
    overrides = tmp_path / "overrides.csv"
    overrides.write_text("action,name,other\nforce,Acme Holdings Ltd,Acme Ltd\n", encoding="utf-8")
    write_doc(tmp_path / "in", "a.md", "A", "Acme Holdings Ltd grew.")
    write_doc(tmp_path / "in", "b.md", "B", "Acme Ltd shrank.")
    build([tmp_path / "in"], tmp_path / "out", Settings(write_html=False, validate=False, overrides=overrides))
    rows = select(store_of(tmp_path / "out"), "SELECT DISTINCT ?e WHERE { ?d fs:mentions ?e . ?e a fs:Organization }")
    assert len(rows) == 1
    assert ",Acme Ltd,override," in (tmp_path / "out" / "merges.csv").read_text()


def test_overrides_file_errors_name_the_line(tmp_path: Path):
    from kg.errors import InputError

    bad = tmp_path / "o.csv"
    bad.write_text("force,A,B\nmerge,A,B\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"o.csv:2: unknown action 'merge'"):
        read_overrides(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the Department for Science, Innovation and Technology (DSIT) said", [("Department for Science, Innovation and Technology", "DSIT")]),
        ("Incubator for AI (i.AI) hires", [("Incubator for AI", "i.AI")]),
        ("NAO (National Audit Office) reported", [("National Audit Office", "NAO")]),
        ("costs rose (70%) sharply", []),
    ],
)
def test_acronym_definitions_in_both_orders(text, expected):
    assert [(d.long, d.short) for d in find_acronym_definitions(text)] == expected
    for d in find_acronym_definitions(text):
        assert text[d.long_start:d.long_end] == d.long and text[d.short_start:d.short_end] == d.short


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In 2023, the UK Cabinet Office, with DSIT and HM Treasury, acted.", [("UK Cabinet Office", "GOV"), ("HM Treasury", "GOV")]),
        ("The Central Digital and Data Office leads.", [("Central Digital and Data Office", "GOV")]),
        ("the Ministry of Defence and Stanford University", [("Ministry of Defence", "GOV"), ("Stanford University", "ORG")]),
        ("The French government objected.", [("French government", "GOV")]),
        ("companies like CyrusOne and Meta cool servers", [("CyrusOne", "ORG"), ("Meta", "ORG")]),
        ("Government departments must plan.", []),
        ("the EU AI Act and Council of Europe convention", [("Council of Europe", "ORG")]),
    ],
)
def test_org_rule_without_a_model(text, expected):
    doc = spacy.blank("en")(text)
    assert [(s.text, s.label_) for s in find_org_spans(doc, load_org_rules())] == expected


def test_normalised_names_meet():
    assert normalize_org_name("The Department for Environment, Food & Rural Affairs") == normalize_org_name("department for environment food and rural affairs")


@pytest.mark.slow
def test_trained_pipeline_entities_join_the_rules(tmp_path: Path):
    """A user's trained pipeline (here a tiny one trained in the test) adds ORG mentions marked as its own."""
    from spacy.training import Example

    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    ner.add_label("ORG")
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": [(s, e, "ORG")]}) for t, s, e in [
        ("Zorblax announced results.", 0, 7), ("Investors like Zorblax today.", 15, 22), ("Zorblax hired staff.", 0, 7)]]
    nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples)
    model = tmp_path / "model"
    nlp.to_disk(model)
    write_doc(tmp_path / "in", "a.md", "A", "Zorblax announced results.")
    build([tmp_path / "in"], tmp_path / "out", Settings(write_html=False, validate=False, spacy_model=str(model)))
    rows = select(store_of(tmp_path / "out"), 'SELECT ?rule WHERE { ?m oa:hasBody ?e ; fs:rule ?rule . ?e rdfs:label "Zorblax" }')
    assert rows == [{"rule": f"model:{model}"}]


def test_missing_trained_pipeline_is_a_usage_error(tmp_path: Path):
    from kg.errors import UsageError

    write_doc(tmp_path / "in", "a.md", "A", "Text.")
    with pytest.raises(UsageError, match="not installed"):
        build([tmp_path / "in"], tmp_path / "out", Settings(write_html=False, validate=False, spacy_model="xx_no_such_pipeline"))


def test_french_text_gets_known_names_but_no_english_rules(tmp_path: Path):
    write_doc(tmp_path / "in", "fr.md", "Une note",
              "Le manque de compétences et les systèmes legacy freinent la Banque de France et HM Treasury dans leurs projets.")
    report = build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    assert report.inputs[0].language == "fr"
    rows = select(store_of(tmp_path / "out"), "SELECT ?rule ?exact WHERE { ?m a fs:Mention ; fs:rule ?rule ; fs:section 'summary' ; rdfs:label ?exact } ORDER BY ?exact")
    assert rows == [{"rule": "gazetteer", "exact": "Banque de France"}, {"rule": "gazetteer", "exact": "HM Treasury"}]


def _scan_both_ways(texts: list[str], terms) -> None:
    """Each text read by the whole pipeline and by one made only for it finds the same."""
    from kg.extract.mentions import _for_spacy, scan_batches
    from kg.extract.nlp import make_pipeline
    from kg.gazetteer import DEFAULT_GAZETTEERS, load_gazetteer
    from kg.types import TextUnit

    gazetteer = load_gazetteer(DEFAULT_GAZETTEERS)
    whole = make_pipeline(gazetteer, terms)
    batches = [(text, [(TextUnit("d", "https://example.org/d", "summary", text), 0)]) for text in texts]
    expected = scan_batches(batches, whole)
    assert any(found for found, *_ in expected), "nothing found: the comparison would prove nothing"
    for batch, want in zip(batches, expected):
        few = make_pipeline(gazetteer, terms, only_for=[_for_spacy(batch[0])])
        assert scan_batches([batch], few) == [want], batch[0][:200]


def test_pipeline_for_a_few_texts_finds_what_the_whole_one_finds():
    """Names split or spaced otherwise than in the text, other cases, a final sigma."""
    from kg.extract.nlp import TableTerm, lemma_key

    names = ["Cannot Fail", "e-mail", "Digital Twins", "ΟΔΟΣ Project", "Large  Language Models", "Smart Grid", "ΚΟΣΜΟΣ"]
    terms = [TableTerm(n, "TECH", lemma_key(n)) for n in names]
    _scan_both_ways([
        "The Cabinet\nOffice met DSIT and the Department for Science, Innovation and Technology (DSIT).",
        "Systems that can not fail use e - mail, DIGITAL TWINS and large language models.",
        "The ΟΔΟΣ project and Smart-Grid pilots; smart grids in HM Treasury's plans; the ΚΟΣΜΟΣ Platform.",
        "Nothing here at all.",
    ], terms)


@pytest.mark.shared
def test_pipeline_for_a_few_texts_on_the_real_corpus(shared: Path):
    """Documents of the real corpus, with the table names of the real export."""
    import random

    from kg.extract.mentions import table_terms
    from kg.ingest.markdown import parse_document
    from kg.ingest.tabular import read_tabular

    rows = [r for p in sorted((shared / "data" / "futures-parquet").glob("*")) for r in read_tabular(p, name=p.name).records]
    docs = [parse_document(p) for p in random.Random(7).sample(sorted((shared / "corpus").rglob("*.md")), 12)]
    texts = [t for d in docs for t in (d.doc.title, d.doc.summary, *(r.description for r in d.records[:3])) if t]
    _scan_both_ways(texts, table_terms(rows))


def test_a_french_table_cell_keeps_only_known_names_and_its_language_comes_with_the_scan(tmp_path: Path):
    """The language of a cell is detected while the cell is scanned (and cached with the
    scan), with the same outcome as detecting it afterwards."""
    from kg.extract.mentions import drop_foreign_rule_mentions, extract_mentions, text_units
    from kg.extract.nlp import make_pipeline
    from kg.gazetteer import DEFAULT_GAZETTEERS, load_gazetteer
    from kg.pipeline import collect_documents, discover_inputs, read_inputs
    from kg.rdf.build import assign_record_iris, distinct_records

    tech = ("| Widget | Le Bureau of Imaginary Affairs a publié une note sur les compétences des élèves et des enseignants. | 3 |\n"
            "| Gadget | The Bureau of Imaginary Affairs published a note on the skills of pupils and of their teachers. | 3 |")
    write_doc(tmp_path / "in", "a.md", "A note", "The government must finalise its plan for the adoption of AI by June.", tech)
    report = build([tmp_path / "in"], tmp_path / "out", SETTINGS)
    assert report.inputs[0].language == "en"
    found_in = select(store_of(tmp_path / "out"), """SELECT ?row ?rule WHERE { ?m a fs:Mention ; fs:rule ?rule ; rdfs:label ?exact ;
        oa:hasTarget/oa:hasSource/rdfs:label ?row FILTER(CONTAINS(?exact, "Imaginary")) }""")
    assert found_in == [{"row": "Gadget", "rule": "org-pattern"}]

    docs, records, _ = collect_documents(read_inputs(discover_inputs([tmp_path / "in"])))
    rows = distinct_records(records)
    units = text_units(docs, rows, assign_record_iris(rows))
    languages: dict = {}
    found = extract_mentions(units, make_pipeline(load_gazetteer(DEFAULT_GAZETTEERS)), found_languages=languages)
    assert sorted(languages.values(), key=str) == ["en", "fr"]
    assert drop_foreign_rule_mentions(found, docs, units, languages) == drop_foreign_rule_mentions(found, docs, units)
