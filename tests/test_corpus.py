"""The real corpus under ../shared/: every document builds, every distinct row is one node."""

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import rdflib

from kg.namespaces import FS, RDF
from kg.pipeline import build
from kg.settings import Settings

pytestmark = pytest.mark.shared

ROW_CLASSES = (FS.Signal, FS.Concern, FS.Behavior, FS.Technology, FS.Issue)
TABLE_SECTIONS = {"signals", "concerns", "behaviors", "technologies", "issues"}


def distinct_rows_by_line_scan(path: Path) -> int:
    """An oracle independent of the parser: table lines under record sections, cells whitespace-folded."""
    section, header_seen, rows = None, False, set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section, header_seen = line[3:].strip().lower(), False
            continue
        if section not in TABLE_SECTIONS or not line.startswith("|"):
            continue
        if not header_seen:
            header_seen = True
            continue
        if re.fullmatch(r"\|[\s:|-]+\|?", line.strip()):
            continue
        cells = tuple(" ".join(c.split()) for c in re.split(r"(?<!\\)\|", line.strip().strip("|")))
        if re.fullmatch(r"\d+\.0", cells[-1] or ""):
            cells = cells[:-1] + (cells[-1][:-2],)
        rows.add((section, cells))
    return len(rows)


@pytest.fixture(scope="module")
def corpus_build(shared: Path, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("corpus")
    report = build([shared / "corpus"], out, Settings(write_html=False, write_store=False))
    return out, report


def test_every_real_document_builds_without_error(corpus_build):
    _, report = corpus_build
    assert len(report.inputs) == 130
    assert report.rejected == 0, [str(p) for i in report.inputs for p in i.problems if p.severity == "error"]
    assert report.documents >= 130


def test_row_nodes_per_document_equal_distinct_rows(corpus_build, shared: Path):
    out, _ = corpus_build
    g = rdflib.Graph().parse(out / "graph.ttl")
    per_doc: Counter[str] = Counter()
    for cls in ROW_CLASSES:
        for node in g.subjects(RDF.type, cls):
            per_doc[str(g.value(node, FS.documentId) or g.value(g.value(node, FS.document), FS.documentId))] += 1
    mismatches = {}
    for path in sorted((shared / "corpus").rglob("*.md")):
        expected = distinct_rows_by_line_scan(path)
        if per_doc[path.stem] != expected:
            mismatches[path.name] = (per_doc[path.stem], expected)
    assert not mismatches


def test_legacy_and_current_documents_both_present(corpus_build):
    out, _ = corpus_build
    g = rdflib.Graph().parse(out / "graph.ttl")
    formats = Counter(str(o) for o in g.objects(None, FS.sourceFormat))
    assert formats["legacy"] >= 40 and formats["current"] >= 70
