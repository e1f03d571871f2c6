"""RDF → property graph: the one mapping behind the Neo4j CSV, Cypher, live Neo4j, GraphML and
GEXF exports.

It follows neosemantics (n10s) configured with ``handleVocabUris: "IGNORE"`` (local names only),
``handleRDFTypes: "LABELS"`` and arrays for multi-valued properties:

* every subject is a node with the label ``Resource`` and a ``uri`` property (its IRI; ``_:id``
  for a blank node), plus one label per ``rdf:type``, named by the class's local name;
* a triple whose object is itself a node becomes a relationship named by the predicate's local
  name (``document``, ``keyword``, ``drivingForce``);
* any other object becomes a property named by the predicate's local name: ``xsd:integer``
  values as integers, ``xsd:date`` values as dates, everything else (other literals, and IRIs
  no triple describes, such as external links) as strings. A property some node holds twice
  is a list on every node.

Names are reduced to ``[A-Za-z_][A-Za-z0-9_]*`` (labels and relationship types must be spliced
into Cypher, which cannot take them as parameters); two IRIs with one local name both become
``prefix__local``, as n10s's ``SHORTEN`` mode writes them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from kg.export.base import Dataset
from kg.iri import short_hash
from kg.namespaces import PREFIXES, RDF, XSD

__all__ = [
    "BASE_LABEL",
    "IDENTIFIER",
    "URI_KEY",
    "PgEdge",
    "PgNode",
    "PgProperty",
    "PropertyGraph",
    "Value",
    "assign_names",
    "local_name",
    "project_property_graph",
]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BASE_LABEL = "Resource"
URI_KEY = "uri"

Value = str | int | dt.date | tuple

_TYPE = ox.NamedNode(str(RDF.type))
_XSD_INTEGER = ox.NamedNode(str(XSD.integer))
_XSD_DATE = ox.NamedNode(str(XSD.date))
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT32 = 2**31
_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class PgProperty:
    """A property key and the one type all its values share.

    Attributes:
        key: the property's name.
        predicate: the predicate IRI it comes from.
        kind: ``"string"``, ``"int"`` (every value fits 32 bits), ``"long"`` or ``"date"``.
        array: some node has several values, so every node holds a list.
    """

    key: str
    predicate: str
    kind: str
    array: bool = False


@dataclass(frozen=True, slots=True)
class PgNode:
    """A node.

    Attributes:
        uri: the subject's IRI (``_:id`` for a blank node).
        labels: its classes' names, sorted; ``BASE_LABEL`` is implied, not listed.
        properties: (key, value) sorted by key; a value is ``str``, ``int``, ``date`` or, for an
            array property, a sorted tuple of them.
    """

    uri: str
    labels: tuple[str, ...]
    properties: tuple[tuple[str, Value], ...]


@dataclass(frozen=True, slots=True)
class PgEdge:
    """A relationship.

    Attributes:
        start: the subject's ``uri``.
        type: the predicate's name.
        end: the object's ``uri``.
    """

    start: str
    type: str
    end: str


@dataclass(frozen=True)
class PropertyGraph:
    """The property-graph view of a dataset.

    Attributes:
        nodes: sorted by ``uri``.
        edges: sorted by type, start, end.
        properties: every property key, sorted.
        labels: (label, class IRI), sorted by label.
        types: (relationship type, predicate IRI), sorted by type.
    """

    nodes: tuple[PgNode, ...]
    edges: tuple[PgEdge, ...]
    properties: tuple[PgProperty, ...]
    labels: tuple[tuple[str, str], ...] = ()
    types: tuple[tuple[str, str], ...] = ()

    def property(self, key: str) -> PgProperty:
        """The property called ``key``."""
        return next(p for p in self.properties if p.key == key)

    def label_sets(self) -> tuple[tuple[str, ...], ...]:
        """The distinct label sets nodes carry, sorted."""
        return tuple(sorted({node.labels for node in self.nodes}))

    def nodes_by_labels(self) -> dict[tuple[str, ...], list[PgNode]]:
        """The nodes grouped by label set, label sets sorted, nodes in graph order."""
        groups: dict[tuple[str, ...], list[PgNode]] = {labels: [] for labels in self.label_sets()}
        for node in self.nodes:
            groups[node.labels].append(node)
        return groups

    def edges_by_type(self) -> dict[str, list[PgEdge]]:
        """The edges grouped by type, types sorted, edges in graph order."""
        groups: dict[str, list[PgEdge]] = {}
        for edge in self.edges:
            groups.setdefault(edge.type, []).append(edge)
        return groups


def local_name(iri: str) -> str:
    """The part of ``iri`` after its last ``#``, else its last ``/`` (or ``:``).

    >>> local_name("https://w3id.org/foresight-kg/ontology#drivingForce")
    'drivingForce'
    >>> local_name("http://www.w3.org/2004/02/skos/core#altLabel")
    'altLabel'
    """
    for sep in ("#", "/", ":"):
        if sep in iri:
            return iri.rsplit(sep, 1)[1]
    return iri


def _identifier(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if name and not name[0].isdigit() else f"_{name}"


def _prefix(iri: str) -> str:
    namespace = iri[: len(iri) - len(local_name(iri))]
    for prefix, ns in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if namespace.startswith(ns):
            return prefix
    return f"ns{short_hash(namespace, 6)}"


def assign_names(iris: Iterable[str], reserved: frozenset[str] = frozenset()) -> dict[str, str]:
    """Name each IRI by its local name; where two share one (or it is reserved), both become
    ``prefix__local``.

    >>> names = assign_names(["http://purl.org/dc/terms/title", "https://schema.org/title", "https://schema.org/name"])
    >>> names["https://schema.org/name"], names["https://schema.org/title"]
    ('name', 'schema__title')
    """
    ordered = sorted(set(iris))
    base = {iri: _identifier(local_name(iri)) for iri in ordered}
    clashes = Counter(base.values())
    names = {
        iri: f"{_prefix(iri)}__{name}" if clashes[name] > 1 or name in reserved else name
        for iri, name in base.items()
    }
    # Prefixed names can still meet (two namespaces without a known prefix): a hash separates them.
    taken = Counter(names.values())
    return {iri: f"{name}_{short_hash(iri, 6)}" if taken[name] > 1 else name for iri, name in names.items()}


def _uri(term: ox.NamedNode | ox.BlankNode) -> str:
    return term.value if isinstance(term, ox.NamedNode) else f"_:{term.value}"


def _kind(values: list[ox.Term]) -> str:
    if all(isinstance(v, ox.Literal) and v.datatype == _XSD_INTEGER and _INTEGER.fullmatch(v.value) for v in values):
        biggest = max(abs(int(v.value)) for v in values)
        return "int" if biggest < _INT32 else "long" if biggest < _INT64 else "string"
    if all(isinstance(v, ox.Literal) and v.datatype == _XSD_DATE and _DATE.fullmatch(v.value) for v in values):
        try:
            for v in values:
                dt.date.fromisoformat(v.value)
        except ValueError:
            return "string"
        return "date"
    return "string"


def _convert(term: ox.Term, kind: str) -> str | int | dt.date:
    if kind in ("int", "long"):
        return int(term.value)
    if kind == "date":
        return dt.date.fromisoformat(term.value)
    return _uri(term) if isinstance(term, ox.BlankNode) else term.value


def project_property_graph(dataset: Dataset) -> PropertyGraph:
    """Map the dataset's triples (named graphs merged) to nodes, relationships and properties."""
    triples = dataset.triples
    subjects = {t.subject for t in triples}
    classes: dict[ox.Term, set[str]] = defaultdict(set)
    edges: list[tuple[ox.Term, str, ox.Term]] = []
    values: dict[str, dict[ox.Term, list[ox.Term]]] = defaultdict(lambda: defaultdict(list))
    for t in triples:
        if t.predicate == _TYPE and isinstance(t.object, ox.NamedNode):
            classes[t.subject].add(t.object.value)
        elif isinstance(t.object, (ox.NamedNode, ox.BlankNode)) and t.object in subjects:
            edges.append((t.subject, t.predicate.value, t.object))
        else:
            values[t.predicate.value][t.subject].append(t.object)

    label_of = assign_names({c for cs in classes.values() for c in cs}, frozenset({BASE_LABEL}))
    type_of = assign_names({p for _, p, _ in edges})
    key_of = assign_names(values, frozenset({URI_KEY}))

    properties: list[PgProperty] = []
    props: dict[ox.Term, list[tuple[str, Value]]] = defaultdict(list)
    for predicate, by_subject in values.items():
        kind = _kind([v for vs in by_subject.values() for v in vs])
        array = any(len(vs) > 1 for vs in by_subject.values())
        key = key_of[predicate]
        properties.append(PgProperty(key, predicate, kind, array))
        for subject, terms in by_subject.items():
            converted = sorted(_convert(term, kind) for term in terms)
            props[subject].append((key, tuple(converted) if array else converted[0]))

    nodes = sorted(
        (
            PgNode(
                uri=_uri(subject),
                labels=tuple(sorted(label_of[c] for c in classes.get(subject, ()))),
                properties=tuple(sorted(props.get(subject, ()))),
            )
            for subject in subjects
        ),
        key=lambda n: n.uri,
    )
    pg_edges = sorted({PgEdge(_uri(s), type_of[p], _uri(o)) for s, p, o in edges}, key=lambda e: (e.type, e.start, e.end))
    return PropertyGraph(
        nodes=tuple(nodes),
        edges=tuple(pg_edges),
        properties=tuple(sorted(properties, key=lambda p: p.key)),
        labels=tuple(sorted((name, iri) for iri, name in label_of.items())),
        types=tuple(sorted((name, iri) for iri, name in type_of.items())),
    )
