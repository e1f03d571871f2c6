"""Resolved entities, their mentions and the links between them → N-Quads statements.

Entities (with the gazetteer facts of those found, and of their parent bodies) go to the
vocabulary graph; mentions, associations and scored links go to their document's graph.
Mentions are W3C Web Annotations: the body is the entity, the target the document or record,
and one selector node carries both the position (``oa:start``/``oa:end``) and the exact
quote (``oa:exact``), so that ``text[start:end] == exact`` on the stored literal.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
import functools
from functools import cache

from kg.extract.nlp import lemma_key
from kg.gazetteer import Gazetteer
from kg.iri import graph_iri, short_hash
from kg.namespaces import FS, OA, ORG, RDF, RDFS, SKOS
from kg.rdf.nq import decimal_lit, int_lit, lit, term
from kg.rdf.nq import iri as _iri
from kg.resolve import Resolution
from kg.types import EntityKind, Mention, Record, RecordKind, SourceDoc, Statements

__all__ = ["LinkSettings", "link_quads", "mention_scaffolding", "part_keys", "type_counts", "without_scaffolding"]

_CLASSES = {
    EntityKind.GOVERNMENT_BODY: (FS.GovernmentBody, FS.Organization),
    EntityKind.ORGANIZATION: (FS.Organization,),
    EntityKind.TECHNOLOGY: (FS.TechnologyConcept,),
    EntityKind.BEHAVIOR: (FS.BehaviorConcept,),
    EntityKind.BARRIER: (FS.Barrier,),
}
_SCHEMES = {EntityKind.TECHNOLOGY: FS.Technologies, EntityKind.BEHAVIOR: FS.BehaviorConcepts, EntityKind.BARRIER: FS.Barriers}
_GAZETTEER_FACTS = (SKOS.exactMatch, FS.bodyType, FS.status)
# rdflib builds a new URIRef on every attribute access of its namespaces: hot loops use these.
_TYPE, _LABEL = term(RDF.type), term(RDFS.label)
_PREF_LABEL, _ALT_LABEL, _IN_SCHEME, _EXACT_MATCH = term(SKOS.prefLabel), term(SKOS.altLabel), term(SKOS.inScheme), term(SKOS.exactMatch)


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Thresholds of the lexical-overlap links.

    Attributes:
        barrier_coverage: share of a barrier's content words a behavior row must contain to
            be said to address it.
        tech_issue_jaccard: Jaccard overlap of content words above which a technology row and
            an issue row of one document are related.
    """

    barrier_coverage: float = 0.6
    tech_issue_jaccard: float = 0.2


def link_quads(
    resolution: Resolution,
    rows: Sequence[Record],
    iris: Mapping[tuple, str],
    gazetteer: Gazetteer,
    settings: LinkSettings = LinkSettings(),
    *,
    skip: Container[str] = (),
) -> Statements:
    """All statements for entities, mentions, associations and scored links, in a stable order,
    but those of the documents in ``skip``: a rebuild takes their graphs from its cache."""
    vocab = _iri(graph_iri("vocabulary"))
    graphs: dict[str, list[str]] = {}
    graphs[graph_iri("vocabulary")] = list(_entity_quads(resolution, gazetteer, vocab))
    by_doc: dict[str, list[tuple[Mention, str]]] = defaultdict(list)
    for mention, iri in zip(resolution.mentions, resolution.targets):
        by_doc[mention.doc_id].append((mention, iri))
    rows_by_doc: dict[str, list[Record]] = defaultdict(list)
    for record in rows:
        rows_by_doc[record.doc_id].append(record)
    for doc_id in sorted(by_doc.keys() | rows_by_doc.keys()):
        if doc_id in skip:
            continue
        graph = _iri(graph_iri(f"doc/{doc_id}"))
        lines = graphs[graph_iri(f"doc/{doc_id}")] = []
        found = by_doc.get(doc_id, [])
        lines.extend(_mention_quads(doc_id, found, graph))
        lines.extend(_concept_quads(found, rows_by_doc.get(doc_id, []), iris, graph))
        lines.extend(_association_quads(doc_id, found, resolution, graph))
        lines.extend(_overlap_quads(doc_id, found, rows_by_doc.get(doc_id, []), iris, resolution, settings, graph))
    return Statements(tuple((g, tuple(ls)) for g, ls in graphs.items() if ls))


_TYPE_PREFIX = f" {_TYPE} <{FS._NS}"


def type_counts(lines: Iterable[str]) -> Counter[str]:
    """Statements typing a node with an ontology class, per class local name."""
    counts: Counter[str] = Counter()
    start = len(_TYPE_PREFIX)
    for line in lines:
        at = line.find(_TYPE_PREFIX)
        if at >= 0:
            counts[line[at + start: line.index(">", at + start)]] += 1
    return counts


