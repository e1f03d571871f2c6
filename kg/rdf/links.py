"""Resolved entities, their mentions and the links between them → quads.

Entities (with the gazetteer facts of those found, and of their parent bodies) go to the
vocabulary graph; mentions, associations and scored links go to their document's graph.
Mentions are W3C Web Annotations: the body is the entity, the target the document or record,
and one selector node carries both the position (``oa:start``/``oa:end``) and the exact
quote (``oa:exact``), so that ``text[start:end] == exact`` on the stored literal.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import pyoxigraph as ox

from kg.extract.nlp import lemma_key
from kg.gazetteer import Gazetteer
from kg.iri import graph_iri, short_hash
from kg.namespaces import FS, OA, ORG, RDF, RDFS, SKOS, XSD
from kg.resolve import Resolution
from kg.types import EntityKind, Mention, Record, RecordKind

__all__ = ["LinkSettings", "link_quads"]

_N = ox.NamedNode
_CLASSES = {
    EntityKind.GOVERNMENT_BODY: (FS.GovernmentBody, FS.Organization),
    EntityKind.ORGANIZATION: (FS.Organization,),
    EntityKind.TECHNOLOGY: (FS.TechnologyConcept,),
    EntityKind.BEHAVIOR: (FS.BehaviorConcept,),
    EntityKind.BARRIER: (FS.Barrier,),
}
_SCHEMES = {EntityKind.TECHNOLOGY: FS.Technologies, EntityKind.BEHAVIOR: FS.BehaviorConcepts, EntityKind.BARRIER: FS.Barriers}
_GAZETTEER_FACTS = (SKOS.exactMatch, FS.bodyType, FS.status)


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


@cache
def _t(term) -> ox.NamedNode:
    return ox.NamedNode(str(term))


def _lit(text: str) -> ox.Literal:
    return ox.Literal(text)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_t(XSD.integer))


def link_quads(
    resolution: Resolution,
    rows: Sequence[Record],
    iris: Mapping[tuple, str],
    gazetteer: Gazetteer,
    settings: LinkSettings = LinkSettings(),
) -> list[ox.Quad]:
    """All quads for entities, mentions, associations and scored links, in a stable order."""
    vocab = _N(graph_iri("vocabulary"))
    quads: list[ox.Quad] = []
    quads.extend(_entity_quads(resolution, gazetteer, vocab))
    by_doc: dict[str, list[tuple[Mention, str]]] = defaultdict(list)
    for mention, iri in zip(resolution.mentions, resolution.targets):
        by_doc[mention.doc_id].append((mention, iri))
    rows_by_doc: dict[str, list[Record]] = defaultdict(list)
    for record in rows:
        rows_by_doc[record.doc_id].append(record)
    for doc_id in sorted(by_doc.keys() | rows_by_doc.keys()):
        graph = _N(graph_iri(f"doc/{doc_id}"))
        found = by_doc.get(doc_id, [])
        quads.extend(_mention_quads(doc_id, found, graph))
        quads.extend(_concept_quads(found, rows_by_doc.get(doc_id, []), iris, graph))
        quads.extend(_association_quads(doc_id, found, resolution, graph))
        quads.extend(_overlap_quads(doc_id, found, rows_by_doc.get(doc_id, []), iris, resolution, settings, graph))
    return quads


def _entity_quads(resolution: Resolution, gazetteer: Gazetteer, graph: ox.NamedNode) -> Iterable[ox.Quad]:
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
        node = _N(entity.iri)
        for cls in _CLASSES[entity.kind]:
            yield ox.Quad(node, _t(RDF.type), _t(cls), graph)
        yield ox.Quad(node, _t(RDFS.label), _lit(entity.label), graph)
        yield ox.Quad(node, _t(SKOS.prefLabel), _lit(entity.label), graph)
        aliases = set(entity.aliases)
        if entity.iri in known:
            aliases |= {a for a in known[entity.iri].aliases if a != entity.label}
        for alias in sorted(aliases - {entity.label}):
            yield ox.Quad(node, _t(SKOS.altLabel), _lit(alias), graph)
        if entity.kind in _SCHEMES:
            yield ox.Quad(node, _t(SKOS.inScheme), _t(_SCHEMES[entity.kind]), graph)
        yield ox.Quad(node, _t(FS.mentionCount), _int(counts[entity.iri]), graph)
        yield ox.Quad(node, _t(FS.documentCount), _int(len(docs[entity.iri])), graph)
        if entity.iri in known:
            yield from _gazetteer_facts(known[entity.iri], graph)
    for iri in sorted(ancestors):
        entry = known[iri]
        node = _N(iri)
        for cls in (FS.GovernmentBody, FS.Organization) if entry.is_government else (FS.Organization,):
            yield ox.Quad(node, _t(RDF.type), _t(cls), graph)
        yield ox.Quad(node, _t(RDFS.label), _lit(entry.label), graph)
        yield ox.Quad(node, _t(SKOS.prefLabel), _lit(entry.label), graph)
        yield from _gazetteer_facts(entry, graph)


def _gazetteer_facts(entry, graph: ox.NamedNode) -> Iterable[ox.Quad]:
    node = _N(entry.iri)
    for parent in entry.parents:
        yield ox.Quad(node, _t(ORG.subOrganizationOf), _N(parent), graph)
    for same in entry.same_as:
        yield ox.Quad(node, _t(SKOS.exactMatch), _N(same), graph)


def mention_iri(mention: Mention) -> str:
    """Stable IRI of one mention: its text's holder, section, offsets and kind."""
    return f"{mention.target}/mention/{mention.section}-{mention.start}-{mention.end}-{mention.kind.value}"


