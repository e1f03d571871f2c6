"""Provenance: the build's PROV-O record, and every fact traced back to its source text or row."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import OWL, PROV, RDF, RDFS

from conftest import SEED
from kg.pipeline import build
from kg.provenance import PROVENANCE_GRAPH, SPDX, ontology_version, software_version
from kg.query.sparql import load_query, run_query
from kg.rdf.store import open_store
from kg.settings import Settings

DOC = """# __Tiny Doc__, (from page [20240407](https://example.org/p/20240407).)

## Summary

HM Treasury published a plan.

## Concerns

| name | description | relevancy |
|:--|:--|--:|
| Cost | Too dear | 3 |
"""
DOC_ID = "0123456789abcdef0123456789abcdef"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checksum(record: rdflib.Graph, node) -> str:
    return str(record.value(record.value(node, SPDX.checksum), SPDX.checksumValue))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A one-document build with the store and validation on (no HTML, no extraction: fast)."""
    folder = tmp_path_factory.mktemp("tiny")
    (folder / "in").mkdir()
    (folder / "in" / f"{DOC_ID}.md").write_text(DOC, encoding="utf-8")
    build([folder / "in"], folder / "out", Settings(write_html=False, extract=False))
    return folder


@pytest.fixture(scope="module")
def record(tiny: Path) -> rdflib.Graph:
    return rdflib.Graph().parse(tiny / "out" / "provenance.ttl")


def _activity(record: rdflib.Graph):
    (activity,) = record.subjects(RDF.type, PROV.Activity)
    return activity


def test_graph_stays_byte_identical_while_the_record_changes(tiny: Path, tmp_path: Path):
    build([tiny / "in"], tmp_path / "again", Settings(write_html=False, extract=False))
    assert (tmp_path / "again" / "graph.ttl").read_bytes() == (tiny / "out" / "graph.ttl").read_bytes()
    assert (tmp_path / "again" / "provenance.ttl").read_bytes() != (tiny / "out" / "provenance.ttl").read_bytes()


def test_one_build_activity_with_its_times(record):
    activity = _activity(record)
    started = record.value(activity, PROV.startedAtTime).toPython()
    ended = record.value(activity, PROV.endedAtTime).toPython()
    assert started <= ended <= dt.datetime.now(dt.timezone.utc)
    assert ended - started < dt.timedelta(minutes=5)


def test_software_agent_carries_the_version(record):
    agent = record.value(_activity(record), PROV.wasAssociatedWith)
    assert (agent, RDF.type, PROV.SoftwareAgent) in record
    assert str(record.value(agent, OWL.versionInfo)) == software_version()


def test_ontology_used_is_named_by_its_version(record):
    version, iri = ontology_version()
    assert (_activity(record), PROV.used, rdflib.URIRef(iri)) in record
    assert str(record.value(rdflib.URIRef(iri), OWL.versionInfo)) == version


def test_each_input_is_used_with_its_sha256(tiny: Path, record):
    inputs = {str(record.value(n, RDFS.label)): n for n in record.objects(_activity(record), PROV.used)}
    source = tiny / "in" / f"{DOC_ID}.md"
    assert _checksum(record, inputs[f"in/{DOC_ID}.md"]) == _sha256(source)


def test_input_name_is_the_graphs_source_file(tiny: Path, record):
    graph = rdflib.Graph().parse(tiny / "out" / "graph.ttl")
    files = {str(f) for f in graph.objects(None, rdflib.URIRef("https://w3id.org/foresight-kg/ontology#sourceFile"))}
    labels = {str(record.value(n, RDFS.label)) for n in record.objects(_activity(record), PROV.used)}
    assert files and files <= labels


def test_each_output_was_generated_by_the_build_with_its_sha256(tiny: Path, record):
    activity = _activity(record)
    outputs = {str(record.value(n, RDFS.label)): n for n in record.subjects(PROV.wasGeneratedBy, activity)}
    for name in ("graph.ttl", "validation.txt", "report.json"):
        assert _checksum(record, outputs[name]) == _sha256(tiny / "out" / name), name
    assert "store" in outputs


