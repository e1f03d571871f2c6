"""RDF files through pyoxigraph: Turtle, N-Triples and RDF/XML (graphs merged), N-Quads and TriG
(one named graph per document, the vocabulary in its own)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from kg.errors import ExportError
from kg.export.base import Dataset, ExportOptions, ExportResult, require_out
from kg.fsutil import atomic_write
from kg.rdf.write import FILE_PREFIXES

__all__ = ["RDF_FORMATS", "check_rdfxml", "export_rdf", "write_rdf"]

RDF_FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


# RDF/XML writes a predicate as an XML element, so the IRI must end in an XML name; and XML 1.0
# cannot hold most control characters at all. pyoxigraph writes broken XML rather than refuse.
_XML_NAME_END = re.compile(r"[^\W\d][\w.-]*\Z")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def check_rdfxml(triples: tuple[ox.Triple, ...]) -> None:
    """Refuse what RDF/XML cannot carry.

    Raises:
        ExportError: a predicate IRI with no XML name at its end, or a literal or IRI holding a
            character XML 1.0 forbids; the message names it.
    """
    for predicate in sorted({t.predicate.value for t in triples}):
        if not _XML_NAME_END.search(predicate):
            raise ExportError(f"RDF/XML cannot write predicate <{predicate}>: it does not end in an XML name")
    for triple in triples:
        for term in (triple.subject, triple.object):
            if isinstance(term, (ox.NamedNode, ox.Literal)) and _NOT_XML.search(term.value):
                raise ExportError(f"RDF/XML cannot hold the control character in {term} (subject {triple.subject})")


def write_rdf(dataset: Dataset, fmt: ox.RdfFormat, path: Path) -> int:
    """Write ``dataset`` to ``path`` in ``fmt``, atomically; return the statements written.

    Dataset formats keep the named graphs; the others get each distinct triple once.

    Raises:
        ExportError: RDF/XML cannot carry some term (see ``check_rdfxml``), or the serialiser
            refused one.
    """
    statements = dataset.quads if fmt.supports_datasets else dataset.triples
    if fmt == ox.RdfFormat.RDF_XML:
        check_rdfxml(dataset.triples)
    try:
        with atomic_write(path, "wb") as handle:
            ox.serialize(statements, handle, fmt, prefixes=FILE_PREFIXES)
    except (ValueError, SyntaxError) as exc:
        raise ExportError(f"{path}: cannot write {fmt.name}: {exc}") from exc
    return len(statements)


def export_rdf(name: str) -> Callable[[Dataset, ExportOptions], ExportResult]:
    """The exporter function for the RDF format called ``name`` (a key of ``RDF_FORMATS``)."""
    fmt = RDF_FORMATS[name]

    def run(dataset: Dataset, options: ExportOptions) -> ExportResult:
        path = require_out(options, name)
        count = write_rdf(dataset, fmt, path)
        unit = "quads" if fmt.supports_datasets else "triples"
        return ExportResult(target=name, outputs=(path,), counts=((unit, count),))

    return run
