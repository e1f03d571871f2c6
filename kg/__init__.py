"""foresight-kg: foresight and horizon-scanning summaries → a typed RDF knowledge graph.

The stages, in order (each a plain function)::

    parse_document / read_tabular  →  extract_mentions  →  resolve_entities
    →  build_graph  →  write_turtle / write_store  →  (views, queries, exports)

``build`` runs them all, as ``kg build`` does.
"""

from importlib import import_module
from typing import TYPE_CHECKING

# Names load on first use, so that `kg --help` does not import spaCy.
_WHERE = {
    "ExportError": "kg.errors", "InputError": "kg.errors", "KgError": "kg.errors", "OntologyError": "kg.errors",
    "ParseError": "kg.errors", "QueryError": "kg.errors", "UsageError": "kg.errors",
    "extract_mentions": "kg.extract.mentions", "text_units": "kg.extract.mentions",
    "parse_document": "kg.ingest.markdown", "read_tabular": "kg.ingest.tabular", "build": "kg.pipeline",
    "build_graph": "kg.rdf.build", "open_store": "kg.rdf.store", "write_store": "kg.rdf.store",
    "write_turtle": "kg.rdf.write", "resolve_entities": "kg.resolve", "Settings": "kg.settings",
    **{name: "kg.types" for name in ("BuildReport", "BuiltGraph", "Entity", "EntityKind", "Mention", "ParsedDoc",
                                     "Problem", "Record", "RecordKind", "SourceDoc", "TextUnit")},
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'kg' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from kg.errors import ExportError, InputError, KgError, OntologyError, ParseError, QueryError, UsageError
    from kg.extract.mentions import extract_mentions, text_units
    from kg.ingest.markdown import parse_document
    from kg.ingest.tabular import read_tabular
    from kg.pipeline import build
    from kg.rdf.build import build_graph
    from kg.rdf.store import open_store, write_store
    from kg.rdf.write import write_turtle
    from kg.resolve import resolve_entities
    from kg.settings import Settings
    from kg.types import (BuildReport, BuiltGraph, Entity, EntityKind, Mention, ParsedDoc, Problem, Record,
                          RecordKind, SourceDoc, TextUnit)

__version__ = "0.1.0"

__all__ = [
    "BuildReport",
    "BuiltGraph",
    "Entity",
    "EntityKind",
    "ExportError",
    "InputError",
    "KgError",
    "Mention",
    "OntologyError",
    "ParseError",
    "ParsedDoc",
    "Problem",
    "QueryError",
    "Record",
    "RecordKind",
    "Settings",
    "SourceDoc",
    "TextUnit",
    "UsageError",
    "__version__",
    "build",
    "build_graph",
    "extract_mentions",
    "open_store",
    "parse_document",
    "read_tabular",
    "resolve_entities",
    "text_units",
    "write_store",
    "write_turtle",
]
