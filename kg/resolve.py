"""Mentions → entities: one entity per real thing across the corpus, every merge logged.

Organisations meet by gazetteer alias, by acronym ↔ long form, by normalised name (case,
``the``, ``&``/``and``, possessives, a leading ``UK``/``HM``) and, above ``FUZZY_THRESHOLD``,
by fuzzy match (rapidfuzz ``ratio`` on the normalised names). Technologies, behaviors and
barriers meet by lemma key (case and plurals folded). An overrides file forces or forbids
merges.
"""

from __future__ import annotations

import csv
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from kg.errors import InputError
from kg.fsutil import atomic_write
from kg.gazetteer import Gazetteer
from kg.iri import entity_iri
from kg.text import clean_text
from kg.types import Entity, EntityKind, Mention

__all__ = ["FUZZY_THRESHOLD", "Merge", "Overrides", "Resolution", "normalize_org_name", "read_overrides", "resolve_entities", "write_merges"]

FUZZY_THRESHOLD = 92.0
_ORG_KINDS = (EntityKind.GOVERNMENT_BODY, EntityKind.ORGANIZATION)
_IRI_PATH = {
    EntityKind.TECHNOLOGY: "technology",
    EntityKind.BEHAVIOR: "behavior",
    EntityKind.BARRIER: "barrier",
}
_PREFIXES = ("uk ", "u.k. ", "hm ", "the uk ", "british ", "us ", "u.s. ", "the us ")


@dataclass(frozen=True, slots=True)
class Merge:
    """One name folded into an entity.

    Attributes:
        kept: the entity's IRI.
        kept_label: its label.
        merged: the name folded into it.
        rule: ``gazetteer-alias``, ``acronym``, ``normalised-name``, ``fuzzy``, ``override`` or ``lemma``.
        score: the fuzzy score (0–100) where the rule has one.
    """

    kept: str
    kept_label: str
    merged: str
    rule: str
    score: float | None = None


@dataclass(frozen=True)
class Overrides:
    """A user's corrections: pairs of names (or IRIs) to merge, and pairs never to merge.

    Attributes:
        force: (kept, merged) pairs.
        forbid: unordered pairs, as frozensets of two normalised names.
    """

    force: tuple[tuple[str, str], ...] = ()
    forbid: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Resolution:
    """What ``resolve_entities`` returns.

    Attributes:
        entities: every entity, sorted by IRI.
        mentions: the mentions that were resolved, in input order.
        targets: for each of ``mentions``, its entity's IRI.
        merges: the merge log.
    """

    entities: tuple[Entity, ...]
    mentions: tuple[Mention, ...]
    targets: tuple[str, ...]
    merges: tuple[Merge, ...]

    def entity(self, iri: str) -> Entity:
        return self._index()[iri]

    def _index(self) -> dict[str, Entity]:
        cache = self.__dict__.get("_by_iri")
        if cache is None:
            cache = {e.iri: e for e in self.entities}
            object.__setattr__(self, "_by_iri", cache)
        return cache


_POSSESSIVE = re.compile(r"'s\b")
_NOT_NAME = re.compile(r"[^\w\s.-]")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=1 << 16)
def normalize_org_name(name: str) -> str:
    """The form two spellings of one organisation share.

    >>> normalize_org_name("the Department for Environment, Food & Rural Affairs")
    'department for environment food and rural affairs'
    >>> normalize_org_name("DSIT's")
    'dsit'
    """
    text = clean_text(name).replace("’", "'").casefold()
    text = _POSSESSIVE.sub("", text)
    text = text.replace("&", " and ")
    text = _NOT_NAME.sub(" ", text)
    text = _SPACES.sub(" ", text).strip(" .")
    return text.removeprefix("the ").strip()


