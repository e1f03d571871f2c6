"""The values passed between pipeline stages. All are frozen; stages never mutate their input.

Flow::

    Path ─parse─▶ ParsedDoc(SourceDoc, Record…) ─extract─▶ Mention… ─resolve─▶ Entity…, Relation…
         ─build─▶ BuiltGraph ─validate─▶ ValidationReport ─▶ files, views, query rows
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter

from kg.fsutil import naming, open_beside, replace_with

__all__ = [
    "BuildReport",
    "BuiltGraph",
    "ClosestLink",
    "Entity",
    "EntityKind",
    "GraphPart",
    "InputOutcome",
    "Mention",
    "ParsedDoc",
    "Problem",
    "Record",
    "RecordKind",
    "Relation",
    "SourceDoc",
    "TextUnit",
    "ValidationReport",
    "ValidationResult",
]


class RecordKind(StrEnum):
    """The five tables a document can carry; the value is the IRI path segment."""

    SIGNAL = "signal"
    CONCERN = "concern"
    BEHAVIOR = "behavior"
    TECHNOLOGY = "technology"
    ISSUE = "issue"


class EntityKind(StrEnum):
    """Kinds of entity found in text and linked across documents."""

    ORGANIZATION = "organization"
    GOVERNMENT_BODY = "government-body"
    TECHNOLOGY = "technology"
    BARRIER = "barrier"
    BEHAVIOR = "behavior"
    DRIVING_FORCE = "driving-force"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one input, reported instead of raised.

    Attributes:
        file: the input file as the user named it.
        line: 1-based line, or ``None`` when the problem concerns the whole file.
        message: what is wrong, naming the offending value.
        severity: ``"error"`` (the input was rejected) or ``"warning"`` (it was used, with a repair
            or an omission the message describes).
    """

    file: str
    line: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True, slots=True)
class ClosestLink:
    """A `## Closest` entry: another document by id.

    Attributes:
        title: the link text.
        doc_id: the target document's id.
        line: the line of the entry.
    """

    title: str
    doc_id: str
    line: int


@dataclass(frozen=True, slots=True)
class SourceDoc:
    """One document's header and free-text sections.

    Attributes:
        doc_id: 32-hex source id (file stem) or a content hash.
        file: the file as given, relative to the input root.
        sha256: hash of the file's bytes.
        format: ``"current"``, ``"legacy"`` or ``"tabular"`` (known only from the tabular export).
        title: the title without markup; ``None`` for tabular-only documents.
        newsletter_issue: the title line's page id exactly as written (``"20250323d"``, ``"5117.0"``).
        newsletter_date: the date in ``newsletter_issue`` where it holds a real one.
        newsletter_url: the newsletter page link.
        external_link: the summarised source's URL.
        keywords: keyword labels, repaired and in document order.
        themes: theme labels, repaired and in document order.
        category: ``## Other`` Category value.
        doc_type: ``## Other`` Type value.
        summary: the Summary section's text.
        closest: ``## Closest`` links.
        language: ISO 639-1 code of the text's language where detected.
        line_of: 1-based lines of the title, summary, keywords and themes, by section name.
    """

    doc_id: str
    file: str
    sha256: str
    format: str
    title: str | None = None
    newsletter_issue: str | None = None
    newsletter_date: _dt.date | None = None
    newsletter_url: str | None = None
    external_link: str | None = None
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    category: str | None = None
    doc_type: str | None = None
    summary: str | None = None
    closest: tuple[ClosestLink, ...] = ()
    language: str | None = None
    line_of: tuple[tuple[str, int], ...] = ()

    def line(self, section: str) -> int | None:
        """Return the 1-based line where ``section`` starts, if known."""
        return dict(self.line_of).get(section)


@dataclass(frozen=True, slots=True)
class Record:
    """One table row, with its cells repaired and typed.

    Attributes:
        doc_id: the document the row belongs to.
        kind: which table.
        file: input file the row was read from.
        line: 1-based line in that file (row number for the tabular export).
        name, description, change, ten_year, driving_force: the cells, ``None`` when empty.
        relevancy: integer 0–5, ``None`` when empty or unusable.
        source_id: the ``src`` cell.
        other: cells under columns the ontology does not know, as (header, value).
    """

    doc_id: str
    kind: RecordKind
    file: str
    line: int
    name: str | None = None
    description: str | None = None
    change: str | None = None
    ten_year: str | None = None
    driving_force: str | None = None
    relevancy: int | None = None
    source_id: str | None = None
    other: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """The row's display label: its name, else its description cut at a word boundary."""
        if self.name:
            return self.name
        text = self.description or self.change or self.driving_force or self.ten_year or ""
        if len(text) <= 80:
            return text or f"{self.kind.value} at line {self.line}"
        cut = text[:80].rsplit(" ", 1)[0]
        return cut.rstrip(",;:.") + "…"

    def content_key(self) -> tuple:
        """The cells that make two rows the same row (everything but where it was read)."""
        return (
            self.doc_id, self.kind, self.name, self.description, self.change, self.ten_year,
            self.driving_force, self.relevancy, self.source_id, self.other,
        )

    def values(self) -> tuple:
        """Every field, in order: the constructor's arguments."""
        return _RECORD_VALUES(self)

    def __reduce__(self):
        # Pickled as its constructor's arguments: the build cache holds a corpus's rows, and
        # a slotted dataclass's default state walks ``fields()`` per row when loaded (2.4x slower).
        return (Record, _RECORD_VALUES(self))