def test_document_graph_was_derived_from_its_file(record):
    graph = rdflib.URIRef(f"https://w3id.org/foresight-kg/id/graph/doc/{DOC_ID}")
    (source,) = record.objects(graph, PROV.wasDerivedFrom)
    assert str(record.value(source, RDFS.label)) == f"in/{DOC_ID}.md"
    assert (graph, PROV.wasGeneratedBy, _activity(record)) in record


def test_store_holds_the_record_in_its_own_graph(tiny: Path, record):
    store = open_store(tiny / "out")
    inside = list(store.quads_for_pattern(None, None, None, ox.NamedNode(PROVENANCE_GRAPH)))
    assert len(inside) == len(record)


def test_build_without_store_still_writes_the_record(tmp_path: Path, tiny: Path):
    build([tiny / "in"], tmp_path / "out", Settings(write_html=False, extract=False, write_store=False, validate=False))
    assert (None, RDF.type, PROV.Activity) in rdflib.Graph().parse(tmp_path / "out" / "provenance.ttl")


def test_library_declares_the_provenance_query():
    query = load_query("provenance")
    assert [p.name for p in query.params] == ["fact"]
    assert query.description.startswith("Where a fact comes from")


# ---------------------------------------------------------------- three facts of the seed


@pytest.fixture(scope="module")
def seed_build(shared: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seed")
    build([SEED], out, Settings(write_html=False))
    return out


def _seed_summary() -> str:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Summary") + 1
    return next(line for line in lines[start:] if line.strip())


def _ask(build_dir: Path, fact: str) -> list[dict]:
    result = run_query(open_store(build_dir), load_query("provenance"), {"fact": fact})
    return [dict(zip(result.variables, row)) for row in result.values()]


def _stored_summary(build_dir: Path) -> str:
    store = open_store(build_dir)
    (quad,) = store.quads_for_pattern(None, ox.NamedNode("https://w3id.org/foresight-kg/ontology#summary"), None)
    return quad.object.value


@pytest.mark.shared
@pytest.mark.parametrize("fact, surface", [
    # DSIT is named by its abbreviation; the entity's label is the full name
    ("Department for Science, Innovation and Technology", "DSIT"),
    ("HM Treasury", "HM Treasury"),
])
def test_seed_mention_traces_to_its_exact_text_and_offsets(seed_build: Path, fact: str, surface: str):
    rows = [r for r in _ask(seed_build, fact) if r["evidence"] == "mention"]
    first = min(rows, key=lambda r: r["start"])
    # Offsets count characters of the summary as written in the seed (no repair before them).
    expected = _seed_summary().index(surface)
    assert (first["section"], first["start"], first["end"], first["text"]) == ("summary", expected, expected + len(surface), surface)
    assert first["file"] == SEED.name and first["sha256"] == _sha256(SEED) and first["build"]
    # and every mention's offsets slice the stored summary to its text
    assert all(_stored_summary(seed_build)[r["start"]:r["end"]] == r["text"] for r in rows)


@pytest.mark.shared
def test_seed_signal_row_traces_to_its_file_and_line(seed_build: Path):
    rows = [r for r in _ask(seed_build, "Barriers to AI Adoption") if r["evidence"] == "row" and "/signal/" in r["node"]]
    lines = SEED.read_text(encoding="utf-8").splitlines()
    signals = lines.index("## Signals")
    line = next(i for i, text in enumerate(lines[signals:], signals + 1) if text.startswith("| Barriers to AI Adoption"))
    assert [(r["file"], r["line"], r["text"]) for r in rows] == [(SEED.name, line, "Barriers to AI Adoption")]
    assert rows[0]["sha256"] == _sha256(SEED)


@pytest.mark.shared
def test_seed_entity_found_by_iri_too(seed_build: Path):
    by_label = _ask(seed_build, "HM Treasury")
    by_iri = _ask(seed_build, "<https://w3id.org/foresight-kg/id/organization/hm-treasury>")
    key = ("evidence", "section", "start", "end", "text")
    assert [tuple(r[k] for k in key) for r in by_iri] == [tuple(r[k] for k in key) for r in by_label]
