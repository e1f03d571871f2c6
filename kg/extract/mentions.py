"""Read every text unit with the pipeline and turn its spans into ``Mention``s.

spaCy stays inside ``kg.extract``: what leaves this module are plain ``Mention`` values whose
offsets slice the exact text the graph stores.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

import numpy as np
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.cache import BuildCache, content_key
from kg.extract.acronyms import find_acronym_definitions
from kg.extract.nlp import TableTerm, lemma_key, table_term_ok
from kg.gazetteer import is_common_word
from kg.ingest.language import detect_language
from kg.iri import document_iri
from kg.types import EntityKind, Mention, Record, RecordKind, SourceDoc, TextUnit

if TYPE_CHECKING:
    from kg.extract.dask_scan import Scanner

__all__ = ["RECORD_SECTIONS", "drop_foreign_rule_mentions", "extract_mentions", "scan_batches", "table_terms", "text_units"]

RECORD_SECTIONS = ("name", "description", "change", "ten_year", "driving_force")
_LABEL_KIND = {
    "GOV": EntityKind.GOVERNMENT_BODY,
    "ORG": EntityKind.ORGANIZATION,
    "TECH": EntityKind.TECHNOLOGY,
    "BEHAV": EntityKind.BEHAVIOR,
    "BARRIER": EntityKind.BARRIER,
}
_TERM_LABEL = {RecordKind.TECHNOLOGY: "TECH", RecordKind.BEHAVIOR: "BEHAV"}


def text_units(docs: Sequence[SourceDoc], rows: Sequence[Record], iris: Mapping[tuple, str]) -> list[TextUnit]:
    """Every text extraction reads: titles, summaries, keywords, themes and record cells.

    ``## Closest`` titles are left out: they name other documents, not this one's content.
    """
    units: list[TextUnit] = []
    for doc in docs:
        target = document_iri(doc.doc_id)
        if doc.title:
            units.append(TextUnit(doc.doc_id, target, "title", doc.title))
        if doc.summary:
            units.append(TextUnit(doc.doc_id, target, "summary", doc.summary))
        for section, labels in (("keyword", doc.keywords), ("theme", doc.themes)):
            for label in labels:
                units.append(TextUnit(doc.doc_id, target, section, label))
    for record in rows:
        target = iris[record.content_key()]
        for section in RECORD_SECTIONS:
            value = getattr(record, section)
            if value:
                units.append(TextUnit(record.doc_id, target, section, value))
    return units


_LANGUAGE_FREE_RULES = ("gazetteer", "acronym", "table-name")


def drop_foreign_rule_mentions(mentions: Sequence[Mention], docs: Sequence[SourceDoc], units: Sequence[TextUnit],
                               languages: Mapping[tuple[str, str], str | None] | None = None) -> list[Mention]:
    """Keep only language-free mentions (known names, acronyms) in text that is not English.

    The name rules and barrier cues are English; on a French summary they would be guessing.
    A document's own text takes the document's language; a table cell of five words or more
    its own (the source pipeline often wrote English tables for French articles), taken from
    ``languages`` ((target, section) → language, as ``extract_mentions`` found them) where
    it holds the cell.
    """
    doc_language = {document_iri(d.doc_id): d.language for d in docs}
    languages = languages or {}
    # Only texts holding a mention that could be dropped need their language (detecting it
    # for every table cell of a corpus cost seconds).
    asked = {(m.target, m.section) for m in mentions if _needs_language(m.rule)}
    foreign: set[tuple[str, str]] = set()
    for unit in units:
        place = (unit.target, unit.section)
        if place not in asked:
            continue
        if unit.target in doc_language:
            language = doc_language[unit.target]
        elif place in languages:
            language = languages[place]
        else:
            language = _cell_language(unit.text)
        if language not in (None, "en"):
            foreign.add((unit.target, unit.section))
    if not foreign:
        return list(mentions)
    return [m for m in mentions if (m.target, m.section) not in foreign or not _needs_language(m.rule)]


def _needs_language(rule: str) -> bool:
    """Whether a mention found by ``rule`` is dropped from text that is not English."""
    return rule not in _LANGUAGE_FREE_RULES and not rule.startswith("model:")


def _cell_language(text: str) -> str | None:
    return detect_language(text, min_words=5)


def table_terms(rows: Iterable[Record]) -> list[TableTerm]:
    """Technology and behavior names, one term per spelling, to be found in any text."""
    seen: dict[tuple[str, str], TableTerm | None] = {}
    for record in rows:
        label = _TERM_LABEL.get(record.kind)
        if label is None or not record.name:
            continue
        spelling = (label, record.name.lower())
        if spelling in seen or not table_term_ok(record.name):
            continue  # the first row with a spelling gives its term, as before
        key = lemma_key(record.name)
        seen[spelling] = TableTerm(record.name, label, key) if key else None
    return [term for spelling in sorted(seen) if (term := seen[spelling]) is not None]


def extract_mentions(
    units: Sequence[TextUnit],
    nlp: Language | Callable[[Sequence[str]], Language],
    *,
    jobs: int = 1,
    batch_size: int = 256,
    cache: BuildCache | None = None,
    terms: Sequence[TableTerm] = (),
    scanner: Scanner | None = None,
    found_languages: dict[tuple[str, str], str | None] | None = None,
) -> list[Mention]:
    """Find entity mentions in every unit.

    Acronyms defined anywhere in the corpus (``Long Form (LF)``) are then found wherever else
    they appear, with the exact case, as mentions of the long form's entity. With ``jobs`` > 1
    the units are split among forked worker processes that inherit the pipeline (spaCy's own
    ``n_process`` pickles it for each worker, which costs more than it saves here); ``nlp`` may
    be a function that makes a pipeline for the texts it is given (as spaCy will read them),
    called only if some text needs reading; with a
    ``scanner`` (a Dask cluster) they run as its tasks. The result is the same either way.
    ``found_languages``, if given, is filled with the languages of table cells that
    ``drop_foreign_rule_mentions`` asks for, detected during the scan.

    With a ``cache``, a text read by an earlier build with the same pipeline is not read
    again, unless a table name (``terms``, the ones the pipeline was made with) was added,
    removed or respelt since and occurs in it.
    """
    batches = list(_batches(units))
    keys = [_batch_key(text, parts) for text, parts in batches]
    results: dict[str, BatchResult] = {}
    if cache is not None:
        results = cache.get_scans(keys)
        stale = _changed_terms(cache.get_meta("terms"), terms)
        if stale:
            results = {k: v for (text, _), k in zip(batches, keys) if (v := results.get(k)) is not None
                       and not _mentions_any(text, stale)}
    todo = [i for i, key in enumerate(keys) if key not in results]
    found = _scan_all([batches[i] for i in todo], nlp, jobs, batch_size, scanner) if todo else []
    fresh = {keys[i]: result for i, result in zip(todo, found)}
    results.update(fresh)
    if cache is not None:
        cache.put_scans(fresh.items())
        cache.put_meta("terms", sorted((t.text, t.label, t.key) for t in terms))
    mentions: list[Mention] = []
    definitions: _Definitions = defaultdict(Counter)
    for (_, parts), key in zip(batches, keys):
        raw, defs, languages = results[key]
        if found_languages is not None:
            for index, language in languages:
                unit = parts[index][0]
                found_languages[(unit.target, unit.section)] = language
        for index, *rest in raw:
            unit = parts[index][0]
            mentions.append(Mention(unit.doc_id, unit.target, unit.section, rest[0], rest[1], rest[2], EntityKind(rest[3]),
                                    *rest[4:]))
        for short, key_, kind in defs:
            definitions[short][(key_, EntityKind(kind))] += 1
    mentions = _corroborate_title_case(units, mentions)
    mentions.extend(_acronym_mentions(units, definitions))
    mentions.sort(key=lambda m: (m.doc_id, m.target, m.section, m.start, m.end, m.kind))
    return _drop_overlaps(mentions)


_Definitions = dict[str, Counter]
# One batch's scan: its mentions as (part index, start, end, surface, kind, rule, key, sentence,
# sentence start), its acronym definitions as (short, key, kind) and the languages of its
# table cells as (part index, language): plain values, so that they cache (marshal) and travel
# (Dask) cheaply.
BatchResult = tuple[list[tuple], list[tuple[str, str, str]], list[tuple[int, str | None]]]
Batch = tuple[str, list[tuple[TextUnit, int]]]


_JOIN = "\n\n"


_PIECE = 100_000


def _batch_key(text: str, parts: Sequence[tuple[TextUnit, int]]) -> str:
    # Where each part sits, as one string: ids, IRIs and section names hold no tab or newline.
    # Two hashed parts, not one a unit: a corpus has a hundred thousand batches.
    return content_key(text, "\n".join(f"{u.doc_id}\t{u.target}\t{u.section}\t{offset}" for u, offset in parts))


def _changed_terms(before: object, terms: Sequence[TableTerm]) -> list[str]:
    """What a changed table name could match: its text without spaces, lower-cased."""
    old = {tuple(t) for t in before} if isinstance(before, list) else set()
    new = {(t.text, t.label, t.key) for t in terms}
    return sorted({_squash(text) for text, _, _ in old ^ new})


def _squash(text: str) -> str:
    return "".join(text.lower().split())


def _mentions_any(text: str, squashed: Sequence[str]) -> bool:
    """Whether a phrase matcher could find one of ``squashed`` in ``text``: a token match
    joins the tokens' lower forms, which then occur in the lower-cased text without its spaces."""
    flat = _squash(text)
    return any(s in flat for s in squashed)


