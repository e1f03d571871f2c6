"""SHACL validation: is a graph well-formed by ``ontology/shapes.ttl``?

::

    BuiltGraph · build folder · RDF file ─load─▶ pyoxigraph Store (ontology included)
        ─copy─▶ rdflib Graph ─pySHACL, core shapes─▶ results ┐
                 rdflib Graph ─sh:or of classes─▶ results ┤
        Store ─one SPARQL query per SHACL-SPARQL constraint─▶ results ┴▶ ValidationReport
        ValidationReport ─format_report─▶ text (``validation.txt``, ``kg validate``)

pySHACL checks the core constraints (counts, datatypes, node kinds, classes, ranges, patterns)
without RDFS/OWL inference: the ontology is added to the data so that ``sh:targetClass
fs:Record`` reaches every row through ``rdfs:subClassOf``, which is all the shapes need. The
shapes' SHACL-SPARQL constraints (the quote of a mention really is its source text at its
offsets) would make pySHACL run rdflib's SPARQL engine once per mention, minutes on a small
corpus; they run here instead as one query each on Oxigraph, over every focus node at once,
with the same meaning (``$this`` ranges over the shape's targets).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import SH, NamespaceManager, split_uri
from rdflib.term import Variable

from kg.errors import UsageError
from kg.fsutil import write_text_atomic
from kg.gen_namespace import ONTOLOGY_FILE
from kg.namespaces import PREFIXES, RDF, RDFS
from kg.rdf.class_choice import SEVERITIES, TARGET_KINDS, ClassChoice, check_class_choice, class_choice
from kg.types import BuiltGraph, ValidationReport, ValidationResult

__all__ = [
    "SHAPES_FILE",
    "format_report",
    "load_graph",
    "validate_graph",
    "validate_path",
    "validate_store",
    "write_validation",
]

SHAPES_FILE = ONTOLOGY_FILE.parent / "shapes.ttl"
SHAPES_NS = "https://w3id.org/foresight-kg/shapes#"

# How results name terms: the project's prefixes, plus the shapes' own and SPDX's.
_SHORT = {**PREFIXES, "fsh": SHAPES_NS, "sh": str(SH), "spdx": "http://spdx.org/rdf/terms#"}
_TEMPLATE = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True, slots=True)
class _SparqlConstraint:
    """A SHACL-SPARQL constraint, ready to run over a whole store.

    Attributes:
        shape: the shape that declares it.
        query: its ``sh:select``, joined with the shape's targets so ``?this`` is a focus node.
        message: its ``sh:message`` template (``{?var}`` filled from each solution).
        severity: the shape's severity.
    """

    shape: rdflib.URIRef
    query: str
    message: str
    severity: str


def load_graph(path: Path) -> ox.Store:
    """What ``kg validate PATH`` checks, as a store.

    A build folder gives its store (with its provenance graph), or, built with ``--no-store``,
    its ``graph.ttl`` and ``provenance.ttl``; a file is read by its extension (``.ttl``,
    ``.trig``, ``.nt``, ``.nq``, ``.rdf``, ``.jsonld`` …).

    Raises:
        UsageError: nothing usable at ``path``.
    """
    from kg.query.sparql import open_graph

    if path.is_dir() and not (path / "store").is_dir() and (path / "graph.ttl").is_file():
        store = ox.Store()
        for name in ("graph.ttl", "provenance.ttl"):
            if (path / name).is_file():
                store.bulk_load(path=str(path / name), format=ox.RdfFormat.TURTLE)
        return _add_ontology(store)
    store = open_graph(path)
    # A file is read into a store of its own, which can take the ontology; a build's store has it.
    return store if path.is_dir() else _add_ontology(store)


def validate_path(path: Path, *, shapes: Path = SHAPES_FILE) -> ValidationReport:
    """Validate a build folder or an RDF file (see ``load_graph``).

    Raises:
        UsageError: nothing usable at ``path``, or the shapes file is missing.
    """
    return validate_store(load_graph(path), shapes=shapes)


def validate_graph(graph: BuiltGraph, *, shapes: Path = SHAPES_FILE) -> ValidationReport:
    """Validate what ``build_graph`` made, before it is written."""
    store = ox.Store()
    store.bulk_load(graph.reader(), format=ox.RdfFormat.N_QUADS)
    return validate_store(_add_ontology(store), shapes=shapes)


def validate_store(store: ox.Store, *, shapes: Path = SHAPES_FILE, ontology: Path = ONTOLOGY_FILE) -> ValidationReport:
    """Check every graph of ``store`` (their union) against ``shapes``.

    pySHACL sees a copy of the store with the ontology added; the SPARQL constraints run on the
    store itself, whose ``sh:targetClass`` reaches subclasses only where the store holds the
    ontology, as a build's store does and as ``load_graph`` and ``validate_graph`` arrange.

    Raises:
        UsageError: the shapes or ontology file is missing or not Turtle.
    """
    started = time.perf_counter()
    core, sparql, choices = _split_shapes(_read_turtle(shapes, "shapes"))
    onto = _read_turtle(ontology, "ontology")
    with ThreadPoolExecutor(1, thread_name_prefix="kg-shacl-sparql") as pool:
        # Oxigraph runs the SPARQL constraints without the GIL, on the other core, while this
        # thread copies the store for pySHACL and runs it: tens of seconds each at corpus scale.
        solved = [pool.submit(_solve_sparql, store, constraint) for constraint in sparql]
        data = _rdflib_graph(store)
        data.namespace_manager = _Names(data)
        for triple in onto:
            data.add(triple)
        import pyshacl

        # inplace: ``data`` is our own copy; pySHACL would otherwise clone it once more.
        _, found, _ = pyshacl.validate(data, shacl_graph=core, inference="none", advanced=False, inplace=True,
                                       allow_warnings=True, allow_infos=True)
        results = list(_read_results(found, data))
        for choice in choices:
            results.extend(_choice_results(choice, data))
        for constraint, rows in zip(sparql, solved):
            results.extend(_sparql_results(constraint, rows.result(), data))
    results.sort(key=lambda r: (r.focus, r.path or "", r.shape, r.value or ""))
    return ValidationReport(
        conforms=not any(r.severity == "Violation" for r in results),
        results=tuple(results),
        triples=len(data),
        shapes=shapes.name,
        seconds=round(time.perf_counter() - started, 3),
    )


def format_report(report: ValidationReport, *, limit: int | None = None) -> str:
    """The report as text: a verdict line, then each failing node (label, IRI) with its results.

    Args:
        limit: most focus nodes shown; the rest are counted in a last line.
    """
    verdict = "yes" if report.conforms else "no"
    counts = f"{report.violations:,} violation{'s' if report.violations != 1 else ''}"
    others = len(report.results) - report.violations
    if others:
        counts += f", {others:,} warning{'s' if others != 1 else ''} or note{'s' if others != 1 else ''}"
    lines = [
        f"Conforms: {verdict} ({counts}) — {report.triples:,} triples checked against {report.shapes} in {report.seconds:.1f} s"
    ]
    groups: dict[str, list[ValidationResult]] = {}
    for result in report.results:
        groups.setdefault(result.focus, []).append(result)
    shown = list(groups.items()) if limit is None else list(groups.items())[:limit]
    for focus, results in shown:
        head = f'"{results[0].label}" <{focus}>' if results[0].label else f"<{focus}>"
        lines.append("")
        lines.append(head)
        for r in results:
            where = r.path or "(node)"
            value = f" = {r.value}" if r.value is not None else ""
            severity = "" if r.severity == "Violation" else f"{r.severity.lower()}: "
            lines.append(f"  {where}{value}: {severity}{r.message}  [{r.shape}]")
    if len(shown) < len(groups):
        lines.append("")
        lines.append(f"… and {len(groups) - len(shown):,} more nodes")
    return "\n".join(lines) + "\n"


def write_validation(report: ValidationReport, path: Path) -> Path:
    """Write the whole report (every result) as text, atomically."""
    write_text_atomic(path, format_report(report))
    return path


# ---------------------------------------------------------------- loading


def _read_turtle(path: Path, what: str) -> rdflib.Graph:
    """The graph in ``path``, parsed once per version of the file (callers must not change it)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such {what} file")
    stat = path.stat()
    return _parse_turtle(path.resolve(), stat.st_mtime_ns, stat.st_size, what)


