"""Build settings: every default in one place, passed in, never read from globals."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
        gazetteers: Turtle gazetteers of organisations; ``None`` = the shipped UK and world ones.
        overrides: CSV of forced/forbidden merges (``action,name,other``), or ``None``.
        barrier_coverage: share of a barrier's content words a behavior must contain to address it.
        tech_issue_jaccard: word overlap above which a technology and an issue are related.
        cache: keep ``DIR/cache.sqlite`` and reuse what an earlier build into ``DIR`` computed
            for unchanged inputs; the outputs are the same bytes as without it.
        clean: ignore the cache this time (it is rebuilt from scratch).
        scheduler: address of a Dask distributed scheduler to run extraction on, or ``None``.
    """

    jobs: int = 1
    write_store: bool = True
    write_html: bool = True
    validate: bool = True
    view_limit: int = 2000
    spacy_model: str | None = None
    extract: bool = True
    gazetteers: tuple[Path, ...] | None = None
    overrides: Path | None = None
    barrier_coverage: float = 0.6
    tech_issue_jaccard: float = 0.2
    cache: bool = True
    clean: bool = False
    scheduler: str | None = None