# Read in C, not field by field in Python: rows are pickled and hashed by the hundred thousand.
_RECORD_VALUES = attrgetter(*(f.name for f in fields(Record)))


@dataclass(frozen=True, slots=True)
class ParsedDoc:
    """What ``parse_document`` returns.

    Attributes:
        doc: the header and free text.
        records: every table row, in file order (duplicates kept; the build merges them).
        problems: warnings about repairs and omissions.
    """

    doc: SourceDoc
    records: tuple[Record, ...]
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class TextUnit:
    """One piece of a document's text that extraction reads.

    Attributes:
        doc_id: the document.
        target: IRI of what holds the text: the document, or the record whose cell it is.
        section: ``"title"``, ``"summary"``, ``"keyword"``, ``"theme"`` or a record column
            (``"name"``, ``"description"``, ``"change"``, ``"ten_year"``, ``"driving_force"``).
        text: the text exactly as the graph stores it, so offsets slice the stored literal.
    """

    doc_id: str
    target: str
    section: str
    text: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A span of a document's text that names an entity.

    Attributes:
        doc_id: the document.
        target: IRI of the document or record holding the text.
        section: which text (see ``TextUnit.section``).
        start, end: character offsets into that text; ``text[start:end] == surface``.
        surface: the exact text.
        kind: what was found.
        rule: which rule or model found it (``gazetteer``, ``org-pattern``, ``acronym``,
            ``table-name``, ``barrier-cue``, ``model:<name>``).
        key: the entity key the extractor proposes: a gazetteer IRI, or a normalised name.
        sentence: the sentence around it, for evidence.
        sentence_start: offset of ``sentence`` in the same text.
    """

    doc_id: str
    target: str
    section: str
    start: int
    end: int
    surface: str
    kind: EntityKind
    rule: str
    key: str
    sentence: str = ""
    sentence_start: int = 0

    def values(self) -> tuple:
        """Every field, in order (read in C: part keys hash a corpus's mentions)."""
        return _MENTION_VALUES(self)


_MENTION_VALUES = attrgetter(*(f.name for f in fields(Mention)))


@dataclass(frozen=True, slots=True)
class Entity:
    """One real-world thing, after resolution across the corpus.

    Attributes:
        iri: its IRI (a gazetteer's, or minted from its kind and key).
        kind: its kind.
        label: preferred label.
        aliases: other labels seen in text or known from a gazetteer.
        gazetteer: whether a gazetteer describes it (its facts then come from there).
    """

    iri: str
    kind: EntityKind
    label: str
    aliases: tuple[str, ...] = ()
    gazetteer: bool = False


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed link between two resolved things, with its score and evidence.

    Attributes:
        subject, predicate, object: IRIs as strings.
        score: strength in [0, 1] where the rule computes one.
        evidence: the text that supports it.
    """

    subject: str
    predicate: str
    object: str
    score: float | None = None
    evidence: str = ""


@dataclass(frozen=True)
class Statements:
    """N-Quads lines made by a stage other than ``build_graph`` (entities, mentions, links).

    Attributes:
        graphs: (named graph IRI, its lines) pairs; one statement a line, each ending in
            ``" .\n"`` and naming that graph.
    """

    graphs: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class GraphPart:
    """What one document's named graph adds to the whole graph besides its statements: kept
    by the build cache, so that a rebuild takes an unchanged document's graph as it was.

    Attributes:
        name: the named graph's IRI.
        hash: ``content_key`` of its N-Quads.
        triples: its statements.
        shared: those of its triples (N-Triples text, without the graph) that another graph
            may also hold, so counted once in all.
        counts: typed nodes per class local name among its statements.
        concepts: the shared concepts it names, as (scheme, normalised label, label as written).
    """

    name: str
    hash: str
    triples: int
    shared: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]
    concepts: tuple[tuple[str, str, str], ...]

    def packed(self, offset: int, length: int) -> tuple:
        """The part, with where its N-Quads are in a segments file, as plain values (marshal-able)."""
        return (self.name, self.hash, self.triples, self.shared, self.counts, self.concepts, offset, length)

    @staticmethod
    def unpacked(values: Sequence) -> tuple[GraphPart, int, int]:
        """``packed``'s part, offset and length."""
        *fields, offset, length = values
        return GraphPart(*fields), offset, length


class Segments(Sequence[tuple[str, bytes]]):
    """Named-graph segments of N-Quads, ``(graph IRI, bytes)``, appended in order.

    Past ``memory_limit`` bytes in all they go to an unnamed temporary file and are read back
    on each access: a large corpus's graph is gigabytes of text that need not stay in memory
    while the store is loaded and the views drawn. With ``spool``, they all go to a temporary
    file beside that path, which ``keep`` renames to it (or ``discard`` removes).
    """

    def __init__(self, memory_limit: int = 64 << 20, spool: Path | None = None) -> None:
        self._names: list[str] = []
        self._inline: list[bytes] = []
        self._spans: list[tuple[int, int]] = []
        self._file = None
        self._size = 0
        self._limit = memory_limit
        self._spool: Path | None = None
        # Where a write that fails (a full disk) is said to have failed.
        self._target = spool if spool is not None else Path(tempfile.gettempdir())
        if spool is not None:
            self._file, self._spool = open_beside(spool)

    def append(self, name: str, data: bytes | list[bytes], size: int | None = None) -> None:
        """Add a segment: ``data`` whole, or in chunks (of ``size`` bytes in all, when known)
        so that a large one is never joined in memory."""
        with naming(self._target):
            self._append(name, data, size)

    def _append(self, name: str, data: bytes | list[bytes], size: int | None) -> None:
        if isinstance(data, list):
            total = size if size is not None else sum(map(len, data))
            if self._file is None and self._size + total <= self._limit:
                data = b"".join(data)
            else:
                self._spill()
                self._names.append(name)
                start = self._size
                for chunk in data:
                    self._file.write(chunk)
                    self._size += len(chunk)
                self._spans.append((start, self._size - start))
                return
        if self._file is None and self._size + len(data) > self._limit:
            self._spill()
        self._names.append(name)
        if self._file is None:
            self._inline.append(data)
            self._size += len(data)
        else:
            self._write(data)

    def _spill(self) -> None:
        if self._file is not None:
            return
        self._file = tempfile.TemporaryFile(prefix="kg-graph-")
        self._size = 0
        for chunk in self._inline:
            self._write(chunk)
        self._inline = []

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._spans.append((self._size, len(data)))
        self._size += len(data)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if self._file is None:
            return self._names[index], self._inline[index]
        self._file.flush()
        offset, length = self._spans[index]
        return self._names[index], os.pread(self._file.fileno(), length, offset)

    @property
    def size(self) -> int:
        """Bytes in all."""
        return self._size

    def span(self, index: int) -> tuple[int, int]:
        """Where segment ``index`` is in the spool file: (offset, length)."""
        return self._spans[index]

    def keep(self, path: Path, *, durable: bool = True) -> Path:
        """Put the spool file in place at ``path`` (atomically; not synced to disk unless
        ``durable``); segments stay readable."""
        assert self._spool is not None, "keep() needs a spool"
        if durable:
            replace_with(self._file, self._spool, path)
        else:
            self._file.flush()
            os.replace(self._spool, path)
        self._spool = None
        return path

    def discard(self) -> None:
        """Remove the spool file unless kept (it is still read through the open handle)."""
        if self._spool is not None:
            self._spool.unlink(missing_ok=True)
            self._spool = None


class _SegmentStream(io.RawIOBase):
    """Reads a sequence of byte strings as one stream."""

    def __init__(self, segments: Sequence[tuple[str, bytes]]) -> None:
        self._parts = iter(data for _, data in segments)
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._view:
            part = next(self._parts, None)
            if part is None:
                return 0
            self._view = memoryview(part)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n


@dataclass(frozen=True)
class BuiltGraph:
    """The RDF produced by ``build_graph``.

    Attributes:
        segments: (named graph IRI, its statements as N-Quads) pairs, sorted by IRI: each
            document's own graph, and the vocabulary graph of shared concepts and entities.
            Within a segment, one statement a line, grouped by subject in a deterministic
            order, no line twice. Text is the fast path: Python makes a line far sooner than a
            pyoxigraph quad object, and Oxigraph parses it natively.
        node_counts: typed nodes per class local name.
        triples: distinct triples once the named graphs are merged.
        hashes: (named graph IRI, ``content_key`` of its N-Quads), for every segment.
        parts: one per document graph, in segment order.
    """

    segments: Sequence[tuple[str, bytes]] = ()
    node_counts: tuple[tuple[str, int], ...] = ()
    triples: int = 0
    hashes: tuple[tuple[str, str], ...] = ()
    parts: tuple[GraphPart, ...] = ()

    def part_spans(self) -> Iterator[tuple[GraphPart, int, int]]:
        """Each document graph's part, with where its N-Quads are in the segments' spool file."""
        index = {name: i for i, (name, _) in enumerate(self.hashes)}
        for part in self.parts:
            yield (part, *self.segments.span(index[part.name]))

    def names(self) -> list[str]:
        """The segments' graph IRIs, in order, without reading their N-Quads."""
        return [name for name, _ in self.hashes] if self.hashes else [name for name, _ in self.segments]

    def reader(self) -> io.BufferedReader:
        """The N-Quads as a file-like stream over the segments, without joining them (a
        corpus's graph is most of a gigabyte of text)."""
        return io.BufferedReader(_SegmentStream(self.segments), buffer_size=1 << 20)

    def iter_quads(self) -> Iterator:
        """The statements as pyoxigraph quads, parsed as they are read."""
        import pyoxigraph as ox

        return ox.parse(self.reader(), format=ox.RdfFormat.N_QUADS)

    @property
    def quads(self) -> tuple:
        """The statements as pyoxigraph quads, all in memory (parsed on first use; ``iter_quads`` streams)."""
        cached = self.__dict__.get("_quads")
        if cached is None:
            cached = tuple(self.iter_quads())
            object.__setattr__(self, "_quads", cached)
        return cached

    def __len__(self) -> int:
        return sum(data.count(b"\n") for _, data in self.segments)


@dataclass(frozen=True, slots=True)
class InputOutcome:
    """What became of one input file.

    Attributes:
        file: the file as named.
        status: ``"ok"``, ``"warning"`` or ``"rejected"``.
        problems: what was wrong.
        doc_ids: documents it contributed.
        records: rows it contributed.
        language: the language of a document's text where detected (ISO 639-1).
    """

    file: str
    status: str
    problems: tuple[Problem, ...] = ()
    doc_ids: tuple[str, ...] = ()
    records: int = 0
    language: str | None = None


@dataclass(frozen=True)
class BuildReport:
    """The summary of one build, written as ``report.json``.

    Attributes:
        inputs: one outcome per input file, sorted by file.
        documents, records, nodes, triples: counts.
        nodes_by_class: typed nodes per class.
        outputs: files written, relative to the output folder.
        timings: seconds per stage.
        reused: per build-cache table (``parsed``, ``scans``), entries reused and entries made.
        peak_mb: the process's peak resident memory (MiB) at the end of each stage.
        up_to_date: nothing was built: the inputs, settings, code and outputs were those of
            the last build into the folder, whose report this is.
    """

    inputs: tuple[InputOutcome, ...]
    documents: int
    records: int
    nodes: int
    triples: int
    nodes_by_class: tuple[tuple[str, int], ...] = ()
    outputs: tuple[str, ...] = ()
    timings: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    reused: tuple[tuple[str, int, int], ...] = field(default=(), compare=False)
    peak_mb: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    up_to_date: bool = field(default=False, compare=False)

    @property
    def rejected(self) -> int:
        return sum(1 for i in self.inputs if i.status == "rejected")


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """One way the graph breaks a SHACL shape.

    Attributes:
        focus: IRI (or ``_:id``) of the node that breaks it.
        label: the focus node's ``rdfs:label``, else that of the nearest labelled node pointing to
            it (a selector shows its mention's text); ``None`` when there is none.
        path: the property checked, shortened with the project's prefixes (``fs:relevancy``);
            ``None`` for a check on the node itself.
        message: what the shape requires, in words (its ``sh:message``).
        shape: the shape that failed, shortened (``fsh:Record-relevancy``).
        value: the offending value as Turtle would write it, where the check names one.
        severity: ``"Violation"``, ``"Warning"`` or ``"Info"``.
    """

    focus: str
    label: str | None
    path: str | None
    message: str
    shape: str
    value: str | None = None
    severity: str = "Violation"


@dataclass(frozen=True)
class ValidationReport:
    """What ``validate_*`` returns, written as ``validation.txt``.

    Attributes:
        conforms: no result has severity ``Violation``.
        results: every result, sorted by focus node, path and shape.
        triples: triples checked (the ontology's included).
        shapes: the shapes file, as named in messages.
        seconds: how long the check took.
    """

    conforms: bool
    results: tuple[ValidationResult, ...] = ()
    triples: int = 0
    shapes: str = ""
    seconds: float = field(default=0.0, compare=False)

    @property
    def violations(self) -> int:
        return sum(1 for r in self.results if r.severity == "Violation")
