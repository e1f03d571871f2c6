from pathlib import Path

import pytest

from kg.gen_namespace import render_namespace_module
from kg.namespaces import FS


def test_generated_namespace_matches_ontology():
    module = Path(__file__).resolve().parent.parent / "kg" / "namespaces.py"
    assert module.read_text(encoding="utf-8") == render_namespace_module(), "run: python -m kg.gen_namespace"


def test_misspelt_term_fails_at_once():
    with pytest.raises(AttributeError):
        FS.Barier  # noqa: B018


def test_every_term_has_label_and_definition():
    from rdflib import Graph, URIRef
    from rdflib.namespace import RDFS, SKOS

    from kg.gen_namespace import ONTOLOGY_FILE, ONTOLOGY_NS

    g = Graph().parse(ONTOLOGY_FILE)
    terms = {s for s in g.subjects() if isinstance(s, URIRef) and str(s).startswith(ONTOLOGY_NS)}
    assert len(terms) > 20
    for term in terms:
        assert g.value(term, RDFS.label), term
        assert g.value(term, SKOS.definition), term