@functools.lru_cache(maxsize=8)
def _parse_turtle(path: Path, mtime_ns: int, size: int, what: str) -> rdflib.Graph:
    # A build validates once, but the tests validate dozens of small graphs: parsing the shapes
    # and the ontology each time would be half the work.
    try:
        return rdflib.Graph().parse(path, format="turtle")
    except Exception as exc:  # rdflib raises many kinds for bad Turtle
        raise UsageError(f"{path}: cannot read the {what} as Turtle: {exc}") from exc


def _rdflib_graph(store: ox.Store) -> rdflib.Graph:
    """Every triple of every graph of ``store``, in an rdflib memory graph (named graphs merged)."""
    graph = rdflib.Graph()
    convert = _Converter()
    add = graph.add
    for quad in store.quads_for_pattern(None, None, None):
        add((convert(quad.subject), convert(quad.predicate), convert(quad.object)))
    return graph


class _Names(NamespaceManager):
    """rdflib's namespace manager, the same names out, without its habit of adding each
    namespace it is asked about to a trie it scans whole on every addition.

    pySHACL names every value node it checks (even for a branch of an ``sh:or`` that another
    branch satisfies); minted IRIs make a namespace per document, so at corpus scale that
    trie cost about 20 s of validation. Terms of a bound namespace still go to rdflib.
    """

    def normalizeUri(self, rdfTerm: str) -> str:  # noqa: N802, N803 (rdflib's name)
        if not isinstance(rdfTerm, Variable):
            try:
                namespace, _ = split_uri(rdfTerm)
            except ValueError:
                namespace = None
            if namespace is not None and self.store.prefix(rdflib.URIRef(namespace)) is None:
                return f"<{rdfTerm}>"  # what rdflib returns for it too
        return super().normalizeUri(rdfTerm)