def _pieces(unit: TextUnit) -> Iterator[Batch]:
    """A text too long for one spaCy doc, cut after sentence ends into pieces of at most
    ``_PIECE`` characters; each piece's offset is negative, so that offsets in the piece map
    back into the whole text."""
    text, start = unit.text, 0
    while start < len(text):
        end = min(start + _PIECE, len(text))
        if end < len(text):
            cut = max(text.rfind(". ", start, end), text.rfind("\n", start, end))
            end = cut + 1 if cut > start else end
        yield text[start:end], [(unit, -start)]
        start = end


def _batches(units: Sequence[TextUnit]) -> Iterator[Batch]:
    """One text per holder: a record's cells (or a document's keywords) joined by blank lines,
    with each unit's offset in it; one spaCy doc per record instead of one per cell."""
    i = 0
    while i < len(units):
        if len(units[i].text) > _PIECE:
            yield from _pieces(units[i])
            i += 1
            continue
        j = i + 1
        while (j < len(units) and units[j].target == units[i].target and units[j].section not in ("title", "summary")
               and len(units[j].text) <= _PIECE):
            j += 1
        if units[i].section in ("title", "summary"):
            j = i + 1
        parts, offset = [], 0
        for unit in units[i:j]:
            parts.append((unit, offset))
            offset += len(unit.text) + len(_JOIN)
        yield _JOIN.join(u.text for u in units[i:j]), parts
        i = j


