"""Property tests: IRI minting and text round-trips, over any text hypothesis can make."""

import pyoxigraph as ox
import rdflib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.iri import concept_iri, mint_segment
from kg.ingest.markdown import parse_text
from kg.rdf.build import build_graph
from kg.rdf.write import serialize_triples
from kg.text import clean_text, normalize_label

TEXT = st.text(min_size=1, max_size=80)


@given(TEXT)
def test_minting_is_stable(label):
    assert mint_segment(label) == mint_segment(label)


@given(TEXT, TEXT)
def test_minting_is_injective_on_distinct_normalised_labels(a, b):
    if normalize_label(a) != normalize_label(b):
        assert mint_segment(a) != mint_segment(b)


@given(TEXT)
def test_minted_iris_are_valid_for_independent_parsers(label):
    iri = concept_iri("keyword", label)
    ox.NamedNode(iri)
    data = f"<{iri}> <http://example.org/p> \"x\" .\n"
    assert len(rdflib.Graph().parse(data=data, format="nt")) == 1


CELL = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(lambda t: clean_text(t.replace("|", " ")))

DOC = """# __T__, (from page [20240407](https://e.org/p).)

## Concerns

| name | description | relevancy |
|:--|:--|--:|
| {name} | {description} | 3 |
"""


def _cell(text: str) -> str:
    # A pipe would end the cell and a newline the row: what a table cell cannot hold.
    return text.replace("|", " ").replace("\n", " ").replace("\r", " ")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CELL, CELL)
def test_any_cell_text_round_trips_through_turtle_and_ntriples(name, description):
    name, description = _cell(name), _cell(description)
    parsed = parse_text(DOC.format(name=name.replace("\\", "\\\\"), description=description.replace("\\", "\\\\")), file="x.md", doc_id="d" * 32)
    if not parsed.records:
        return
    (record,) = parsed.records
    graph = build_graph([parsed.doc], parsed.records)
    for fmt, name_ in ((ox.RdfFormat.TURTLE, "turtle"), (ox.RdfFormat.N_TRIPLES, "nt")):
        g = rdflib.Graph().parse(data=serialize_triples(graph, fmt).decode("utf-8"), format=name_)
        descriptions = {str(o) for o in g.objects(None, rdflib.URIRef("https://w3id.org/foresight-kg/ontology#description"))}
        assert descriptions == ({record.description} if record.description else set())
        labels = {str(o) for s, o in g.subject_objects(rdflib.RDFS.label) if "/concern/" in str(s)}
        assert labels == {record.label}


def test_a_row_with_every_cell_set_survives_the_cache():
    """``Record.__reduce__`` pickles the constructor's arguments: every field, set, comes back."""
    import dataclasses
    import pickle

    from kg.types import Record, RecordKind

    values = {"kind": RecordKind.SIGNAL, "line": 7, "relevancy": 4, "other": (("header", "value"),)}
    row = Record(**{f.name: values.get(f.name, f"{f.name} text") for f in dataclasses.fields(Record)})
    back = pickle.loads(pickle.dumps(row, protocol=5))
    assert back == row
    assert all(getattr(back, f.name) == getattr(row, f.name) for f in dataclasses.fields(Record))
