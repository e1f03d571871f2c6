"""Build settings: every default in one place, passed in, never read from globals."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """How a build runs.

    Attributes:
        jobs: worker processes for parsing and extraction (1 = in process).
        write_store: also write the embedded Oxigraph store at ``DIR/store``.
        write_html: also write ``DIR/graph.html``.
        validate: run SHACL validation and write ``DIR/validation.txt``.
        view_limit: most nodes drawn in ``graph.html`` before it shows an overview.
        spacy_model: an installed trained spaCy pipeline to add to the rules, or ``None``.
        extract: find entities in text (off: tables, keywords and themes only).
    """

    jobs: int = 1
    write_store: bool = True
    write_html: bool = True
    validate: bool = True
    view_limit: int = 2000
    spacy_model: str | None = None
    extract: bool = True