def _scan_all(batches: Sequence[Batch], nlp: Language | Callable[[Sequence[str]], Language], jobs: int, batch_size: int,
              scanner: Scanner | None) -> list[BatchResult]:
    if scanner is not None:
        return scanner.scan(batches)
    if not isinstance(nlp, Language):
        nlp = nlp([_for_spacy(text) for text, _ in batches])
    if jobs > 1 and len(batches) >= 4 * batch_size:
        return _scan_parallel(batches, nlp, jobs, batch_size)
    return scan_batches(batches, nlp, batch_size)


# A run of this many punctuation marks is blanked (same length, so offsets hold) before spaCy
# reads the text: its tokenizer splits such a run one mark at a time, in quadratic time (10,000
# "[" took 10 s; a 100,000-character piece of them would take a quarter of an hour).
_PUNCTUATION_RUN = re.compile(r"(?:[^\w\s]|_){32,}")


def _for_spacy(text: str) -> str:
    return _PUNCTUATION_RUN.sub(lambda m: " " * len(m.group()), text)


def scan_batches(batches: Sequence[Batch], nlp: Language, batch_size: int = 256) -> list[BatchResult]:
    """Run the pipeline over ``batches``; one result per batch, in order."""
    model = nlp.meta.get("kg_model", "")
    results: list[BatchResult] = []
    for (text, parts), doc in zip(batches, nlp.pipe((_for_spacy(text) for text, _ in batches), batch_size=batch_size)):
        found = list(_doc_mentions(parts, doc, model))
        results.append((found, list(_definitions(text, parts, found)), _languages(parts, found)))
    return results


def _languages(parts: Sequence[tuple[TextUnit, int]], found: Sequence[tuple]) -> list[tuple[int, str | None]]:
    """The language of each table cell holding a mention that text not in English drops
    (see ``drop_foreign_rule_mentions``): found here, in the workers, and cached with the scan."""
    asked = sorted({m[0] for m in found if _needs_language(m[5])})
    return [(i, _cell_language(parts[i][0].text)) for i in asked
            if parts[i][0].target != document_iri(parts[i][0].doc_id)]


