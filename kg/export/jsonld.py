"""JSON-LD with a compact ``@context`` of the ontology's prefixes, one ``@graph`` per named graph.

pyoxigraph 0.5 writes JSON-LD but takes no context (its ``prefixes`` are ignored: every key
comes out as a full IRI), and rdflib's writer orders nodes by hash; so the document is built
here, in the dataset's order, which keeps the bytes stable.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox

from kg.export.base import Dataset, ExportOptions, ExportResult, require_out
from kg.fsutil import write_text_atomic
from kg.namespaces import RDF, XSD
from kg.rdf.write import FILE_PREFIXES

__all__ = ["compact_iri", "export_jsonld", "jsonld_context", "jsonld_document", "write_jsonld"]

_TYPE = ox.NamedNode(str(RDF.type))
_XSD_STRING = ox.NamedNode(str(XSD.string))


def jsonld_context(dataset: Dataset) -> dict[str, str]:
    """The prefixes to declare: every project prefix except one that is also the scheme of an
    IRI in the data, since ``{"@id": "fs:x"}`` would then expand to something else.
    """
    schemes: set[str] = set()
    for quad in dataset.quads:
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            if isinstance(term, ox.NamedNode):
                schemes.add(term.value.split(":", 1)[0])
            elif isinstance(term, ox.Literal):
                schemes.add(term.datatype.value.split(":", 1)[0])
    return {prefix: ns for prefix, ns in FILE_PREFIXES.items() if prefix not in schemes}


def compact_iri(iri: str, context: dict[str, str]) -> str:
    """``iri`` as ``prefix:rest`` under the longest namespace of ``context``, else unchanged.

    >>> compact_iri("https://w3id.org/foresight-kg/ontology#Signal", {"fs": "https://w3id.org/foresight-kg/ontology#"})
    'fs:Signal'
    >>> compact_iri("https://example.org/x", {"fs": "https://w3id.org/foresight-kg/ontology#"})
    'https://example.org/x'
    """
    best = ""
    name = ""
    for prefix, ns in context.items():
        rest = iri[len(ns):]
        # A suffix starting with "//" makes JSON-LD read the whole string as an absolute IRI.
        if iri.startswith(ns) and rest and not rest.startswith("//") and len(ns) > len(best):
            best, name = ns, prefix
    return f"{name}:{iri[len(best):]}" if best else iri


def _node_id(term: ox.NamedNode | ox.BlankNode) -> str:
    return term.value if isinstance(term, ox.NamedNode) else f"_:{term.value}"


def _value(term: ox.Term, context: dict[str, str]) -> object:
    if isinstance(term, (ox.NamedNode, ox.BlankNode)):
        return {"@id": _node_id(term)}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype == _XSD_STRING:
        return term.value
    return {"@value": term.value, "@type": compact_iri(term.datatype.value, context)}


def _node_objects(triples: tuple[ox.Triple, ...], context: dict[str, str]) -> list[dict]:
    nodes: dict[str, dict] = {}
    for triple in triples:
        node = nodes.setdefault(_node_id(triple.subject), {"@id": _node_id(triple.subject)})
        if triple.predicate == _TYPE and isinstance(triple.object, ox.NamedNode):
            node.setdefault("@type", []).append(compact_iri(triple.object.value, context))
            continue
        key = compact_iri(triple.predicate.value, context)
        node.setdefault(key, []).append(_value(triple.object, context))
    return list(nodes.values())


def jsonld_document(dataset: Dataset) -> dict:
    """The dataset as one JSON-LD document: default-graph nodes at the top, each named graph as
    ``{"@id": graph, "@graph": [...]}``.
    """
    context = jsonld_context(dataset)
    top: list[dict] = []
    for name, triples in dataset.graphs.items():
        nodes = _node_objects(triples, context)
        if isinstance(name, ox.NamedNode):
            top.append({"@id": name.value, "@graph": nodes})
        else:
            top.extend(nodes)
    return {"@context": context, "@graph": top}


def write_jsonld(dataset: Dataset, path: Path) -> int:
    """Write the dataset as JSON-LD to ``path`` atomically; return the quads written."""
    text = json.dumps(jsonld_document(dataset), ensure_ascii=False, indent=1)
    write_text_atomic(path, text + "\n")
    return len(dataset.quads)


def export_jsonld(dataset: Dataset, options: ExportOptions) -> ExportResult:
    """``kg export jsonld``: the dataset, named graphs kept, as JSON-LD."""
    path = require_out(options, "jsonld")
    return ExportResult(target="jsonld", outputs=(path,), counts=(("quads", write_jsonld(dataset, path)),))
