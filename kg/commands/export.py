"""``kg export FORMAT --graph DIR --out PATH``: a build to files, Neo4j, SPARQL stores, graph tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def export(
    target: Annotated[str, typer.Argument(
        metavar="FORMAT",
        help="turtle, ntriples, nquads, trig, jsonld, rdfxml, neo4j-csv, cypher, neo4j, sparql, graphml or gexf.",
    )],
    graph: Annotated[Path, typer.Option("--graph", "-g", help="The build folder (kg build … --out DIR).")] = Path("output"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (a folder for neo4j-csv).")] = None,
    with_ontology: Annotated[bool, typer.Option("--with-ontology", help="Also export the ontology's named graph.")] = False,
    batch_size: Annotated[int, typer.Option(help="Rows per Cypher statement and transaction.")] = 1000,
    uri: Annotated[str | None, typer.Option(help="neo4j: server URI, such as bolt://localhost:7687.")] = None,
    user: Annotated[str | None, typer.Option(help="neo4j, sparql: user name.")] = None,
    password_env: Annotated[str | None, typer.Option(
        help="neo4j, sparql: environment variable holding the password (NEO4J_PASSWORD, SPARQL_PASSWORD if not given).",
    )] = None,
    database: Annotated[str, typer.Option(help="neo4j, neo4j-csv: database name.")] = "neo4j",
    endpoint: Annotated[str | None, typer.Option(help="sparql: Graph Store Protocol URL, such as http://localhost:7878/store.")] = None,
    graph_per_document: Annotated[bool, typer.Option("--graph-per-document", help="sparql: PUT each named graph on its own.")] = False,
    into: Annotated[str | None, typer.Option(help="sparql: the graph to fill when not per document (else the default graph).")] = None,
) -> None:
    """Export the build in --graph as FORMAT (an unknown FORMAT lists the valid ones).

    Exit status: 0 on success, 1 when the target fails, 2 on a usage error.
    """
    from kg.cli import console, out_console
    from kg.export import ExportOptions, run_export

    options = ExportOptions(
        out=out, include_ontology=with_ontology, batch_size=batch_size, uri=uri, user=user,
        password_env=password_env, database=database, endpoint=endpoint,
        graph_per_document=graph_per_document, into=into,
    )
    result = run_export(target, graph, options)
    counts = ", ".join(f"{n} {what}" for what, n in result.counts)
    where = ", ".join(str(p) for p in result.outputs) or (endpoint or uri or "")
    console.print(f"{result.target}: {counts} → {where}", highlight=False, markup=False)
    for note in result.notes:
        out_console.print(note, highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""
    app.command("export")(export)