def _definitions(text: str, parts: Sequence[tuple[TextUnit, int]], found: list[tuple]) -> Iterator[tuple[str, str, str]]:
    """Acronyms defined in the batch (``Long Form (LF)``) whose long form is a found name."""
    # Candidates by part and start, so a long text with many names is not scanned once per
    # definition: a mention covering the long form starts at most ``longest`` before its end.
    starts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for order, m in enumerate(found):
        if m[4] in _DEFINABLE:
            starts[m[0]].append((m[1], order))
    for entries in starts.values():
        entries.sort()
    longest = max((m[2] - m[1] for m in found), default=0)
    for index, (unit, offset) in enumerate(parts):
        # A piece of a long text (negative offset) is searched alone, not the whole text again.
        source, shift = (text, -offset) if offset <= 0 and len(parts) == 1 else (unit.text, 0)
        entries = starts.get(index, [])
        keys = [start for start, _ in entries]
        for definition in find_acronym_definitions(source):
            long_start, long_end = definition.long_start + shift, definition.long_end + shift
            low = bisect_left(keys, long_end - 1 - longest)
            high = bisect_right(keys, long_start)
            covering = [order for _, order in entries[low:high] if found[order][2] >= long_end - 1]
            if covering:
                first = found[min(covering)]
                yield definition.short, first[6], first[4]


_DEFINABLE = frozenset({EntityKind.GOVERNMENT_BODY.value, EntityKind.ORGANIZATION.value, EntityKind.TECHNOLOGY.value})
_WORKER_NLP: Language | None = None


def _scan_chunk(args: tuple[Sequence[Batch], int]) -> list[BatchResult]:
    batches, batch_size = args
    assert _WORKER_NLP is not None
    return scan_batches(batches, _WORKER_NLP, batch_size)


