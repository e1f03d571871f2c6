"""Incremental builds: a second build into the same folder reuses the cache for unchanged
inputs and gives the same bytes (graph.ttl) and the same statements (store) as a clean build."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline import build
from kg.rdf.store import NON_DATA_GRAPHS
from kg.settings import Settings

from conftest import EXAMPLES

FAST = Settings(write_html=False, validate=False)
ADDED = """# __Photonic Mesh Routers Reach City Networks__, (from page [20240301](https://example.org/p/20240301).)

__[External link](https://example.org/photonic)__

## Keywords

* photonic networking

## Themes

* telecommunications

## Summary

Operators in three cities replaced copper exchange gear with optical meshes.

## Technologies

| name | description | relevancy |
| --- | --- | --- |
| Photonic Mesh Routers | Routers that switch light paths without converting to electrical signals. | 4 |
"""


def corpus(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name / "corpus"
    shutil.copytree(EXAMPLES, folder)
    return folder


def data_quads(store_dir: Path) -> set[str]:
    store = ox.Store.read_only(str(store_dir))
    skip = {ox.NamedNode(g) for g in NON_DATA_GRAPHS}
    return {str(q) for q in store.quads_for_pattern(None, None, None) if q.graph_name not in skip}


def reused(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())["reused"]


def assert_same_as_clean(tmp_path: Path, folder: Path, out: Path) -> None:
    clean = tmp_path / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    build([folder], clean, Settings(write_html=False, validate=False, cache=False))
    assert (out / "graph.ttl").read_bytes() == (clean / "graph.ttl").read_bytes()
    assert data_quads(out / "store") == data_quads(clean / "store")
    assert (out / "merges.csv").read_bytes() == (clean / "merges.csv").read_bytes()
    report, clean_report = (json.loads((o / "report.json").read_text()) for o in (out, clean))
    for field in ("triples", "nodes", "nodes_by_class", "documents", "records"):
        assert report[field] == clean_report[field], field


@pytest.mark.slow
def test_add_change_and_delete_match_a_clean_build(tmp_path):
    """Each of the three edits re-reads one file and leaves outputs equal to a clean build's."""
    folder = corpus(tmp_path, "inc")
    out = tmp_path / "out"
    files = sorted(folder.glob("*.md"))
    held_back = files[0].read_bytes()
    files[0].unlink()
    build([folder], out, FAST)
    assert reused(out)["parsed"] == {"reused": 0, "made": len(files) - 1}

    files[0].write_bytes(held_back)  # add
    build([folder], out, FAST)
    assert reused(out)["parsed"] == {"reused": len(files) - 1, "made": 1}
    assert_same_as_clean(tmp_path, folder, out)

    text = files[1].read_text(encoding="utf-8")
    files[1].write_text(text.replace("## Summary\n\n", "## Summary\n\nThe Cabinet Office and HM Treasury reviewed it. ", 1),
                        encoding="utf-8")  # change
    build([folder], out, FAST)
    parsed, scans = reused(out)["parsed"], reused(out)["scans"]
    assert parsed == {"reused": len(files) - 1, "made": 1}
    assert 0 < scans["made"] < scans["reused"] / 5
    # The changed document's graph is made again; unchanged ones are taken from the cache.
    parts = reused(out)["parts"]
    assert parts["made"] >= 1 and parts["reused"] >= 1
    assert_same_as_clean(tmp_path, folder, out)

    files[2].unlink()  # delete
    build([folder], out, FAST)
    assert reused(out)["parsed"] == {"reused": len(files) - 1, "made": 0}
    assert_same_as_clean(tmp_path, folder, out)


@pytest.mark.slow
def test_a_new_table_name_is_found_in_old_unchanged_text(tmp_path):
    """A technology named in a new document's table is found in an unchanged document's
    summary, as a clean build finds it, though that summary's scan was cached."""
    folder = corpus(tmp_path, "terms")
    target = sorted(folder.glob("*.md"))[0]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("## Summary\n\n", "## Summary\n\nPilots of photonic mesh routers began. ", 1), encoding="utf-8")
    out = tmp_path / "out"
    build([folder], out, FAST)
    assert "Photonic Mesh Routers" not in (out / "graph.ttl").read_text(encoding="utf-8")

    (folder / "added.md").write_text(ADDED, encoding="utf-8")
    build([folder], out, FAST)
    store = ox.Store.read_only(str(out / "store"))
    found = store.query(
        'PREFIX oa: <http://www.w3.org/ns/oa#> SELECT ?exact WHERE { GRAPH ?g { ?m oa:hasTarget/oa:hasSelector/oa:exact ?exact } '
        'FILTER(LCASE(STR(?exact)) = "photonic mesh routers") }')
    assert len(list(found)) >= 2, "the old summary's mention and the new table's name"
    assert_same_as_clean(tmp_path, folder, out)