def read_overrides(path: Path) -> Overrides:
    """Read an overrides CSV: ``action,name,other`` rows, action ``force`` or ``forbid``.

    Raises:
        InputError: an unknown action or a row without two names, naming the line.
    """
    force: list[tuple[str, str]] = []
    forbid: set[frozenset[str]] = set()
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read overrides: {exc}", file=str(path)) from exc
    for line, row in enumerate(rows, 1):
        if not row or row[0].startswith("#") or (line == 1 and row[0].strip().lower() == "action"):
            continue
        if len(row) < 3 or not row[1].strip() or not row[2].strip():
            raise InputError(f"expected 'action,name,other', got {','.join(row)!r}", file=str(path), line=line)
        action, a, b = row[0].strip().lower(), row[1].strip(), row[2].strip()
        if action == "force":
            force.append((a, b))
        elif action == "forbid":
            forbid.add(frozenset((normalize_org_name(a), normalize_org_name(b))))
        else:
            raise InputError(f"unknown action {row[0]!r}; use force or forbid", file=str(path), line=line)
    return Overrides(tuple(force), frozenset(forbid))


def resolve_entities(mentions: Sequence[Mention], gazetteer: Gazetteer, overrides: Overrides = Overrides()) -> Resolution:
    """Group mentions into entities.

    Args:
        mentions: what extraction found.
        gazetteer: known organisations (their IRIs are kept).
        overrides: forced and forbidden merges.
    """
    by_iri = {e.iri: e for e in gazetteer.entries}
    alias_index: dict[str, str] = {}
    for entry in sorted(gazetteer.entries, key=lambda e: e.iri):
        for alias in (entry.label, *entry.aliases, *entry.case_sensitive_aliases):
            alias_index.setdefault(normalize_org_name(alias), entry.iri)
    merges: dict[tuple[str, str], Merge] = {}
    org_names = {m.key for m in mentions if m.kind in _ORG_KINDS and m.key not in by_iri}
    name_to_iri = _resolve_org_names(org_names, alias_index, by_iri, overrides, merges)

    targets: list[str] = []
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    gov_votes: Counter[str] = Counter()
    kinds: dict[str, EntityKind] = {}
    for mention in mentions:
        if mention.kind in _ORG_KINDS:
            iri = mention.key if mention.key in by_iri else name_to_iri[mention.key]
            kinds[iri] = EntityKind.ORGANIZATION
            if mention.kind is EntityKind.GOVERNMENT_BODY:
                gov_votes[iri] += 1
            else:
                gov_votes[iri] -= 1
        else:
            iri = entity_iri(_IRI_PATH[mention.kind], mention.key)
            kinds[iri] = mention.kind
        targets.append(iri)
        if mention.rule != "acronym":
            surfaces[iri][_strip_article(mention.surface)] += 1
        else:
            surfaces[iri][mention.surface] += 0
    entities = []
    for iri in sorted(kinds):
        entry = by_iri.get(iri)
        forms = surfaces[iri]
        if entry is not None:
            kind = EntityKind.GOVERNMENT_BODY if entry.is_government else EntityKind.ORGANIZATION
            label = entry.label
        else:
            kind = kinds[iri]
            if kind is EntityKind.ORGANIZATION and gov_votes[iri] > 0:
                kind = EntityKind.GOVERNMENT_BODY
            ranked = sorted(forms, key=lambda f: (-forms[f], f))
            label = next((f for f in ranked if forms[f] > 0), ranked[0]) if ranked else iri.rsplit("/", 1)[-1]
            if label.startswith("government of "):
                label = label.title().replace(" Of ", " of ")
        aliases = tuple(sorted(f for f in forms if f != label))
        entities.append(Entity(iri, kind, label, aliases, gazetteer=entry is not None))
    labels = {e.iri: e.label for e in entities}
    rule_of = {"gazetteer": "gazetteer-alias", "acronym": "acronym", "org-pattern": "normalised-name"}
    for mention, iri in zip(mentions, targets):
        if (iri, mention.surface) in merges or _fold(mention.surface) == _fold(labels[iri]):
            continue
        merges[(iri, mention.surface)] = Merge(iri, labels[iri], mention.surface, rule_of.get(mention.rule, "lemma"))
    merge_log = tuple(sorted(
        (Merge(m.kept, labels.get(m.kept, m.kept_label), m.merged, m.rule, m.score) for m in merges.values() if m.kept in labels),
        key=lambda m: (m.kept, m.merged),
    ))
    return Resolution(tuple(entities), tuple(mentions), tuple(targets), merge_log)