class _Converter:
    """pyoxigraph term → rdflib term, IRIs cached: the same few predicates and classes recur."""

    def __init__(self) -> None:
        self._iris: dict[str, rdflib.URIRef] = {}

    def __call__(self, term):
        if isinstance(term, ox.NamedNode):
            iri = self._iris.get(term.value)
            if iri is None:
                iri = self._iris[term.value] = rdflib.URIRef(term.value)
            return iri
        if isinstance(term, ox.Literal):
            if term.language:
                return rdflib.Literal(term.value, lang=term.language)
            if term.datatype.value == _XSD_STRING:
                # rdflib tells a plain literal from an xsd:string one (RDF 1.1 does not): sh:in
                # values written "current" in the shapes are plain, so the data must be too.
                return rdflib.Literal(term.value)
            return rdflib.Literal(term.value, datatype=self(term.datatype))
        if isinstance(term, ox.BlankNode):
            return rdflib.BNode(term.value)
        raise UsageError(f"cannot validate RDF-star triple terms ({term})")


def _add_ontology(store: ox.Store, ontology: Path = ONTOLOGY_FILE) -> ox.Store:
    """``store`` with the ontology in its ontology graph, as a build's store holds it."""
    from kg.rdf.store import ONTOLOGY_GRAPH

    store.bulk_load(path=str(ontology), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(ONTOLOGY_GRAPH))
    return store


# ---------------------------------------------------------------- shapes