def test_clean_ignores_the_cache_and_a_damaged_cache_is_rebuilt(tmp_path):
    folder = corpus(tmp_path, "clean")
    out = tmp_path / "out"
    build([folder], out, FAST)
    first = (out / "graph.ttl").read_bytes()
    build([folder], out, Settings(write_html=False, validate=False, clean=True))
    assert reused(out)["parsed"]["reused"] == 0 and reused(out)["scans"]["reused"] == 0
    (out / "cache.sqlite").write_bytes(b"not a database" * 100)
    for stray in out.glob("cache.sqlite-*"):
        stray.unlink()
    build([folder], out, FAST)
    assert reused(out)["parsed"]["reused"] == 0
    assert (out / "graph.ttl").read_bytes() == first


def test_a_store_the_cache_does_not_describe_is_rebuilt_whole(tmp_path):
    """A store swapped in by another build (or one whose cache was lost) is not patched."""
    folder = corpus(tmp_path, "stamp")
    out, other = tmp_path / "out", tmp_path / "other"
    build([folder], out, FAST)
    files = sorted(folder.glob("*.md"))
    files[0].unlink()
    build([folder], other, FAST)
    shutil.rmtree(out / "store")
    shutil.copytree(other / "store", out / "store")
    files[1].unlink()
    build([folder], out, FAST)
    assert_same_as_clean(tmp_path, folder, out)


