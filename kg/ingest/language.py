"""Which language a text is in, from its stop words: enough to tell a French summary from an
English one without a model or a download.

spaCy ships stop-word lists for many languages; the language whose list covers the most words
of the text wins, when it covers clearly more than English does.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import import_module

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "detect_language"]

LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch"}
LANGUAGES = tuple(LANGUAGE_NAMES)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@cache
def _stop_words(lang: str) -> frozenset[str]:
    return frozenset(import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS)


def detect_language(text: str, *, min_words: int = 8) -> str | None:
    """ISO 639-1 code of ``text``'s language, or ``None`` when too short to tell.

    >>> detect_language("Le Cobol, un langage de programmation créé en 1959, est en voie d'extinction.")
    'fr'
    >>> detect_language("The government must finalise its strategy for the adoption of AI by June.")
    'en'
    """
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < min_words:
        return None
    scores = {lang: sum(w in _stop_words(lang) for w in words) for lang in LANGUAGES}
    best = max(LANGUAGES, key=lambda lang: (scores[lang], lang == "en"))
    if best != "en" and scores[best] < 1.5 * scores["en"]:
        return "en"
    return best if scores[best] else None