def part_keys(docs: Sequence[SourceDoc], rows: Sequence[Record], iris: Mapping[tuple, str], resolution: Resolution,
              settings: LinkSettings) -> dict[str, str]:
    """For each document graph, a hash of everything its statements are made from: the
    document, its rows and their IRIs, its mentions and their entities (with the entities'
    labels, which associations and links quote) and the link thresholds."""
    from kg.cache import content_key

    rows_by_doc: dict[str, list[str]] = defaultdict(list)
    for record in rows:
        # Fields as tuples: their repr is made in C, a dataclass's in Python (a tenth of a
        # second per 20,000 at corpus scale).
        rows_by_doc[record.doc_id].append(f"{record.values()!r}\t{iris[record.content_key()]}")
    found: dict[str, list[str]] = defaultdict(list)
    labels: dict[str, set[str]] = defaultdict(set)
    for mention, iri in zip(resolution.mentions, resolution.targets):
        found[mention.doc_id].append(f"{mention.values()!r}\t{iri}")
        labels[mention.doc_id].add(iri)
    label = {e.iri: e.label for e in resolution.entities}
    common = repr(settings)
    return {
        graph_iri(f"doc/{doc.doc_id}"): content_key(
            common, repr(doc), *rows_by_doc.get(doc.doc_id, ()), "\x00", *found.get(doc.doc_id, ()), "\x00",
            *(f"{iri}\t{label[iri]}" for iri in sorted(labels.get(doc.doc_id, ()))))
        for doc in docs
    }


def _entity_quads(resolution: Resolution, gazetteer: Gazetteer, graph: str) -> Iterable[str]:
    docs: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for mention, iri in zip(resolution.mentions, resolution.targets):
        docs[iri].add(mention.doc_id)
        counts[iri] += 1
    known = {e.iri: e for e in gazetteer.entries}
    described = {e.iri for e in resolution.entities}
    # Parent bodies of a mentioned body are described too, so org:subOrganizationOf never dangles.
    ancestors: set[str] = set()
    stack = [p for e in resolution.entities if e.iri in known for p in known[e.iri].parents]
    while stack:
        parent = stack.pop()
        if parent in known and parent not in described and parent not in ancestors:
            ancestors.add(parent)
            stack.extend(known[parent].parents)
    for entity in resolution.entities:
        node = _iri(entity.iri)
        for cls in _CLASSES[entity.kind]:
            yield f"{node} {_TYPE} {term(cls)} {graph} .\n"
        yield f"{node} {_LABEL} {lit(entity.label)} {graph} .\n"
        yield f"{node} {_PREF_LABEL} {lit(entity.label)} {graph} .\n"
        aliases = set(entity.aliases)
        if entity.iri in known:
            aliases |= {a for a in known[entity.iri].aliases if a != entity.label}
        for alias in sorted(aliases - {entity.label}):
            yield f"{node} {_ALT_LABEL} {lit(alias)} {graph} .\n"
        if entity.kind in _SCHEMES:
            yield f"{node} {_IN_SCHEME} {term(_SCHEMES[entity.kind])} {graph} .\n"
        yield f"{node} {term(FS.mentionCount)} {int_lit(counts[entity.iri])} {graph} .\n"
        yield f"{node} {term(FS.documentCount)} {int_lit(len(docs[entity.iri]))} {graph} .\n"
        if entity.iri in known:
            yield from _gazetteer_facts(known[entity.iri], graph)
    for iri in sorted(ancestors):
        entry = known[iri]
        node = _iri(iri)
        for cls in (FS.GovernmentBody, FS.Organization) if entry.is_government else (FS.Organization,):
            yield f"{node} {_TYPE} {term(cls)} {graph} .\n"
        yield f"{node} {_LABEL} {lit(entry.label)} {graph} .\n"
        yield f"{node} {_PREF_LABEL} {lit(entry.label)} {graph} .\n"
        yield from _gazetteer_facts(entry, graph)


def _gazetteer_facts(entry, graph: str) -> Iterable[str]:
    node = _iri(entry.iri)
    for parent in entry.parents:
        yield f"{node} {term(ORG.subOrganizationOf)} {_iri(parent)} {graph} .\n"
    for same in entry.same_as:
        yield f"{node} {_EXACT_MATCH} {_iri(same)} {graph} .\n"


def mention_iri(mention: Mention) -> str:
    """Stable IRI of one mention: its text's holder, section, offsets and kind."""
    return f"{mention.target}/mention/{mention.section}-{mention.start}-{mention.end}-{mention.kind.value}"


_HAS_BODY = term(OA.hasBody)


