"""Acronym definitions in text: ``Long Form (LF)`` and ``LF (Long Form)``.

The long form is chosen as Schwartz & Hearst (2003) do: the shortest run of words ending right
before the parenthesis in which every character of the short form appears in order, the first
one at the start of a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AcronymDefinition", "find_acronym_definitions"]

_PAREN = re.compile(r"\(([^()]{1,80})\)")
_SHORT = re.compile(r"[A-Za-z][A-Za-z0-9.&-]{1,11}")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class AcronymDefinition:
    """One definition found in a text.

    Attributes:
        short, long: the two forms, exactly as written.
        short_start, short_end, long_start, long_end: their offsets in the text.
    """

    short: str
    long: str
    short_start: int
    short_end: int
    long_start: int
    long_end: int


def _is_short_form(text: str) -> bool:
    if not _SHORT.fullmatch(text):
        return False
    capitals = sum(c.isupper() for c in text)
    return capitals >= 2 and len(text.split()) == 1


def _best_long_form(short: str, words: list[re.Match]) -> int | None:
    """Index into ``words`` where the long form starts, or ``None``."""
    letters = [c.lower() for c in short if c.isalnum()]
    limit = min(len(letters) + 5, len(letters) * 2)
    candidates = words[-limit:]
    text = " ".join(w.group() for w in candidates).lower()
    s, t = len(letters) - 1, len(text) - 1
    while s >= 0:
        ch = letters[s]
        while t >= 0 and (text[t] != ch or (s == 0 and t > 0 and text[t - 1].isalnum())):
            t -= 1
        if t < 0:
            return None
        s -= 1
        t -= 1
    start_char = text.rfind(" ", 0, t + 1) + 1
    consumed = text[:start_char].count(" ")
    return len(words) - len(candidates) + consumed


def find_acronym_definitions(text: str) -> list[AcronymDefinition]:
    """Every ``Long Form (SF)`` or ``SF (Long Form)`` definition in ``text``.

    >>> d = find_acronym_definitions("the Department for Science, Innovation and Technology (DSIT) said")[0]
    >>> (d.long, d.short)
    ('Department for Science, Innovation and Technology', 'DSIT')
    >>> [(d.long, d.short) for d in find_acronym_definitions("i.AI (Incubator for Artificial Intelligence) builds")]
    [('Incubator for Artificial Intelligence', 'i.AI')]
    """
    found: list[AcronymDefinition] = []
    for match in _PAREN.finditer(text):
        inner = match.group(1).strip()
        inner_start = match.start(1) + match.group(1).index(inner)
        before = list(_WORD.finditer(text, max(0, match.start() - 300), match.start()))
        if _is_short_form(inner) and before:
            index = _best_long_form(inner, before)
            if index is not None:
                long_words = before[index:]
                start, end = long_words[0].start(), long_words[-1].end()
                raw = text[start:end].rstrip(",;:")
                long = _trim_leading_article(raw)
                start += len(raw) - len(long)
                if len(long.split()) >= 2 or len(long) > len(inner) + 3:
                    found.append(AcronymDefinition(inner, long, inner_start, inner_start + len(inner), start, start + len(long)))
            continue
        # The reverse order: the short form before the parenthesis, the long form inside.
        if before and _is_short_form(before[-1].group().rstrip(",;:")) and len(inner.split()) >= 2:
            short = before[-1].group().rstrip(",;:")
            words = list(_WORD.finditer(inner))
            index = _best_long_form(short, words)
            if index == 0:
                found.append(AcronymDefinition(short, inner, before[-1].start(), before[-1].start() + len(short),
                                               inner_start, inner_start + len(inner)))
    return found


def _trim_leading_article(long: str) -> str:
    for article in ("the ", "The ", "a ", "an "):
        if long.startswith(article):
            return long[len(article):]
    return long
