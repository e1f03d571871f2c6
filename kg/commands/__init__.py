"""Sub-commands of ``kg`` beyond ``build``, one module each.

Each module listed in ``COMMAND_MODULES`` defines ``register(app: typer.Typer) -> None``, which
adds its commands; ``kg.cli`` calls them all at import.
"""

from __future__ import annotations

COMMAND_MODULES: tuple[str, ...] = (
    "export",
    "gazetteer",
    "query",
    "trust",
    "viz",
)