def _mention_lines(mention: Mention, graph: str, body: str | None) -> list[str]:
    """One mention's annotation; without its ``oa:hasBody`` (the resolved entity) when ``body``
    is ``None``."""
    node_iri = mention_iri(mention)
    node, target, selector = _iri(node_iri), _iri(node_iri + "/target"), _iri(node_iri + "/selector")
    surface = lit(mention.surface)
    lines = [f"{node} {_TYPE} {_MENTION} {graph} .\n", f"{node} {_LABEL} {surface} {graph} .\n"]
    if body is not None:
        lines.append(f"{node} {_HAS_BODY} {body} {graph} .\n")
    lines += [
        f"{node} {_HAS_TARGET} {target} {graph} .\n",
        f"{node} {_SECTION} {lit(mention.section)} {graph} .\n",
        f"{node} {_RULE} {lit(mention.rule)} {graph} .\n",
        f"{target} {_TYPE} {_SPECIFIC} {graph} .\n",
        f"{target} {_SOURCE} {_iri(mention.target)} {graph} .\n",
        f"{target} {_HAS_SELECTOR} {selector} {graph} .\n",
        f"{selector} {_TYPE} {_POSITION} {graph} .\n",
        f"{selector} {_TYPE} {_QUOTE} {graph} .\n",
        f"{selector} {_START} {int_lit(mention.start)} {graph} .\n",
        f"{selector} {_END} {int_lit(mention.end)} {graph} .\n",
        f"{selector} {_EXACT} {surface} {graph} .\n",
    ]
    return lines


_MENTION, _HAS_TARGET, _SECTION, _RULE = term(FS.Mention), term(OA.hasTarget), term(FS.section), term(FS.rule)
_SPECIFIC, _SOURCE, _HAS_SELECTOR = term(OA.SpecificResource), term(OA.hasSource), term(OA.hasSelector)
_POSITION, _QUOTE, _START, _END, _EXACT = (term(OA.TextPositionSelector), term(OA.TextQuoteSelector), term(OA.start),
                                           term(OA.end), term(OA.exact))


def mention_scaffolding(mentions: Iterable[Mention]) -> Iterator[str]:
    """The statements of ``mentions``' annotations that do not depend on resolution (all but
    ``oa:hasBody``): the same lines ``link_quads`` writes for them, known before it runs."""
    for mention in mentions:
        yield from _mention_lines(mention, _iri(graph_iri(f"doc/{mention.doc_id}")), None)


def without_scaffolding(statements: Statements, mentions: Iterable[Mention]) -> Iterator[str]:
    """``statements``' lines, less those ``mention_scaffolding(mentions)`` gives."""
    nodes: set[str] = set()
    for mention in mentions:
        node = mention_iri(mention)
        nodes.update((f"<{node}>", f"<{node}/target>", f"<{node}/selector>"))
    for _, lines in statements.graphs:
        for line in lines:
            subject, predicate, _ = line.split(" ", 2)
            if subject not in nodes or predicate == _HAS_BODY:
                yield line


def _mention_quads(doc_id: str, found: Sequence[tuple[Mention, str]], graph: str) -> Iterable[str]:
    from kg.iri import document_iri

    doc = _iri(document_iri(doc_id))
    mentioned: set[str] = set()
    holders: dict[str, set[str]] = defaultdict(set)
    for mention, iri in found:
        yield from _mention_lines(mention, graph, _iri(iri))
        mentioned.add(iri)
        if _iri(mention.target) != doc:
            holders[mention.target].add(iri)
    mentions = term(FS.mentions)
    for iri in sorted(mentioned):
        yield f"{doc} {mentions} {_iri(iri)} {graph} .\n"
    for holder in sorted(holders):
        for iri in sorted(holders[holder]):
            yield f"{_iri(holder)} {mentions} {_iri(iri)} {graph} .\n"


def _concept_quads(found, rows: Sequence[Record], iris: Mapping[tuple, str], graph: str) -> Iterable[str]:
    """A record stands for the concept its whole name names (technology, behavior), or for the
    barriers its name (else its description) names (concerns, issues)."""
    by_holder: dict[tuple[str, str], list[tuple[Mention, str]]] = defaultdict(list)
    for mention, iri in found:
        by_holder[(mention.target, mention.section)].append((mention, iri))
    for record in rows:
        node_iri = iris[record.content_key()]
        concepts: set[str] = set()
        if record.kind in (RecordKind.TECHNOLOGY, RecordKind.BEHAVIOR) and record.name:
            concepts = {iri for m, iri in by_holder.get((node_iri, "name"), ()) if m.rule == "table-name" and m.end - m.start == len(record.name)}
        elif record.kind in (RecordKind.CONCERN, RecordKind.ISSUE):
            for section in ("name", "description"):
                concepts = {iri for m, iri in by_holder.get((node_iri, section), ()) if m.kind is EntityKind.BARRIER}
                if concepts:
                    break
        for iri in sorted(concepts):
            yield f"{_iri(node_iri)} {term(FS.concept)} {_iri(iri)} {graph} .\n"


