"""``kg validate`` and ``kg ontology-docs``: is the graph well-formed, and what do its terms mean."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``ontology-docs`` to ``app``."""
    app.command()(validate)
    app.command("ontology-docs")(ontology_docs)


def validate(
    path: Annotated[Path, typer.Argument(help="A build folder (kg build … --out DIR) or an RDF file (.ttl, .trig, .nt, .nq, .rdf, .jsonld).")],
    shapes: Annotated[Path | None, typer.Option(help="SHACL shapes (Turtle); default: ontology/shapes.ttl.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most failing nodes printed (the exit status counts them all).")] = 50,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the whole report to this file.")] = None,
) -> None:
    """Check PATH against the SHACL shapes and print each failing node: label, property, what is wrong.

    Exit status: 0 when it conforms, 1 when it does not, 2 on a usage error.
    """
    from kg.rdf.validate import SHAPES_FILE, format_report, validate_path, write_validation

    report = validate_path(path, shapes=shapes or SHAPES_FILE)
    Console(highlight=False, soft_wrap=True).out(format_report(report, limit=limit), end="")
    if out is not None:
        write_validation(report, out)
    raise typer.Exit(0 if report.conforms else 1)


def ontology_docs(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("output/ontology.html"),
    ontology: Annotated[Path | None, typer.Option(help="Ontology (Turtle); default: ontology/foresight.ttl.")] = None,
) -> None:
    """Write the ontology's documentation (pyLODE): every class and property with its label,
    definition, source in the documents, example and alignments."""
    from kg.gen_namespace import ONTOLOGY_FILE
    from kg.ontology_docs import write_ontology_docs

    write_ontology_docs(out, ontology or ONTOLOGY_FILE)
    Console(stderr=True).print(f"wrote {out}", highlight=False)