def output_stamps(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_nothing_is_built_until_an_input_a_setting_the_code_or_an_output_changes(tmp_path, monkeypatch):
    """A second build with nothing changed writes nothing and returns the last report; each
    kind of change makes the next build run, after which nothing is to be done again."""
    import kg.pipeline

    folder = corpus(tmp_path, "same")
    out = tmp_path / "out"
    first = build([folder], out, FAST)
    assert not first.up_to_date
    before = output_stamps(out)

    again = build([folder], out, replace(FAST, jobs=2))  # how a build runs is not what it makes
    assert again.up_to_date and again == first and again.timings == first.timings
    assert output_stamps(out) == before, "nothing is written, not even the report or the cache"

    files = sorted(folder.glob("*.md"))
    fingerprint = kg.pipeline.pipeline_fingerprint

    def edit_input():
        files[1].write_text(files[1].read_text(encoding="utf-8").replace("## Summary\n\n", "## Summary\n\nHM Treasury agreed. ", 1),
                            encoding="utf-8")

    def rewrite_output():  # the same bytes, written again: not known to be the file the build wrote
        (out / "graph.ttl").write_bytes((out / "graph.ttl").read_bytes())

    def replace_store():
        shutil.copytree(out / "store", tmp_path / "store")
        shutil.rmtree(out / "store")
        (tmp_path / "store").rename(out / "store")

    changes = {
        "an input": (edit_input, FAST),
        "an input added": (lambda: (folder / "added.md").write_text(ADDED, encoding="utf-8"), FAST),
        "a setting": (lambda: None, replace(FAST, barrier_coverage=0.5)),
        "the code": (lambda: monkeypatch.setattr(kg.pipeline, "pipeline_fingerprint", lambda extra: fingerprint(extra) + "x"), FAST),
        "an output deleted": (lambda: (out / "merges.csv").unlink(), FAST),
        "an output rewritten": (rewrite_output, FAST),
        "the store replaced": (replace_store, FAST),
        "--clean": (lambda: None, replace(FAST, clean=True)),
    }
    for change, (make, settings) in changes.items():
        make()
        built = build([folder], out, settings)
        assert not built.up_to_date, change
        assert (out / "merges.csv").is_file()
        assert build([folder], out, replace(settings, clean=False)).up_to_date, change
    assert_same_as_clean(tmp_path, folder, out)


@pytest.mark.parametrize("damage", ["delete", "rewrite", "stray"])
def test_a_segments_file_the_cache_does_not_describe_is_not_reused(tmp_path, damage):
    """Document graphs are taken from ``cache.nq`` only while it is the file the cache wrote."""
    folder = corpus(tmp_path, damage)
    out = tmp_path / "out"
    build([folder], out, FAST)
    (out / "merges.csv").unlink()  # an output lost: built again, every document's graph from the cache
    build([folder], out, FAST)
    assert reused(out)["parts"]["made"] == 0 and reused(out)["parts"]["reused"] > 0
    segments = out / "cache.nq"
    if damage == "delete":
        segments.unlink()
    elif damage == "rewrite":  # same length, other bytes
        data = bytearray(segments.read_bytes())
        data[: len(data) // 2] = b"#" * (len(data) // 2)
        segments.write_bytes(bytes(data))
    else:  # a crashed build's half-written spool, beside an intact file
        (out / ".cache.nq.abc.tmp").write_bytes(b"partial")
    files = sorted(folder.glob("*.md"))
    files[1].write_text(files[1].read_text(encoding="utf-8").replace("## Summary\n\n", "## Summary\n\nHM Treasury agreed. ", 1),
                        encoding="utf-8")
    build([folder], out, FAST)
    parts = reused(out)["parts"]
    assert parts["reused"] == (0 if damage != "stray" else parts["reused"]) and parts["made"] >= 1
    assert not list(out.glob(".cache.nq.*.tmp"))
    assert_same_as_clean(tmp_path, folder, out)


@pytest.mark.parametrize("damage", [None, "delete", "rewrite", "touch"])
def test_turtle_is_copied_from_the_last_graph_ttl_only_while_it_is_the_file_the_cache_wrote(tmp_path, monkeypatch, damage):
    import kg.rdf.write

    folder = corpus(tmp_path, str(damage))
    out = tmp_path / "out"
    build([folder], out, FAST)
    turtle = out / "graph.ttl"
    if damage == "delete":
        turtle.unlink()
    elif damage == "rewrite":  # same length, other bytes
        data = turtle.read_bytes()
        turtle.write_bytes(data.replace(b"fs:", b"xy:"))
    elif damage == "touch":  # the same bytes, written again
        turtle.write_bytes(turtle.read_bytes())
    files = sorted(folder.glob("*.md"))
    files[1].write_text(files[1].read_text(encoding="utf-8").replace("## Summary\n\n", "## Summary\n\nHM Treasury agreed. ", 1),
                        encoding="utf-8")
    made = []
    serialise = kg.rdf.write.turtle_body
    monkeypatch.setattr(kg.rdf.write, "turtle_body", lambda name, data: made.append(name) or serialise(name, data))
    build([folder], out, FAST)
    monkeypatch.undo()
    segments = json.loads((out / "report.json").read_text())["documents"]
    # Unchanged graphs are copied only from the file the cache describes; the others are made.
    assert (len(made) < segments / 2) if damage is None else (len(made) > segments)
    assert_same_as_clean(tmp_path, folder, out)


def test_the_view_reads_only_changed_segments_and_draws_the_same_page(tmp_path, monkeypatch):
    """``graph.html`` after a change equals a clean build's, reading the changed segments only."""
    import kg.analysis

    folder = corpus(tmp_path, "view")
    out, clean = tmp_path / "out", tmp_path / "clean"
    with_html = Settings(validate=False)
    build([folder], out, with_html)
    assert (out / "cache.view").is_file()
    files = sorted(folder.glob("*.md"))
    files[1].write_text(files[1].read_text(encoding="utf-8").replace("## Summary\n\n", "## Summary\n\nDSIT agreed. ", 1),
                        encoding="utf-8")
    build([folder], out, with_html)
    build([folder], clean, Settings(validate=False, cache=False))
    assert (out / "graph.html").read_bytes() == (clean / "graph.html").read_bytes()
    # The build draws the view in a forked child; what it reads is counted here, on direct calls.
    read: list[int] = []
    real = kg.analysis._text_terms

    def counted(texts, leave_out):
        texts = list(texts)
        read.append(len(texts))
        return real(texts, leave_out)

    monkeypatch.setattr(kg.analysis, "_text_terms", counted)
    from kg.viz import write_build_view
    from kg.rdf.build import build_graph
    from kg.ingest.markdown import parse_document

    docs = [parse_document(f) for f in sorted(folder.glob("*.md"))]
    graph = build_graph([d.doc for d in docs], [r for d in docs for r in d.records])
    cache_file, page = tmp_path / "terms.view", tmp_path / "page.html"
    read.clear()
    write_build_view(graph, page, reuse=cache_file, version="v1")
    assert sum(read) == len(graph.segments)
    first = page.read_bytes()
    read.clear()
    write_build_view(graph, page, reuse=cache_file, version="v1")
    assert sum(read) == 0 and page.read_bytes() == first
    write_build_view(graph, page, reuse=cache_file, version="v2")
    assert sum(read) == len(graph.segments), "another version of the code reads everything again"
    (cache_file).write_bytes(b"damaged")
    read.clear()
    write_build_view(graph, page, reuse=cache_file, version="v2")
    assert sum(read) == len(graph.segments) and page.read_bytes() == first


@pytest.mark.parametrize("asked", [1, 30])
def test_the_cache_finds_what_is_asked_by_key_or_in_one_pass_and_keeps_only_what_a_build_used(tmp_path, asked):
    """A few keys are looked up one by one, most of the table in one pass (``asked`` of 40);
    either way the same entries come back, and ``commit`` drops the ones this build neither
    read nor wrote."""
    from kg.cache import BuildCache

    first = BuildCache.open(tmp_path, "v1")
    first.put_scans((f"k{i}", ([(i, "x")], [], [])) for i in range(40))
    first.commit()
    first.close()

    second = BuildCache.open(tmp_path, "v1")
    keys = [f"k{i}" for i in range(asked)] + ["absent"]
    found = second.get_scans(keys)
    assert found == {f"k{i}": ([(i, "x")], [], []) for i in range(asked)}
    assert (second.hits["scans"], second.misses["scans"]) == (asked, 1)
    second.put_scans([("new", ([], [], []))])
    second.commit()
    second.close()

    third = BuildCache.open(tmp_path, "v1")
    assert set(third.get_scans([f"k{i}" for i in range(40)] + ["new"])) == {f"k{i}" for i in range(asked)} | {"new"}
    third.close()