def _fold(text: str) -> str:
    return normalize_org_name(text)


def _strip_article(surface: str) -> str:
    for article in ("the ", "The "):
        if surface.startswith(article):
            return surface[len(article):]
    return surface


def _resolve_org_names(
    names: Iterable[str], alias_index: dict[str, str], by_iri: dict, overrides: Overrides, merges: dict
) -> dict[str, str]:
    """Map each organisation name a rule found to an IRI: a gazetteer's, or one minted."""
    result: dict[str, str] = {}
    normal: dict[str, str] = {}
    forced = {normalize_org_name(b): a for a, b in overrides.force}
    for name in sorted(names):
        norm = normalize_org_name(name)
        normal[name] = norm
        target = forced.get(norm)
        if target is not None:
            iri = target if target in by_iri else alias_index.get(normalize_org_name(target)) or entity_iri("organization", normalize_org_name(target))
            result[name] = iri
            merges[(iri, name)] = Merge(iri, target, name, "override")
            continue
        iri = alias_index.get(norm)
        if iri is None:
            for prefix in _PREFIXES:
                if norm.startswith(prefix) and norm[len(prefix):] in alias_index:
                    iri = alias_index[norm[len(prefix):]]
                    break
        if iri is not None and frozenset((norm, normalize_org_name(by_iri[iri].label))) not in overrides.forbid:
            result[name] = iri
            if norm != normalize_org_name(by_iri[iri].label):
                merges[(iri, name)] = Merge(iri, by_iri[iri].label, name, "gazetteer-alias")
    # Fuzzy: a name still unmatched joins a gazetteer alias, or another name, that is close enough.
    pending = sorted({normal[n] for n in normal if n not in result})
    choices = sorted(alias_index)
    canonical: dict[str, str] = {}
    for norm in pending:
        best = process.extractOne(norm, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD) if choices else None
        if best is not None and frozenset((norm, best[0])) not in overrides.forbid and _same_shape(norm, best[0]):
            canonical[norm] = ("gazetteer", alias_index[best[0]], best[1])
            continue
        earlier = [c for c in canonical if canonical[c][0] == "name"]
        best = process.extractOne(norm, earlier, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD) if earlier else None
        if best is not None and frozenset((norm, best[0])) not in overrides.forbid and _same_shape(norm, best[0]):
            canonical[norm] = ("name", canonical[best[0]][1], best[1])
        else:
            canonical[norm] = ("name", entity_iri("organization", norm), None)
    for name, norm in normal.items():
        if name in result:
            continue
        _, iri, score = canonical[norm]
        result[name] = iri
        if score is not None:
            merges[(iri, name)] = Merge(iri, by_iri[iri].label if iri in by_iri else iri, name, "fuzzy", round(score, 1))
        elif normalize_org_name(name) != name.casefold() and iri not in by_iri:
            merges[(iri, name)] = Merge(iri, norm, name, "normalised-name")
    return result


def _same_shape(a: str, b: str) -> bool:
    """Fuzzy matches keep the word count, the first word and the start of the last word, so
    ``Department of Defense`` meets ``Department of Defence`` but ``Ministry of Defence``
    never meets ``Ministry of Finance``."""
    wa, wb = a.split(), b.split()
    return len(wa) == len(wb) and wa[0] == wb[0] and wa[-1][:4] == wb[-1][:4]


def write_merges(resolution: Resolution, path: Path) -> Path:
    """Write the merge log as CSV (kept, kept_label, merged, rule, score), for review."""
    with atomic_write(path, "w") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["kept", "kept_label", "merged", "rule", "score"])
        for merge in resolution.merges:
            writer.writerow([merge.kept, merge.kept_label, merge.merged, merge.rule, "" if merge.score is None else merge.score])
    return path
