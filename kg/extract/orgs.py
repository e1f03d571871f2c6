"""The organisation-name rule: capitalised names built around a head word.

``Department for Science, Innovation and Technology``, ``National Audit Office``,
``HM Treasury``, ``Stanford University``, ``Acme Ltd``, ``the French government``. The word
lists are data (``data/org_rules.json``, ``data/countries.json``); this module only walks
tokens. Found names go to ``doc.spans["org_rule"]`` labelled ``GOV`` or ``ORG``; the span's
``id_`` is the entity key (``government of france`` for a government named by its country).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from spacy.language import Language
from spacy.tokens import Doc, Span

__all__ = ["OrgRules", "find_org_spans", "load_org_rules"]


@dataclass(frozen=True)
class OrgRules:
    """The word lists of the organisation rule (see ``data/org_rules.json``)."""

    government_heads: frozenset[str]
    mixed_heads: frozenset[str]
    other_heads: frozenset[str]
    company_suffixes: frozenset[str]
    government_modifiers: frozenset[str]
    non_government_modifiers: frozenset[str]
    connectors: frozenset[str]
    not_name_words: frozenset[str]
    generic_heads_alone: frozenset[str]
    countries: dict[str, str]

    @property
    def heads(self) -> frozenset[str]:
        return self.government_heads | self.mixed_heads | self.other_heads


@cache
def load_org_rules() -> OrgRules:
    """Read the rule's word lists from the package data."""
    data_dir = resources.files("kg.extract") / "data"
    data = json.loads((data_dir / "org_rules.json").read_text(encoding="utf-8"))
    countries = json.loads((data_dir / "countries.json").read_text(encoding="utf-8"))
    words = {word: name for name, forms in countries.items() if not name.startswith("_") for word in forms}
    return OrgRules(
        **{key: frozenset(value) for key, value in data.items() if not key.startswith("_")},
        countries=words,
    )


_GOVERNMENT_NOUNS = {"government", "administration", "parliament"}


def _acronym(text: str) -> bool:
    return len(text) >= 2 and sum(c.isupper() for c in text) >= 2 and not any(c.islower() for c in text[1:])


def _capitalised(text: str) -> bool:
    return bool(text) and (text[0].isupper() or (len(text) > 1 and text[0] == "i" and text[1] == "." )) and any(c.isalpha() for c in text)


def _trigger_hashes(doc: Doc, rules: OrgRules) -> frozenset[int]:
    """Hashes of every word that can start the rule's work (heads, suffixes, countries, cues),
    so that only those positions are visited in Python."""
    key = id(rules)
    cached = _TRIGGERS.get(key)
    if cached is None:
        words = set(rules.heads) | set(rules.company_suffixes) | _LIST_CUES | _ROLE_CUES
        words |= {form.split()[0] for form in rules.countries}
        cached = _TRIGGERS[key] = frozenset(doc.vocab.strings.add(w) for w in words)
    return cached


_TRIGGERS: dict[int, frozenset[int]] = {}


def find_org_spans(doc: Doc, rules: OrgRules) -> list[Span]:
    """Organisation names in ``doc`` by the head-word rule, longest first where they overlap."""
    if not len(doc):
        return []
    triggers = _trigger_hashes(doc, rules)
    # A set lookup per token hash beats numpy's isin on texts of a few dozen tokens.
    positions = [i for i, h in enumerate(doc.to_array("ORTH").tolist()) if h in triggers]
    if not positions:
        return []
    spans: list[Span] = []
    taken: set[int] = set()
    for i in positions:
        if i in taken:
            continue
        country_span = _country_government(doc, i, rules)
        if country_span is not None:
            spans.append(country_span)
            taken.update(range(country_span.start, country_span.end))
            continue
        text = doc[i].text
        floor = max(taken) + 1 if taken else 0
        if text in rules.heads and _capitalised(text):
            span = _grow(doc, i, rules, floor=floor)
        elif text in rules.company_suffixes and i > 0 and _capitalised(doc[i - 1].text):
            span = _grow(doc, i, rules, suffix=True, floor=floor)
        else:
            continue
        if span is None or any(t in taken for t in range(span.start, span.end)):
            continue
        spans.append(span)
        taken.update(range(span.start, span.end))
    for span in _cue_spans(doc, rules, positions):
        if not any(t in taken for t in range(span.start, span.end)):
            spans.append(span)
            taken.update(range(span.start, span.end))
    return sorted(spans, key=lambda s: s.start)


