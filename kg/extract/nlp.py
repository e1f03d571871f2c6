"""Make the spaCy pipeline: a blank English pipeline plus rules built from data.

No trained model is needed. Components, in order:

* ``kg_sentencizer``: spaCy's sentencizer rule on whole arrays, and a blank line always ends a
  sentence;
* no lemmatizer component: names meet by ``lemma_key``, which reads spaCy's lookup lemma table
  (spacy-lookups-data) for plurals only; lemmatizing every token of every text cost a fifth of
  extraction time and nothing matched on lemmas;
* ``kg_phrase_ruler``: gazetteer names (label ``GOV``/``ORG``, id = the organisation's IRI) and
  names from the corpus's Technologies and Behaviors tables (``TECH``/``BEHAV``, id = key),
  each matched case-insensitively or, for short and common-word names, with exact case;
* ``kg_org_rule``: head-word names (``Department for …``) into ``doc.spans["org_rule"]``;
* ``kg_barrier_ruler``: obstacle phrases into ``doc.spans["barriers"]``.

A trained pipeline the user installed can be added with ``spacy_model``: its ``ORG``
entities then join as mentions marked ``model:<name>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from kg.errors import UsageError
from kg.extract import orgs as _orgs  # noqa: F401  (registers kg_org_rule)
from kg.extract import phrases as _phrases  # noqa: F401  (registers kg_phrase_ruler)
from kg.gazetteer import Gazetteer, is_common_word

__all__ = ["TableTerm", "barrier_patterns", "lemma_key", "make_pipeline", "phrases_in", "table_term_ok"]

_WORD = re.compile(r"[\w][\w.&'’-]*")


@dataclass(frozen=True, slots=True)
class TableTerm:
    """A name from a Technologies or Behaviors table, to be found in every document's text.

    Attributes:
        text: the name as written.
        label: ``TECH`` or ``BEHAV``.
        key: its normalised key (see ``lemma_key``).
    """

    text: str
    label: str
    key: str


_SENTENCE_END = ("." , "!", "?", "…", "。")


@Language.component("kg_sentencizer")
def sentencizer(doc: Doc) -> Doc:
    """Sentence starts after ``.``/``!``/``?`` and after a line break (texts are joined by blank
    lines, which must end a sentence). The same rule as spaCy's ``sentencizer``, on whole
    arrays: that one visits every token from Python, which cost a third of extraction time."""
    n = len(doc)
    if not n:
        return doc
    end_marks = _sentence_end_hashes(doc)
    orth = doc.to_array("ORTH").tolist()
    spaces = doc.to_array("IS_SPACE").tolist()
    ends = [h in end_marks for h in orth]
    for i, space in enumerate(spaces):
        if space and "\n" in doc[i].text:
            ends[i] = True
    starts = [-1] * n
    starts[0] = 1
    # The sentence goes on through a run of closing marks and spaces; the next word starts one.
    for e, end in enumerate(ends):
        if not end:
            continue
        k = e + 1
        while k < n and (ends[k] or spaces[k]) and not (spaces[k] and k > e + 1 and "\n" in doc[k].text):
            k += 1
        if k < n and not (ends[k] or spaces[k]):
            starts[k] = 1
    doc.from_array(["SENT_START"], np.array(starts, dtype=np.int64).astype(np.uint64))
    return doc


_END_HASHES: dict[int, frozenset[int]] = {}


def _sentence_end_hashes(doc: Doc) -> frozenset[int]:
    key = id(doc.vocab)
    hashes = _END_HASHES.get(key)
    if hashes is None:
        hashes = _END_HASHES[key] = frozenset(doc.vocab.strings.add(p) for p in _SENTENCE_END)
    return hashes


class BarrierRuler:
    """The obstacle-phrase span ruler, run only on docs that hold a cue word."""

    def __init__(self, nlp: Language, name: str) -> None:
        from spacy.pipeline import SpanRuler

        self.ruler = SpanRuler(nlp, name, spans_key="barriers")
        cues = _data("barrier_cues.json")
        words = set(cues["cue_nouns"]) | {c.split()[0] for c in cues["cues_with_object"]}
        self.cues = frozenset(nlp.vocab.strings.add(w) for w in words)

    def add_patterns(self, patterns: list[dict]) -> None:
        self.ruler.add_patterns(patterns)

    def __call__(self, doc: Doc) -> Doc:
        if not self.cues.isdisjoint(doc.to_array("LOWER").tolist()):
            return self.ruler(doc)
        doc.spans["barriers"] = []
        return doc


@Language.factory("kg_barrier_ruler")
def make_barrier_ruler(nlp: Language, name: str) -> BarrierRuler:
    return BarrierRuler(nlp, name)


@cache
def _lemmas():
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")


def lemma_key(text: str) -> str:
    """Case-folded, word-by-word lookup lemma: the key under which spellings of one name meet.

    >>> lemma_key("Legacy Systems")
    'legacy system'
    >>> lemma_key("the skills gaps")
    'skill gap'
    """
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    while words and words[0] in ("the", "a", "an"):
        words = words[1:]
    known = _SINGULARS
    if not all(w in known for w in words):
        table = _lemmas()
        for w in words:
            if w not in known:
                known[w] = _singular(table, w)
    return " ".join([known[w] for w in words])


# Word → its key form; words recur across a corpus, and the look-up showed in profiles.
_SINGULARS: dict[str, str] = {}


def _singular(table, word: str) -> str:
    # Only plurals are folded: the lookup table also maps "ai" to "have" and "data" to
    # "datum", and turning "funding" into "fund" would merge different barriers.
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word.isalpha():
        lemma = table.get(word, word)
        return lemma if len(lemma) < len(word) else word
    return word


def _data(name: str) -> dict:
    return json.loads((resources.files("kg.extract") / "data" / name).read_text(encoding="utf-8"))


def barrier_patterns() -> list[dict]:
    """Token patterns for obstacle phrases, built from ``data/barrier_cues.json``."""
    cues = _data("barrier_cues.json")
    generic = sorted(set(cues["generic_words"]))
    content = {"IS_ALPHA": True, "IS_STOP": False, "LOWER": {"NOT_IN": generic}}
    patterns: list[dict] = []
    for n in (1, 2, 3):
        patterns.append({"label": "BARRIER", "pattern": [dict(content)] * n + [{"LOWER": {"IN": cues["cue_nouns"]}}]})
        for cue in cues["cues_with_object"]:
            head = [{"LOWER": word} for word in cue.split()]
            patterns.append({"label": "BARRIER", "pattern": head + [dict(content)] * n})
    return patterns


_GENERIC_TERMS = frozenset({"ai", "data", "technology", "technologies", "innovation", "platform", "platforms", "tools",
                            "systems", "system", "software", "internet", "network", "networks", "automation", "digital"})


def table_term_ok(name: str) -> bool:
    """Whether a table name is specific enough to look for in other documents' text.

    >>> table_term_ok("Large Language Models"), table_term_ok("AI"), table_term_ok("Blockchain")
    (True, False, True)
    """
    words = name.split()
    if not 1 <= len(words) <= 5 or len(name) > 60:
        return False
    if len(words) == 1:
        return len(name) >= 4 and name.lower() not in _GENERIC_TERMS and name[0].isupper()
    return True


def make_pipeline(
    gazetteer: Gazetteer, terms: Sequence[TableTerm] = (), spacy_model: str | None = None, *, only_for: Sequence[str] | None = None
) -> Language:
    """Build the extraction pipeline.

    Args:
        gazetteer: organisations to find by name.
        terms: table names to find in text.
        spacy_model: an installed trained pipeline (name or path) whose ``ner`` is added.
        only_for: the texts the pipeline will read, when known and few. Names that cannot
            occur in any of them are left out (see ``phrases_in``): it finds the same in these
            texts and is made in a fraction of the time, which is most of a rebuild's extraction
            after one changed document.

    Raises:
        UsageError: ``spacy_model`` is not installed.
    """
    nlp = spacy.blank("en")
    nlp.add_pipe("kg_sentencizer")
    nlp.add_pipe("kg_phrase_ruler")
    nlp.add_pipe("kg_org_rule")
    nlp.add_pipe("kg_barrier_ruler", name="barrier_ruler")
    # initialize() would reset a sourced model's weights and clear the rulers' patterns, so
    # both are added after it.
    nlp.initialize()
    if spacy_model:
        try:
            trained = spacy.load(spacy_model, exclude=["lemmatizer"])
        except OSError as exc:
            raise UsageError(
                f"spaCy pipeline {spacy_model!r} is not installed; install it yourself from the spaCy releases "
                "(official models are not on PyPI), or leave --spacy-model out"
            ) from exc
        if "ner" not in trained.pipe_names:
            raise UsageError(f"spaCy pipeline {spacy_model!r} has no 'ner' component; available: {', '.join(trained.pipe_names)}")
        # The rules run after the model and overwrite its entities where they overlap.
        nlp.add_pipe("ner", source=trained, name="model_ner", before="kg_phrase_ruler")
    phrases = _ruler_phrases(gazetteer, terms)
    nlp.get_pipe("kg_phrase_ruler").add_phrases(phrases if only_for is None else phrases_in(phrases, only_for))
    nlp.get_pipe("barrier_ruler").add_patterns(barrier_patterns())
    nlp.meta["kg_model"] = spacy_model or ""
    return nlp


def _squash(text: str) -> str:
    # str.lower is character by character except for the final sigma, folded here.
    return "".join(text.split()).lower().replace("ς", "σ")


def phrases_in(phrases: Iterable[tuple[str, str, str, bool]], texts: Sequence[str]) -> Iterator[tuple[str, str, str, bool]]:
    """The (label, text, id, exact_case) phrases a phrase matcher could find in ``texts``.

    A match is a run of tokens whose lower forms (or exact forms) are the phrase's tokens'.
    Tokens hold no whitespace, or only whitespace, so the phrase without whitespace, lower-cased,
    then occurs in the matched text without whitespace, lower-cased: a phrase for which it does
    not cannot match and is dropped. The test only ever keeps too much, never too little.
    """
    haystack = "\x00".join(map(_squash, texts))
    for phrase in phrases:
        if _squash(phrase[1]) in haystack:
            yield phrase


def _alias_variants(alias: str) -> list[str]:
    """The spellings text uses for one alias: both apostrophes; ``Trump's administration``."""
    variants = {alias, alias.replace("'", "’"), alias.replace("’", "'")}
    words = alias.split()
    if len(words) == 2 and words[1].lower() in ("administration", "government"):
        variants |= {f"{words[0]}'s {words[1]}", f"{words[0]}’s {words[1]}"}
    return sorted(variants)


def _exact_case(alias: str) -> bool:
    """Match with exact case when every word of the alias is also a common English word
    ("Apple", "Open AI", "Cabinet Office"), or when it is short or all capitals ("ICE")."""
    words = alias.split()
    if len(words) == 1 and (len(alias) <= 4 or alias.isupper()):
        return True
    return all(is_common_word(w) for w in words)


def _ruler_phrases(gazetteer: Gazetteer, terms: Iterable[TableTerm]) -> Iterable[tuple[str, str, str, bool]]:
    """(label, text, id, exact_case) for every gazetteer alias and table term."""
    for entry in gazetteer.entries:
        label = "GOV" if entry.is_government else "ORG"
        for alias in entry.aliases:
            for variant in _alias_variants(alias):
                yield label, variant, entry.iri, _exact_case(variant)
        for alias in entry.case_sensitive_aliases:
            for variant in _alias_variants(alias):
                yield label, variant, entry.iri, True
    for term in terms:
        yield term.label, term.text, term.key, len(term.text.split()) == 1