@functools.lru_cache(maxsize=8)
def _split_shapes(shapes: rdflib.Graph) -> tuple[rdflib.Graph, tuple[_SparqlConstraint, ...], tuple[ClassChoice, ...]]:
    """The shapes pySHACL runs; the SPARQL constraints, made whole-graph; and the ``sh:or``
    lists of classes (see ``kg.rdf.class_choice``), all three removed from the first."""
    core = rdflib.Graph()
    for triple in shapes:
        core.add(triple)
    choices = []
    for shape, members in sorted(shapes.subject_objects(SH["or"])):
        choice = class_choice(shapes, shape, members)
        if choice is not None:
            core.remove((shape, SH["or"], members))
            choices.append(choice)
    constraints: list[_SparqlConstraint] = []
    for shape, node in list(shapes.subject_objects(SH.sparql)):
        core.remove((shape, SH.sparql, node))
        if (node, SH.deactivated, rdflib.Literal(True)) in shapes:
            continue
        select = shapes.value(node, SH.select)
        targets = _target_pattern(shapes, shape)
        if select is None or targets is None:
            continue
        body = re.sub(r"\$this\b", "?this", str(select))
        prefixes = "".join(
            f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>\n"
            for source in shapes.objects(node, SH.prefixes)
            for d in shapes.objects(source, SH.declare)
        )
        query = f"{prefixes}SELECT * WHERE {{\n{{ SELECT DISTINCT ?this WHERE {{ {targets} }} }}\n{{ {body} }}\n}}"
        message = str(shapes.value(node, SH.message) or shapes.value(shape, SH.message) or "SPARQL constraint failed")
        severity = SEVERITIES.get(shapes.value(shape, SH.severity), "Violation")
        constraints.append(_SparqlConstraint(shape, query, message, severity))
    return core, tuple(constraints), tuple(choices)


def _target_pattern(shapes: rdflib.Graph, shape) -> str | None:
    """A SPARQL pattern binding ``?this`` to each focus node of ``shape``'s targets."""
    parts: list[str] = []
    for kind in TARGET_KINDS:
        for value in shapes.objects(shape, kind):
            term = value.n3()
            if kind == SH.targetClass:
                parts.append(f"?this <{RDF.type}>/<{RDFS.subClassOf}>* {term} .")
            elif kind == SH.targetNode:
                parts.append(f"VALUES ?this {{ {term} }}")
            elif kind == SH.targetSubjectsOf:
                parts.append(f"?this {term} [] .")
            else:
                parts.append(f"[] {term} ?this .")
    if not parts:
        return None
    return " UNION ".join(f"{{ {p} }}" for p in parts)


# A solution's bound variables.
_Row = dict[str, "ox.NamedNode | ox.BlankNode | ox.Literal"]


def _solve_sparql(store: ox.Store, constraint: _SparqlConstraint) -> list[_Row]:
    """The constraint's solutions, each as its bound variables."""
    solutions = store.query(constraint.query, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{name: solution[name] for name in names if solution[name] is not None} for solution in solutions]


def _sparql_results(constraint: _SparqlConstraint, rows: Iterable[_Row], data: rdflib.Graph) -> Iterator[ValidationResult]:
    for row in rows:
        focus = row["this"]
        text = {name: _ox_text(term) for name, term in row.items()}
        message = _TEMPLATE.sub(lambda m: text.get(m[1], m[0]), constraint.message)
        path = row.get("path")
        yield ValidationResult(
            focus=_focus_id(_Converter()(focus)),
            label=_label(data, _Converter()(focus)),
            path=_short(path.value) if isinstance(path, ox.NamedNode) else None,
            message=message,
            shape=_short(str(constraint.shape)),
            value=_ox_text(row["value"]) if "value" in row else None,
            severity=constraint.severity,
        )


# ---------------------------------------------------------------- results


def _choice_results(choice: ClassChoice, data: rdflib.Graph) -> Iterator[ValidationResult]:
    for focus, value in check_class_choice(data, choice):
        yield ValidationResult(
            focus=_focus_id(focus),
            label=_label(data, focus),
            path=_short(str(choice.path)),
            message=choice.message,
            shape=_short(str(choice.shape)),
            value=_rdflib_text(value),
            severity=choice.severity,
        )