_LIST_CUES = {"companies", "firms", "startups", "start-ups", "organisations", "organizations", "institutions",
              "labs", "manufacturers", "developers", "providers", "vendors", "operators", "corporations", "giants",
              "universities", "banks", "insurers", "retailers", "automakers", "carmakers", "platforms"}
_ROLE_CUES = {"CEO", "chief", "founder", "co-founder", "cofounder", "president", "chairman", "spokesperson", "spokesman"}


def _cue_spans(doc: Doc, rules: OrgRules, positions) -> list[Span]:
    """Names an organisation cue introduces: ``companies like CyrusOne and Meta``,
    ``CEO of Acme``. Each name is a run of capitalised words that is not a sentence opener."""
    spans: list[Span] = []
    n = len(doc)
    for i in positions:
        token = doc[i]
        start = None
        if token.lower_ in _LIST_CUES and i + 2 < n and (doc[i + 1].lower_ in ("like", "including") or
                                                          (doc[i + 1].lower_ == "such" and doc[i + 2].lower_ == "as")):
            start = i + (3 if doc[i + 1].lower_ == "such" else 2)
        elif token.text in _ROLE_CUES and i + 2 < n and doc[i + 1].lower_ == "of":
            start = i + 2
        if start is None:
            continue
        k = start
        while k < n:
            end = k
            while end < n and _capitalised(doc[end].text) and not doc[end].is_punct and doc[end].text not in rules.not_name_words:
                end += 1
            if end == k:
                break
            spans.append(Span(doc, k, end, label="ORG"))
            if end < n and doc[end].text in (",", "and", "&", "or") and end + 1 < n and _capitalised(doc[end + 1].text):
                k = end + 1
                continue
            break
    return spans


def _grow(doc: Doc, head: int, rules: OrgRules, *, suffix: bool = False, floor: int = 0) -> Span | None:
    start = head
    # Leftwards: capitalised words, and "and"/"&"/"of" between two of them.
    j = head - 1
    before_and = None
    while j >= floor and head - j <= 6:
        word = doc[j].text
        if _acronym(word) and word not in ("HM", "UK", "US", "U.S.", "EU") and j < head - 1:
            # "the EU AI Act and Council of Europe": a crossed "and" led into another name.
            if before_and is not None:
                start = before_and
            break
        if _capitalised(word) and word not in rules.not_name_words and not doc[j].is_punct:
            start = j
            j -= 1
            continue
        # Cross "and" leftwards only inside one name ("Central Digital and Data Office"), not
        # between two names ("DSIT and HM Treasury"): an acronym before it ends the name.
        if (word in ("and", "&", "of", "for") and j - 1 >= floor and _capitalised(doc[j - 1].text)
                and doc[j - 1].text not in rules.not_name_words and not _acronym(doc[j - 1].text)
                and doc[j - 1].text not in rules.heads and doc[j - 1].text not in rules.company_suffixes):
            before_and = start
            j -= 1
            continue
        break
    if start > 0 and doc[start - 1].text in ("HM", "UK", "US", "U.S.", "EU"):
        start -= 1
    end = head + 1
    if not suffix:
        # A head may be followed by another ("Cabinet Office", "Security Council").
        while end < len(doc) and doc[end].text in rules.heads and _capitalised(doc[end].text):
            end += 1
        end = _grow_right(doc, end, rules)
    span = doc[start:end]
    # A capitalised word right after means a longer name we cannot bound ("Eielson Air Force Base").
    if end < len(doc) and _capitalised(doc[end].text) and not doc[end].is_punct and not _acronym(doc[end].text) \
            and doc[end].text not in rules.not_name_words:
        return None
    words = [t.text for t in span if not t.is_punct]
    if len(words) < 2 and not (suffix and len(words) >= 1):
        return None
    if all(w in rules.generic_heads_alone or w in rules.not_name_words or w in rules.connectors for w in words):
        return None
    if span[-1].text in rules.connectors or span[-1].is_punct:
        span = doc[span.start:span.end - 1]
    return Span(doc, span.start, span.end, label="GOV" if _is_government(span, rules) else "ORG")


