"""Parsed documents and rows → RDF statements as N-Quads text (the fast path).

Each document's facts go to its own named graph (``fsid:graph/doc/<id>``); concepts shared by
documents (keywords, themes, categories, types, driving forces, stubs of cited documents) go
to the vocabulary graph. Statements come out grouped by subject in a fixed order, so the same
input always serialises to the same bytes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg.iri import concept_iri, document_iri, graph_iri, mint_segment, record_iri, short_hash
from kg.namespaces import DCTERMS, FS, RDF, RDFS, SKOS
from kg.rdf.nq import date_lit, encoded, int_lit, iri, lit, term
from kg.text import normalize_label
from kg.cache import chunks_key
from kg.rdf.links import type_counts
from kg.types import BuiltGraph, GraphPart, Record, RecordKind, Segments, SourceDoc, Statements

__all__ = ["RECORD_CLASSES", "VOCABULARY_GRAPH", "assign_record_iris", "build_graph", "distinct_records", "safe_iri"]

RECORD_CLASSES = {
    RecordKind.SIGNAL: FS.Signal,
    RecordKind.CONCERN: FS.Concern,
    RecordKind.BEHAVIOR: FS.Behavior,
    RecordKind.TECHNOLOGY: FS.Technology,
    RecordKind.ISSUE: FS.Issue,
}
_KIND_ORDER = {kind: i for i, kind in enumerate(RecordKind)}
VOCABULARY_GRAPH = graph_iri("vocabulary")
# rdflib builds a new URIRef on every attribute access of its namespaces: hot loops use these.
_TYPE, _LABEL = term(RDF.type), term(RDFS.label)
_PREF_LABEL, _ALT_LABEL, _IN_SCHEME = term(SKOS.prefLabel), term(SKOS.altLabel), term(SKOS.inScheme)


@dataclass
class _Concepts:
    """Shared concepts of one scheme: normalised label → surface forms seen."""

    scheme: str
    scheme_term: object
    cls: object = SKOS.Concept
    forms: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    # Where the graph being made notes the concepts it names (see ``GraphPart.concepts``).
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, label: str) -> str | None:
        norm = normalize_label(label)
        if not norm:
            return None
        self.forms[norm][label] += 1
        self.log.append((self.scheme, norm, label))
        return iri(concept_iri(self.scheme, norm))

    def lines(self, graph: str) -> Iterable[str]:
        scheme = term(self.scheme_term)
        for norm in sorted(self.forms, key=lambda n: concept_iri(self.scheme, n)):
            counts = self.forms[norm]
            # The most used surface form wins; ties go to the alphabetically first, for stability.
            ranked = sorted(counts, key=lambda form: (-counts[form], form))
            node = iri(concept_iri(self.scheme, norm))
            yield f"{node} {_TYPE} {term(self.cls)} {graph} .\n"
            yield f"{node} {_LABEL} {lit(ranked[0])} {graph} .\n"
            yield f"{node} {_PREF_LABEL} {lit(ranked[0])} {graph} .\n"
            for alt in ranked[1:]:
                yield f"{node} {_ALT_LABEL} {lit(alt)} {graph} .\n"
            yield f"{node} {_IN_SCHEME} {scheme} {graph} .\n"


def distinct_records(records: Iterable[Record]) -> list[Record]:
    """Drop repeated rows: the same cells in the same document's table are one row.

    The first occurrence (in the order given) is kept, so its file and line are the ones
    reported.
    """
    seen: set[tuple] = set()
    kept: list[Record] = []
    for record in records:
        key = record.content_key()
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return kept


def assign_record_iris(records: Sequence[Record]) -> dict[tuple, str]:
    """Mint each distinct row's IRI: document + kind + slug of its label.

    Rows of one table whose labels share a slug all get a hash of their cells appended, so no
    IRI depends on the order the rows came in.
    """
    by_slot: dict[tuple[str, RecordKind, str], list[Record]] = defaultdict(list)
    for record in records:
        by_slot[(record.doc_id, record.kind, mint_segment(record.label))].append(record)
    iris: dict[tuple, str] = {}
    for (doc_id, kind, segment), group in by_slot.items():
        for record in group:
            key = record.content_key()
            seg = segment if len(group) == 1 else f"{segment}_r{short_hash(repr(key), 8)}"
            iris[key] = record_iri(doc_id, kind.value, seg)
    return iris


def build_graph(
    docs: Sequence[SourceDoc],
    records: Sequence[Record],
    iris: Mapping[tuple, str] | None = None,
    links: Statements = Statements(),
    reuse: Mapping[str, tuple[GraphPart, Callable[[], bytes]]] | None = None,
    spool: Path | None = None,
    base: Mapping[str, tuple[GraphPart, Callable[[], bytes]]] | None = None,
) -> BuiltGraph:
    """Build the RDF graph of a corpus.

    Args:
        docs: one ``SourceDoc`` per document id (tabular-only documents included).
        records: every row; repeated rows are merged (see ``distinct_records``).
        iris: the rows' IRIs when the caller already minted them (``assign_record_iris``).
        links: statements for entities, mentions and links (``kg.rdf.links.link_quads``), appended.
        reuse: document graphs made by an earlier build from the same inputs (see
            ``kg.rdf.links.part_keys``): graph IRI → its part and a function reading its N-Quads.
            They are taken as they are; ``links`` need not hold their lines.
        spool: where the segments are written (see ``Segments``), for the caller to keep.
        base: document graphs made earlier from the same documents and rows without ``links``
            (a ``build_graph`` without them): graph IRI → its part and a function reading its
            N-Quads. Their links are appended rather than the graph made again. No link
            statement can repeat one of them: those are about the documents and rows
            themselves, with predicates no link uses, or about nodes only links make.

    Returns:
        The statements as N-Quads, grouped by subject in a stable order, and typed-node counts.
    """
    segments = Segments(spool=spool)
    try:
        return _fill(segments, docs, records, iris, links, reuse or {}, base or {})
    except BaseException:
        segments.discard()  # half a spool file is of no use, and may be most of a gigabyte
        raise


def _fill(segments: Segments, docs: Sequence[SourceDoc], records: Sequence[Record], iris: Mapping[tuple, str] | None,
          links: Statements, reuse: Mapping[str, tuple[GraphPart, Callable[[], bytes]]],
          base: Mapping[str, tuple[GraphPart, Callable[[], bytes]]]) -> BuiltGraph:
    rows = distinct_records(records)
    if iris is None:
        iris = assign_record_iris(rows)
    rows.sort(key=lambda r: (r.doc_id, _KIND_ORDER[r.kind], iris[r.content_key()]))
    rows_by_doc: dict[str, list[Record]] = defaultdict(list)
    for record in rows:
        rows_by_doc[record.doc_id].append(record)

    keywords = _Concepts("keyword", FS.Keywords)
    themes = _Concepts("theme", FS.Themes)
    categories = _Concepts("category", FS.Categories)
    doc_types = _Concepts("document-type", FS.DocumentTypes)
    forces = _Concepts("driving-force", FS.DrivingForces, FS.DrivingForce)
    schemes = {c.scheme: c for c in (keywords, themes, categories, doc_types, forces)}
    known = {doc.doc_id for doc in docs}
    cited: dict[str, str] = {}
    counts: Counter[str] = Counter()

    link_lines = dict(links.graphs)
    hashes, parts, triples, shared = [], [], 0, set()
    own = {graph_iri(f"doc/{doc.doc_id}"): f"<{document_iri(doc.doc_id)}" for doc in docs}

    def add(name: str, data: bytes | list[bytes], part: GraphPart) -> None:
        nonlocal triples
        segments.append(name, data)
        hashes.append((name, part.hash))
        counts.update(dict(part.counts))
        triples += part.triples
        for triple in part.shared:
            if triple in shared:
                triples -= 1
            else:
                shared.add(triple)

    def named(part: GraphPart) -> None:
        """The concepts a graph made before names count as if it were made here."""
        for scheme, norm, label in part.concepts:
            schemes[scheme].forms[norm][label] += 1

    def make(name: str, lines: list[str], made: Counter[str], concepts: tuple = (), head: tuple | None = None) -> None:
        extra = link_lines.pop(name, ())
        made.update(type_counts(extra))
        lines.extend(extra)
        # A statement made twice (a row repeated, a concept named by two rows) is written once.
        unique = list(dict.fromkeys(lines))
        # Encoded in chunks: one document of 10 MB makes a million lines.
        chunks = list(encoded(unique))
        # A document graph's statements about its own nodes are its alone; any other (two
        # entities associated in several documents) may recur in another graph.
        prefix, cut = own.get(name), len(name) + 6  # " <graph> .\n"
        foreign = tuple(line[:-cut] for line in unique if prefix is None or not line.startswith(prefix))
        triples = len(unique)
        if head is not None:
            # The document's own statements, made before; none is a link's (see ``base``).
            first, data = head
            chunks.insert(0, data)
            triples, foreign = first.triples + triples, first.shared + foreign
        part = GraphPart(name, chunks_key(chunks), triples, foreign, tuple(sorted(made.items())), concepts)
        add(name, chunks, part)
        parts.append(part)

    # One graph at a time, encoded as soon as it is complete, in IRI order; the vocabulary
    # ("…/graph/vocabulary") sorts after every "…/graph/doc/…".
    by_name = {graph_iri(f"doc/{doc.doc_id}"): doc for doc in docs}
    for name in sorted(by_name.keys() | (link_lines.keys() - {VOCABULARY_GRAPH}) | reuse.keys()):
        doc, lines, made = by_name.get(name), [], Counter()
        if doc is not None:
            _note_cited(doc, known, cited)
        if name in reuse and name not in link_lines:
            part, read = reuse[name]
            named(part)
            add(name, read(), part)
            parts.append(part)
            continue
        if name in base:
            part, read = base[name]
            named(part)
            make(name, lines, Counter(dict(part.counts)), part.concepts, (part, read()))
            continue
        log: list[tuple[str, str, str]] = []
        if doc is not None:
            for concepts in schemes.values():
                concepts.log = log
            graph = iri(name)
            lines.extend(_document_lines(doc, graph, keywords, themes, categories, doc_types))
            made["Document"] += 1
            for record in rows_by_doc.get(doc.doc_id, ()):
                lines.extend(_record_lines(record, iri(iris[record.content_key()]), graph, forces))
                made[str(RECORD_CLASSES[record.kind]).rsplit("#", 1)[1]] += 1
        make(name, lines, made, tuple(log))

    vocab, lines, made = iri(VOCABULARY_GRAPH), [], Counter()
    for concepts in (keywords, themes, categories, doc_types, forces):
        lines.extend(concepts.lines(vocab))
        key = "DrivingForce" if concepts is forces else "Concept"
        made[key] += len(concepts.forms)
    for doc_id in sorted(cited):
        node = iri(document_iri(doc_id))
        lines.append(f"{node} {_TYPE} {term(FS.Document)} {vocab} .\n")
        lines.append(f"{node} {_LABEL} {lit(cited[doc_id])} {vocab} .\n")
        lines.append(f"{node} {term(FS.documentId)} {lit(doc_id)} {vocab} .\n")
        made["Document"] += 1
    make(VOCABULARY_GRAPH, lines, made)
    return BuiltGraph(segments=segments, node_counts=tuple(sorted(counts.items())), triples=triples,
                      hashes=tuple(hashes), parts=tuple(p for p in parts if p.name in by_name))


def _note_cited(doc: SourceDoc, known: set[str], cited: dict[str, str]) -> None:
    """Documents that ``doc``'s Closest section cites but the corpus does not hold: described
    in the vocabulary graph, by the title the first citation gives."""
    for link in doc.closest:
        if link.doc_id not in known and link.doc_id != doc.doc_id:
            cited.setdefault(link.doc_id, link.title or f"Document {link.doc_id}")


def _document_lines(
    doc: SourceDoc,
    graph: str,
    keywords: _Concepts,
    themes: _Concepts,
    categories: _Concepts,
    doc_types: _Concepts,
) -> Iterable[str]:
    node = iri(document_iri(doc.doc_id))

    def q(pred, obj: str) -> str:
        return f"{node} {term(pred)} {obj} {graph} .\n"

    yield q(RDF.type, term(FS.Document))
    yield q(RDFS.label, lit(doc.title or f"Document {doc.doc_id}"))
    if doc.title:
        yield q(DCTERMS.title, lit(doc.title))
    yield q(FS.documentId, lit(doc.doc_id))
    yield q(FS.sourceFormat, lit(doc.format))
    if doc.file:
        yield q(FS.sourceFile, lit(doc.file))
    if doc.newsletter_issue:
        yield q(FS.newsletterIssue, lit(doc.newsletter_issue))
    if doc.newsletter_date:
        yield q(FS.newsletterDate, date_lit(doc.newsletter_date.isoformat()))
    for pred, url in ((FS.newsletterPage, doc.newsletter_url), (FS.sourceLink, doc.external_link)):
        checked = safe_iri(url)
        if checked:
            yield q(pred, iri(checked))
    if doc.summary:
        yield q(FS.summary, lit(doc.summary))
    if doc.language:
        yield q(DCTERMS.language, lit(doc.language))
    for pred, concepts, labels in (
        (FS.keyword, keywords, doc.keywords),
        (FS.theme, themes, doc.themes),
        (FS.category, categories, (doc.category,) if doc.category else ()),
        (FS.documentType, doc_types, (doc.doc_type,) if doc.doc_type else ()),
    ):
        targets = {c for c in (concepts.add(label) for label in labels) if c is not None}
        for target in sorted(targets):
            yield q(pred, target)
    related = sorted({link.doc_id for link in doc.closest if link.doc_id != doc.doc_id})
    for doc_id in related:
        yield q(FS.relatedDocument, iri(document_iri(doc_id)))


def _record_lines(record: Record, node: str, graph: str, forces: _Concepts) -> Iterable[str]:
    def q(pred, obj: str) -> str:
        return f"{node} {term(pred)} {obj} {graph} .\n"

    yield q(RDF.type, term(RECORD_CLASSES[record.kind]))
    yield q(RDFS.label, lit(record.label))
    yield q(FS.document, iri(document_iri(record.doc_id)))
    for pred, value in (
        (FS.description, record.description),
        (FS.change, record.change),
        (FS.tenYearOutlook, record.ten_year),
    ):
        if value:
            yield q(pred, lit(value))
    if record.driving_force:
        force = forces.add(record.driving_force)
        if force is not None:
            yield q(FS.drivingForce, force)
    if record.relevancy is not None:
        yield q(FS.relevancy, int_lit(record.relevancy))
    if record.source_id:
        yield q(FS.sourceId, lit(record.source_id))
    for head, value in record.other:
        yield q(FS.otherCell, lit(f"{head}: {value}"))
    yield q(FS.sourceFile, lit(record.file))
    yield q(FS.sourceLine, int_lit(record.line))


def safe_iri(url: str | None) -> str | None:
    """``url`` when it is an absolute IRI every RDF parser accepts, else ``None``.

    >>> safe_iri("https://example.org/a b") is None
    True
    >>> safe_iri("https://example.org/a%20b")
    'https://example.org/a%20b'
    """
    if not url:
        return None
    url = url.strip()
    if not url or any(c in url for c in ' <>"{}|\\^`') or any(ord(c) < 0x21 for c in url):
        return None
    scheme, sep, _ = url.partition(":")
    if not sep or not scheme or not scheme[0].isalpha() or not all(c.isalnum() or c in "+-." for c in scheme):
        return None
    try:
        ox.NamedNode(url)
    except ValueError:
        return None
    return url