def _read_results(found: rdflib.Graph, data: rdflib.Graph) -> Iterator[ValidationResult]:
    # Only the report's own results: those nested under sh:detail (why an sh:node failed)
    # repeat, in pySHACL's words, what the outer result's sh:message already says.
    for node in found.objects(None, SH.result):
        focus = found.value(node, SH.focusNode)
        messages = sorted(str(m) for m in found.objects(node, SH.resultMessage))
        path = found.value(node, SH.resultPath)
        value = found.value(node, SH.value)
        shape = found.value(node, SH.sourceShape)
        yield ValidationResult(
            focus=_focus_id(focus),
            label=_label(data, focus),
            path=_path_text(found, path) if path is not None else None,
            message=messages[0] if messages else "constraint failed",
            shape=_short(str(shape)) if isinstance(shape, rdflib.URIRef) else _component(found, node),
            value=_rdflib_text(value) if value is not None else None,
            severity=SEVERITIES.get(found.value(node, SH.resultSeverity), "Violation"),
        )


def _component(found: rdflib.Graph, node) -> str:
    """An anonymous shape's name: the constraint component it failed (``sh:HasValueConstraintComponent``)."""
    component = found.value(node, SH.sourceConstraintComponent)
    return _short(str(component)) if component is not None else "(anonymous shape)"


def _focus_id(term) -> str:
    return f"_:{term}" if isinstance(term, rdflib.BNode) else str(term)


def _label(data: rdflib.Graph, node, depth: int = 2) -> str | None:
    """The node's label, else (up to ``depth`` steps back) the label of a node that points to it."""
    label = data.value(node, RDFS.label)
    if label is not None:
        return str(label)
    if depth == 0:
        return None
    for subject in sorted(data.subjects(None, node), key=str):
        found = _label(data, subject, depth - 1)
        if found is not None:
            return found
    return None


def _path_text(found: rdflib.Graph, path) -> str:
    """A SHACL property path as SPARQL writes it (``fs:change|fs:tenYearOutlook``, ``^fs:document``)."""
    if isinstance(path, rdflib.URIRef):
        return _short(str(path))
    alternatives = found.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(_path_text(found, p) for p in Collection(found, alternatives))
    inverse = found.value(path, SH.inversePath)
    if inverse is not None:
        return f"^{_path_text(found, inverse)}"
    for key, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = found.value(path, key)
        if inner is not None:
            return f"({_path_text(found, inner)}){mark}"
    if (path, RDF.first, None) in found:
        return "/".join(_path_text(found, p) for p in Collection(found, path))
    return str(path)


def _short(iri: str) -> str:
    """``iri`` with the longest known prefix (``fs:relevancy``), else in ``<…>``."""
    best = max((ns for ns in _SHORT.values() if iri.startswith(ns) and len(iri) > len(ns)), key=len, default=None)
    if best is None:
        return f"<{iri}>"
    name = next(p for p, ns in _SHORT.items() if ns == best)
    return f"{name}:{iri[len(best):]}"


def _rdflib_text(term) -> str:
    if isinstance(term, rdflib.Literal):
        return _literal_text(str(term), str(term.datatype) if term.datatype else None, term.language)
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    return _short(str(term))


def _ox_text(term) -> str:
    if isinstance(term, ox.Literal):
        return _literal_text(term.value, term.datatype.value if term.datatype else None, term.language)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return _short(term.value)


def _literal_text(value: str, datatype: str | None, language: str | None) -> str:
    """A literal as Turtle writes it, kept to one line of at most 80 characters.

    >>> _literal_text("7", "http://www.w3.org/2001/XMLSchema#integer", None)
    '"7"^^xsd:integer'
    >>> _literal_text('say "hi"', "http://www.w3.org/2001/XMLSchema#string", None)
    '"say \\\\"hi\\\\""'
    """
    shown = value if len(value) <= 80 else value[:79] + "…"
    shown = shown.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if language:
        return f'"{shown}"@{language}'
    if datatype in (None, "http://www.w3.org/2001/XMLSchema#string"):
        return f'"{shown}"'
    return f'"{shown}"^^{_short(datatype)}'