def _grow_right(doc: Doc, k: int, rules: OrgRules) -> int:
    """End of a name continuing after its head: ``for/of/on`` then capitalised words, lists
    joined by ``,`` only when closed by ``and``/``&`` (``Science, Innovation and Technology``)."""
    n = len(doc)
    if k >= n or doc[k].text not in ("for", "of", "on"):
        return k
    m = k + 1
    if m < n and doc[m].text == "the":
        m += 1
    if m >= n or not _capitalised(doc[m].text):
        return k
    end = m
    # An acronym after the name starts something else ("Council of Europe AI convention").
    while end < n and _capitalised(doc[end].text) and not doc[end].is_punct and not (_acronym(doc[end].text) and end > m):
        end += 1
    best = end
    cursor = end
    while cursor < n:
        sep = doc[cursor].text
        if sep in (",", "and", "&", "of") and cursor + 1 < n and _capitalised(doc[cursor + 1].text):
            nxt = cursor + 1
            while nxt < n and _capitalised(doc[nxt].text) and not doc[nxt].is_punct:
                nxt += 1
            # "Ministry of Defence and Stanford University": a head after "and" starts a new name.
            if any(doc[x].text in rules.heads or doc[x].text in rules.company_suffixes for x in range(cursor + 1, nxt)):
                break
            if sep == ",":
                cursor = nxt
                continue
            best = cursor = nxt
            continue
        break
    return best


def _is_government(span: Span, rules: OrgRules) -> bool:
    words = [t.text for t in span]
    if any(w in rules.non_government_modifiers for w in words) or " ".join(words[:2]) == "United Nations":
        return False
    if any(w in rules.government_heads for w in words):
        return True
    if any(w in rules.mixed_heads for w in words):
        return any(w in rules.government_modifiers or w in rules.countries for w in words)
    return False


def _country_government(doc: Doc, i: int, rules: OrgRules) -> Span | None:
    """``the French government``, ``China's government``, ``UK Government``."""
    n = len(doc)
    first = doc[i].text
    if first not in _country_firsts(rules):
        return None
    for width in (3, 2, 1):
        if i + width > n:
            continue
        words = doc[i:i + width]
        phrase = words.text
        country = rules.countries.get(phrase) or rules.countries.get(phrase.removesuffix("'s"))
        if country is None:
            continue
        k = i + width
        if k < n and doc[k].text in ("'s", "’s"):
            k += 1
        if k < n and doc[k].lower_ in _GOVERNMENT_NOUNS:
            span = Span(doc, i, k + 1, label="GOV")
            span.id_ = f"government of {country.lower()}"
            return span
    return None


_FIRSTS: dict[int, frozenset[str]] = {}


def _country_firsts(rules: OrgRules) -> frozenset[str]:
    firsts = _FIRSTS.get(id(rules))
    if firsts is None:
        firsts = _FIRSTS[id(rules)] = frozenset(form.split()[0] for form in rules.countries)
    return firsts


@Language.component("kg_org_rule")
def org_rule_component(doc: Doc) -> Doc:
    """Add the organisation-name rule's spans to ``doc.spans["org_rule"]``."""
    doc.spans["org_rule"] = find_org_spans(doc, load_org_rules())
    return doc