def _mention_quads(doc_id: str, found: Sequence[tuple[Mention, str]], graph: ox.NamedNode) -> Iterable[ox.Quad]:
    from kg.iri import document_iri

    doc = _N(document_iri(doc_id))
    mentioned: set[str] = set()
    holders: dict[str, set[str]] = defaultdict(set)
    for mention, iri in found:
        node_iri = mention_iri(mention)
        node, target, selector = _N(node_iri), _N(node_iri + "/target"), _N(node_iri + "/selector")
        yield ox.Quad(node, _t(RDF.type), _t(FS.Mention), graph)
        yield ox.Quad(node, _t(RDFS.label), _lit(mention.surface), graph)
        yield ox.Quad(node, _t(OA.hasBody), _N(iri), graph)
        yield ox.Quad(node, _t(OA.hasTarget), target, graph)
        yield ox.Quad(node, _t(FS.section), _lit(mention.section), graph)
        yield ox.Quad(node, _t(FS.rule), _lit(mention.rule), graph)
        yield ox.Quad(target, _t(RDF.type), _t(OA.SpecificResource), graph)
        yield ox.Quad(target, _t(OA.hasSource), _N(mention.target), graph)
        yield ox.Quad(target, _t(OA.hasSelector), selector, graph)
        yield ox.Quad(selector, _t(RDF.type), _t(OA.TextPositionSelector), graph)
        yield ox.Quad(selector, _t(RDF.type), _t(OA.TextQuoteSelector), graph)
        yield ox.Quad(selector, _t(OA.start), _int(mention.start), graph)
        yield ox.Quad(selector, _t(OA.end), _int(mention.end), graph)
        yield ox.Quad(selector, _t(OA.exact), _lit(mention.surface), graph)
        mentioned.add(iri)
        if mention.target != str(doc.value):
            holders[mention.target].add(iri)
    for iri in sorted(mentioned):
        yield ox.Quad(doc, _t(FS.mentions), _N(iri), graph)
    for holder in sorted(holders):
        for iri in sorted(holders[holder]):
            yield ox.Quad(_N(holder), _t(FS.mentions), _N(iri), graph)


def _concept_quads(found, rows: Sequence[Record], iris: Mapping[tuple, str], graph: ox.NamedNode) -> Iterable[ox.Quad]:
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
            yield ox.Quad(_N(node_iri), _t(FS.concept), _N(iri), graph)


def _association_quads(doc_id: str, found, resolution: Resolution, graph: ox.NamedNode) -> Iterable[ox.Quad]:
    from kg.iri import document_iri

    sentences: dict[tuple[str, str, int], tuple[str, set[str]]] = {}
    for mention, iri in found:
        key = (mention.target, mention.section, mention.sentence_start)
        sentence, members = sentences.setdefault(key, (mention.sentence, set()))
        members.add(iri)
    doc = _N(document_iri(doc_id))
    for key in sorted(sentences):
        sentence, members = sentences[key]
        ordered = sorted(members)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                node = _N(f"{document_iri(doc_id)}/association/{short_hash(repr((key, a, b)), 12)}")
                label = f"{resolution.entity(a).label} — {resolution.entity(b).label}"
                yield ox.Quad(node, _t(RDF.type), _t(FS.Association), graph)
                yield ox.Quad(node, _t(RDFS.label), _lit(label), graph)
                yield ox.Quad(node, _t(FS.participant), _N(a), graph)
                yield ox.Quad(node, _t(FS.participant), _N(b), graph)
                yield ox.Quad(node, _t(FS.evidence), _lit(sentence), graph)
                yield ox.Quad(node, _t(FS.inDocument), doc, graph)
                yield ox.Quad(_N(a), _t(FS.associatedWith), _N(b), graph)


@cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    cue = {"barrier", "hurdle", "gap", "limitation", "constraint", "bottleneck", "obstacle", "impediment", "shortage",
           "shortfall", "lack", "absence", "scarcity", "resistance", "challenge", "issue", "problem", "need"}
    return frozenset(STOP_WORDS) | cue


def content_words(text: str) -> frozenset[str]:
    """Lemma-keyed words of ``text`` that carry meaning (stop and cue words dropped).

    >>> sorted(content_words("Addressing the legacy systems gap"))
    ['addressing', 'legacy', 'system']
    """
    stop = _stop_words()
    return frozenset(w for w in lemma_key(text).split() if w not in stop and re.search(r"[a-z]", w) and len(w) > 1)


def _overlap_quads(doc_id, found, rows: Sequence[Record], iris, resolution: Resolution, settings: LinkSettings, graph) -> Iterable[ox.Quad]:
    from kg.iri import document_iri

    doc = _N(document_iri(doc_id))
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
        node = _N(f"{document_iri(doc_id)}/link/{short_hash(repr((source, target, str(predicate))), 12)}")
        yield ox.Quad(_N(source), _t(predicate), _N(target), graph)
        yield ox.Quad(node, _t(RDF.type), _t(FS.ScoredLink), graph)
        yield ox.Quad(node, _t(RDFS.label), _lit(f"{str(predicate).rsplit('#', 1)[1]} {score:.2f}"), graph)
        yield ox.Quad(node, _t(FS.linkSource), _N(source), graph)
        yield ox.Quad(node, _t(FS.linkTarget), _N(target), graph)
        yield ox.Quad(node, _t(FS.score), ox.Literal(f"{score:.3f}", datatype=_t(XSD.decimal)), graph)
        yield ox.Quad(node, _t(FS.rule), _lit("lexical-overlap"), graph)
        yield ox.Quad(node, _t(FS.inDocument), doc, graph)