def _scan_parallel(batches: Sequence[Batch], nlp: Language, jobs: int, batch_size: int) -> list[BatchResult]:
    import multiprocessing

    global _WORKER_NLP
    _WORKER_NLP = nlp
    # Many chunks, so that a worker slowed by other processes does not leave the other idle.
    size = max(batch_size, -(-len(batches) // (jobs * 16)))
    chunks = [(batches[i:i + size], batch_size) for i in range(0, len(batches), size)]
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_scan_chunk, chunks)
    finally:
        _WORKER_NLP = None
    return [result for chunk in results for result in chunk]


# Headline-style fields: capitals there do not mark names ("Erosion of Public Trust").
_HEADLINE_SECTIONS = frozenset({"title", "name", "keyword", "theme"})


def _corroborate_title_case(units: Sequence[TextUnit], mentions: list[Mention]) -> list[Mention]:
    """In headline-style text (titles, table names) capitals prove nothing, so keep there
    a name the head-word rule found only when it also found it in prose somewhere in the
    corpus, and a one-word gazetteer name that is also a common word ("Visa", "Apple") only
    when the same document names that organisation in prose."""
    prose = {m.key.casefold() for m in mentions if m.rule == "org-pattern" and m.section not in _HEADLINE_SECTIONS}
    prose_in_doc = {(m.doc_id, m.key) for m in mentions if m.section not in _HEADLINE_SECTIONS}
    kept = []
    for m in mentions:
        if m.section in _HEADLINE_SECTIONS:
            if m.rule == "org-pattern" and m.key.casefold() not in prose:
                continue
            if m.rule == "gazetteer" and " " not in m.surface and is_common_word(m.surface) and (m.doc_id, m.key) not in prose_in_doc:
                continue
        kept.append(m)
    return kept


def _doc_mentions(parts: Sequence[tuple[TextUnit, int]], doc: Doc, model: str) -> Iterator[tuple]:
    starts = [offset for _, offset in parts]
    sentence_starts: list[int] | None = None

    def mention(span: Span, kind: EntityKind, rule: str, key: str) -> tuple:
        nonlocal sentence_starts
        index = bisect_right(starts, span.start_char) - 1
        unit, offset = parts[index]
        if rule == "table":
            rule = "table-name" if unit.section == "name" else "table-term"
        if sentence_starts is None:
            # Span.sent checks the whole doc for sentence marks on every call; once per doc is enough.
            sentence_starts = [int(i) for i in np.nonzero(doc.to_array("SENT_START") == 1)[0]] or [0]
            if sentence_starts[0] != 0:
                sentence_starts.insert(0, 0)
        k = bisect_right(sentence_starts, span.start) - 1
        first = sentence_starts[k]
        last = sentence_starts[k + 1] if k + 1 < len(sentence_starts) else len(doc)
        sent = doc[first:last]
        text = sent.text.rstrip()
        return (index, span.start_char - offset, span.end_char - offset, span.text, kind.value, rule, key, text,
                sent.start_char - offset)

    covered = set()
    for ent in doc.ents:
        kind = _LABEL_KIND.get(ent.label_)
        if ent.label_ == "ORG" and ent.id_ == "" and model:
            kind, rule, key = EntityKind.ORGANIZATION, f"model:{model}", ent.text
        elif kind is None:
            continue
        elif kind in (EntityKind.TECHNOLOGY, EntityKind.BEHAVIOR):
            rule, key = "table", ent.id_
        else:
            rule, key = "gazetteer", ent.id_
        covered.update(range(ent.start_char, ent.end_char))
        yield mention(ent, kind, rule, key)
    for span in doc.spans.get("org_rule", ()):
        if any(i in covered for i in range(span.start_char, span.end_char)):
            continue
        kind = EntityKind.GOVERNMENT_BODY if span.label_ == "GOV" else EntityKind.ORGANIZATION
        yield mention(span, kind, "org-pattern", span.id_ or span.text)
    for span in _longest(doc.spans.get("barriers", ())):
        key = lemma_key(span.text)
        if key:
            yield mention(span, EntityKind.BARRIER, "barrier-cue", key)


def _longest(spans: Iterable[Span]) -> list[Span]:
    """Overlapping barrier phrases: keep the longest (``lack of skilled staff`` over ``lack of skilled``)."""
    chosen: list[Span] = []
    taken: set[int] = set()
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if not any(i in taken for i in range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


def _acronym_mentions(units: Sequence[TextUnit], definitions: _Definitions) -> Iterator[Mention]:
    table: dict[str, tuple[str, EntityKind]] = {}
    for short, longs in definitions.items():
        # An acronym defined with two different long forms in the corpus is ambiguous: skip it.
        if len(longs) == 1:
            table[short] = next(iter(longs))
    if not table:
        return
    pattern = re.compile(r"(?<![\w.])(" + _trie_pattern(table) + r")(?![\w])")
    for unit in units:
        for match in pattern.finditer(unit.text):
            short = match.group(1)
            key, kind = table[short]
            before = unit.text.rfind(". ", 0, match.start())
            sentence_start = before + 2 if before >= 0 else 0
            sentence_end = unit.text.find(". ", match.end())
            sentence = unit.text[sentence_start: sentence_end + 1 if sentence_end >= 0 else len(unit.text)]
            yield Mention(unit.doc_id, unit.target, unit.section, match.start(), match.end(), short, kind,
                          "acronym", key, sentence, sentence_start)


def _trie_pattern(words: Iterable[str]) -> str:
    """An alternation of ``words`` as a trie, longer continuations tried first: the same
    matches as ``a|b|…`` sorted longest first, but ``re`` no longer tries every word at every
    position (hundreds of acronyms over a corpus's text cost seconds)."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # A greedy optional tries the longer word before stopping here.
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def _drop_overlaps(mentions: list[Mention]) -> list[Mention]:
    """Within one text, an organisation span wins over anything it overlaps; then the longer
    technology or behavior; a barrier may sit inside a technology or behavior phrase but never
    overlaps an organisation or another barrier. Linear in the mentions (a 10 MB text holds
    hundreds of thousands), using one occupancy mask per text."""
    rank = {EntityKind.GOVERNMENT_BODY: 0, EntityKind.ORGANIZATION: 0, EntityKind.TECHNOLOGY: 1, EntityKind.BEHAVIOR: 1, EntityKind.BARRIER: 2}
    kept: list[Mention] = []
    by_text: dict[tuple[str, str], list[Mention]] = defaultdict(list)
    for mention in mentions:
        by_text[(mention.target, mention.section)].append(mention)
    for key in sorted(by_text):
        group = sorted(by_text[key], key=lambda m: (rank.get(m.kind, 3), -(m.end - m.start), m.start))
        size = max(m.end for m in group)
        taken = bytearray(size)        # any mention kept here
        blocks_barrier = bytearray(size)  # an organisation or a barrier kept here
        chosen: list[Mention] = []
        for mention in group:
            mask = blocks_barrier if mention.kind is EntityKind.BARRIER else taken
            if any(mask[mention.start:mention.end]):
                continue
            chosen.append(mention)
            span = b"\x01" * (mention.end - mention.start)
            taken[mention.start:mention.end] = span
            if mention.kind is not EntityKind.TECHNOLOGY and mention.kind is not EntityKind.BEHAVIOR:
                blocks_barrier[mention.start:mention.end] = span
        kept.extend(sorted(chosen, key=lambda m: (m.start, m.end)))
    return kept
