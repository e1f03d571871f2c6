"""``sh:or`` lists of ``sh:class`` alternatives, checked without pySHACL.

``fs:mentions`` points to "an organisation or a concept": ``sh:or ( [ sh:class A ] [ sh:class
B ] )``. pySHACL checks each branch for each value and writes up, in full, every branch that
fails even when another holds: at corpus scale, three such shapes over 100,000 mentions took
most of validation's minutes. The meaning is simple (some rdf:type of the value is a class in
one of the lists, through rdfs:subClassOf), so it is checked here over the same data, giving
the results pySHACL gives (the shape's own message, path, value and severity). Any other
``sh:or`` (a branch with more than an ``sh:class``, a path that is not one predicate, a shape
without ``sh:message``) stays with pySHACL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH

__all__ = ["SEVERITIES", "TARGET_KINDS", "ClassChoice", "check_class_choice", "class_choice"]

# SHACL's target predicates, and its severities as results name them (kg.rdf.validate uses both).
TARGET_KINDS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


@dataclass(frozen=True, slots=True)
class ClassChoice:
    """One ``sh:or`` of classes on a property shape.

    Attributes:
        shape: the property shape.
        path: its predicate.
        classes: the alternatives: a value must be an instance of one of them.
        targets: the shape's (target predicate, value) pairs.
        message: the shape's ``sh:message`` (the first, sorted, as results show it).
        severity: ``"Violation"``, ``"Warning"`` or ``"Info"``.
    """

    shape: rdflib.URIRef
    path: rdflib.URIRef
    classes: tuple[rdflib.URIRef, ...]
    targets: tuple[tuple[rdflib.URIRef, rdflib.term.Node], ...]
    message: str
    severity: str


def class_choice(shapes: rdflib.Graph, shape: rdflib.term.Node, members: rdflib.term.Node) -> ClassChoice | None:
    """The ``sh:or`` whose list is ``members`` on ``shape``, if it is one this module checks."""
    if not isinstance(shape, rdflib.URIRef) or (shape, SH.deactivated, rdflib.Literal(True)) in shapes:
        return None
    # A shape that is also a class targets its instances implicitly; left to pySHACL.
    if any((shape, RDF.type, kind) in shapes for kind in (RDFS.Class, OWL.Class)):
        return None
    path = shapes.value(shape, SH.path)
    messages = sorted(str(m) for m in shapes.objects(shape, SH.message))
    if not isinstance(path, rdflib.URIRef) or not messages:
        return None
    classes = []
    for member in Collection(shapes, members):
        found = list(shapes.predicate_objects(member))
        # Only a bare ``[ sh:class C ]`` (typed as a shape or not) means "is a C" alone.
        rest = [(p, o) for p, o in found if not (p == RDF.type and o in (SH.NodeShape, SH.Shape))]
        if len(rest) != 1 or rest[0][0] != SH["class"] or not isinstance(rest[0][1], rdflib.URIRef):
            return None
        classes.append(rest[0][1])
    targets = tuple(sorted((kind, value) for kind in TARGET_KINDS for value in shapes.objects(shape, kind)))
    if not classes or not targets:
        return None
    severity = SEVERITIES.get(shapes.value(shape, SH.severity), "Violation")
    return ClassChoice(shape, path, tuple(classes), targets, messages[0], severity)


def check_class_choice(data: rdflib.Graph, choice: ClassChoice) -> Iterator[tuple[rdflib.term.Node, rdflib.term.Node]]:
    """Each (focus node, value) of ``choice`` in ``data`` whose value is an instance of none of its classes.

    ``data`` holds the ontology, so subclasses are found through its ``rdfs:subClassOf``, as
    pySHACL finds them (no other inference).
    """
    instances: set[rdflib.term.Node] = set()
    for cls in choice.classes:
        instances |= _instances(data, cls)
    for focus in _focus_nodes(data, choice.targets):
        for value in set(data.objects(focus, choice.path)):
            if value not in instances:
                yield focus, value


def _instances(data: rdflib.Graph, cls: rdflib.URIRef) -> set[rdflib.term.Node]:
    found: set[rdflib.term.Node] = set()
    for sub in data.transitive_subjects(RDFS.subClassOf, cls):
        found.update(data.subjects(RDF.type, sub))
    return found


def _focus_nodes(data: rdflib.Graph, targets) -> set[rdflib.term.Node]:
    nodes: set[rdflib.term.Node] = set()
    for kind, value in targets:
        if kind == SH.targetClass:
            nodes |= _instances(data, value)
        elif kind == SH.targetNode:
            nodes.add(value)
        elif kind == SH.targetSubjectsOf:
            nodes.update(data.subjects(value, None))
        else:
            nodes.update(data.objects(None, value))
    return nodes
