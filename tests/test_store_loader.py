"""The store a build loads in another process (``StoreLoader``) holds exactly the statements
``write_store`` writes in this one; a loader that fails or dies falls back to ``write_store``."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pyoxigraph as ox
import pytest

import kg.pipeline
from kg.pipeline import build
from kg.rdf.store import NON_DATA_GRAPHS, ONTOLOGY_GRAPH, StoreLoader
from kg.settings import Settings

from conftest import EXAMPLES

FAST = Settings(write_html=False, validate=False)


def _statements(out: Path) -> tuple[set[str], int]:
    """The data statements, and how many the ontology graph holds (its blank nodes are
    named afresh on every load)."""
    store = ox.Store.read_only(str(out / "store"))
    data = {str(q) for q in store.quads_for_pattern(None, None, None) if q.graph_name.value not in NON_DATA_GRAPHS}
    return data, len(list(store.quads_for_pattern(None, None, None, ox.NamedNode(ONTOLOGY_GRAPH))))


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> tuple[set[str], int]:
    """The examples' store written by ``write_store`` in the build's own process."""
    out = tmp_path_factory.mktemp("in-process")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kg.pipeline, "can_patch", lambda path, before: True)  # never the loader
        build([EXAMPLES], out, FAST)
    return _statements(out)


def test_the_loaded_store_equals_the_one_written_in_process(tmp_path, in_process):
    out = tmp_path / "out"
    build([EXAMPLES], out, FAST)
    loaded = _statements(out)
    assert len(loaded[0]) > 1000 and loaded[1] > 100
    assert loaded == in_process
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_a_fresh_build_does_not_fall_back(tmp_path, monkeypatch):
    def in_process(*args, **kwargs):
        raise AssertionError("the store was written in process: the loader failed")

    monkeypatch.setattr(kg.pipeline, "write_store", in_process)
    build([EXAMPLES], tmp_path / "out", FAST)
    assert (tmp_path / "out" / "store").is_dir()


def test_a_failing_writer_falls_back_to_writing_in_process(tmp_path, in_process, monkeypatch):
    def broken(self, chunks, first_file):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(StoreLoader, "_write", broken)
    out = tmp_path / "out"
    build([EXAMPLES], out, FAST)
    assert _statements(out) == in_process
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_killed_loader_falls_back_to_writing_in_process(tmp_path, in_process, monkeypatch):
    real_init = StoreLoader.__init__

    def start_then_kill(self, path):
        real_init(self, path)
        os.kill(self._loader.pid, signal.SIGKILL)
        self._loader.wait()

    monkeypatch.setattr(StoreLoader, "__init__", start_then_kill)
    out = tmp_path / "out"
    build([EXAMPLES], out, FAST)
    assert _statements(out) == in_process
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_an_abandoned_loader_leaves_nothing(tmp_path):
    loader = StoreLoader(tmp_path / "store")
    loader.fork_writer(lambda: iter([b"<urn:a> <urn:b> <urn:c> .\n"] * 3))
    loader.abandon()
    assert list(tmp_path.iterdir()) == []


def test_the_graph_appends_links_to_the_first_writers_graph_and_gives_the_same_bytes(tmp_path, monkeypatch):
    """With a loader, the build's graph takes the documents' and rows' statements from the
    store's first writer and appends the links: the same bytes as making them itself."""
    import kg.rdf.build

    made_here: list[str] = []
    real = kg.rdf.build._document_lines
    monkeypatch.setattr(kg.rdf.build, "_document_lines", lambda doc, *rest: (made_here.append(doc.doc_id), real(doc, *rest))[1])
    with_loader, without = tmp_path / "loader", tmp_path / "in-process"
    build([EXAMPLES], with_loader, FAST)
    assert made_here == [], "this process made document statements the first writer had made"
    with monkeypatch.context() as patch:
        patch.setattr(kg.pipeline, "can_patch", lambda path, before: True)  # no loader, no first writer
        build([EXAMPLES], without, FAST)
    assert made_here, "the in-process build makes them itself"
    assert (with_loader / "graph.ttl").read_bytes() == (without / "graph.ttl").read_bytes()
    assert (with_loader / "cache.nq").read_bytes() == (without / "cache.nq").read_bytes()
    reports = [json.loads((o / "report.json").read_text()) for o in (with_loader, without)]
    assert [(r["triples"], r["nodes_by_class"]) for r in reports][0] == [(r["triples"], r["nodes_by_class"]) for r in reports][1]