def _association_quads(doc_id: str, found, resolution: Resolution, graph: str) -> Iterable[str]:
    from kg.iri import document_iri

    sentences: dict[tuple[str, str, int], tuple[str, set[str]]] = {}
    for mention, iri in found:
        key = (mention.target, mention.section, mention.sentence_start)
        sentence, members = sentences.setdefault(key, (mention.sentence, set()))
        members.add(iri)
    doc = _iri(document_iri(doc_id))
    for key in sorted(sentences):
        sentence, members = sentences[key]
        ordered = sorted(members)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                node = _iri(f"{document_iri(doc_id)}/association/{short_hash(repr((key, a, b)), 12)}")
                label = f"{resolution.entity(a).label} — {resolution.entity(b).label}"
                yield f"{node} {_TYPE} {term(FS.Association)} {graph} .\n"
                yield f"{node} {_LABEL} {lit(label)} {graph} .\n"
                yield f"{node} {term(FS.participant)} {_iri(a)} {graph} .\n"
                yield f"{node} {term(FS.participant)} {_iri(b)} {graph} .\n"
                yield f"{node} {term(FS.evidence)} {lit(sentence)} {graph} .\n"
                yield f"{node} {term(FS.inDocument)} {doc} {graph} .\n"
                yield f"{_iri(a)} {term(FS.associatedWith)} {_iri(b)} {graph} .\n"


@cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    cue = {"barrier", "hurdle", "gap", "limitation", "constraint", "bottleneck", "obstacle", "impediment", "shortage",
           "shortfall", "lack", "absence", "scarcity", "resistance", "challenge", "issue", "problem", "need"}
    return frozenset(STOP_WORDS) | cue


_LETTER = re.compile("[a-z]")


@functools.lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """Lemma-keyed words of ``text`` that carry meaning (stop and cue words dropped).

    >>> sorted(content_words("Addressing the legacy systems gap"))
    ['addressing', 'legacy', 'system']
    """
    stop = _stop_words()
    return frozenset(w for w in lemma_key(text).split() if w not in stop and len(w) > 1 and _LETTER.search(w))


def _overlap_quads(doc_id, found, rows: Sequence[Record], iris, resolution: Resolution, settings: LinkSettings, graph) -> Iterable[str]:
    from kg.iri import document_iri

    doc = _iri(document_iri(doc_id))
    barriers = sorted({iri for m, iri in found if m.kind is EntityKind.BARRIER})
    behaviors = [r for r in rows if r.kind is RecordKind.BEHAVIOR]
    techs = [r for r in rows if r.kind is RecordKind.TECHNOLOGY]
    issues = [r for r in rows if r.kind is RecordKind.ISSUE]
    text = {id(r): content_words(" ".join(filter(None, (r.name, r.description)))) for r in behaviors + techs + issues}
    links: list[tuple[str, str, object, float]] = []
    for record in behaviors:
        words = text[id(record)]
        for barrier in barriers:
            need = content_words(resolution.entity(barrier).label)
            if need:
                score = len(need & words) / len(need)
                if score >= settings.barrier_coverage:
                    links.append((iris[record.content_key()], barrier, FS.addressesBarrier, score))
    for tech in techs:
        for issue in issues:
            a, b = text[id(tech)], text[id(issue)]
            if a and b:
                score = len(a & b) / len(a | b)
                if score >= settings.tech_issue_jaccard:
                    links.append((iris[tech.content_key()], iris[issue.content_key()], FS.relatedIssue, score))
    for source, target, predicate, score in sorted(links, key=lambda l: (l[0], l[1])):
        node = _iri(f"{document_iri(doc_id)}/link/{short_hash(repr((source, target, str(predicate))), 12)}")
        yield f"{_iri(source)} {term(predicate)} {_iri(target)} {graph} .\n"
        yield f"{node} {_TYPE} {term(FS.ScoredLink)} {graph} .\n"
        label = f"{str(predicate).rsplit('#', 1)[1]} {score:.2f}"
        yield f"{node} {_LABEL} {lit(label)} {graph} .\n"
        yield f"{node} {term(FS.linkSource)} {_iri(source)} {graph} .\n"
        yield f"{node} {term(FS.linkTarget)} {_iri(target)} {graph} .\n"
        yield f"{node} {term(FS.score)} {decimal_lit(score)} {graph} .\n"
        yield f"{node} {term(FS.rule)} {lit('lexical-overlap')} {graph} .\n"
        yield f"{node} {term(FS.inDocument)} {doc} {graph} .\n"
