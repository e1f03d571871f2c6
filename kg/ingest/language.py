"""Which language a text is in, from its stop words: enough to tell a French summary from an
English one without a model or a download.

spaCy ships stop-word lists for many languages; the language whose list covers the most words
of the text wins, when it covers clearly more than English does.
"""

from __future__ import annotations

import re
from functools import cache
import importlib.util
from pathlib import Path

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "detect_language"]

LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch"}
LANGUAGES = tuple(LANGUAGE_NAMES)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@cache
def _stop_words(lang: str) -> frozenset[str]:
    # Importing spacy.lang.<lang>.stop_words imports spacy.lang.<lang> first, whose tokenizer
    # exceptions cost seconds to compile (French: 3.8 s); the list file alone is plain data.
    spec = importlib.util.find_spec("spacy")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "lang" / lang / "stop_words.py"
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102 (spaCy's own data file)
    return frozenset(namespace["STOP_WORDS"])


@cache
def _languages_of() -> dict[str, tuple[str, ...]]:
    """Stop word → the languages whose list holds it: one look-up a word, not one per language."""
    found: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        for word in _stop_words(lang):
            found.setdefault(word, []).append(lang)
    return {word: tuple(langs) for word, langs in found.items()}


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
    languages = _languages_of()
    scores = dict.fromkeys(LANGUAGES, 0)
    for word in words:
        for lang in languages.get(word, ()):
            scores[lang] += 1
    best = max(LANGUAGES, key=lambda lang: (scores[lang], lang == "en"))
    if best != "en" and scores[best] < 1.5 * scores["en"]:
        return "en"
    return best if scores[best] else None
