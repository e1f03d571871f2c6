"""``kg query`` (SPARQL over a build, or the named query library) and ``kg serve`` (a read-only endpoint)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


class Format(StrEnum):
    """How ``kg query`` prints a SELECT or ASK answer."""

    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"


def query(
    query_or_file: Annotated[str | None, typer.Argument(
        metavar="QUERY_OR_FILE",
        help="SPARQL text, a .rq file, or the name of a library query (see --list).",
    )] = None,
    graph: Annotated[Path, typer.Option(
        "--graph", "-g", help="The build folder (kg build … --out DIR), its store/, or an RDF file.",
    )] = Path("output"),
    format: Annotated[Format | None, typer.Option(
        "--format", "-f", help="How to print SELECT and ASK answers (table unless given); CONSTRUCT always writes Turtle.",
    )] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", metavar="NAME=VALUE", help="Bind ?NAME to VALUE (a string; <…> for an IRI). Repeatable.",
    )] = None,
    list_: Annotated[bool, typer.Option("--list", "-l", help="List the library's queries and their parameters.")] = False,
) -> None:
    """Run a SPARQL query on a build, with the project's prefixes (fs:, fsid:, rdfs:, org:, oa: …) declared.

    The default graph is the union of every document's graph, the vocabulary and the ontology.

    Exit status: 0 on success, 1 when the query fails (a syntax error names its line and column), 2 on a usage error.
    """
    from kg.errors import UsageError
    from kg.query.sparql import list_queries, open_graph, parse_param_options, resolve_query

    if list_:
        _print_library(list_queries())
        return
    if query_or_file is None:
        raise UsageError("give a query, a .rq file or a library query name (kg query --list shows the library)")
    chosen = resolve_query(query_or_file)
    params = parse_param_options(param or [])
    store = open_graph(graph)
    _print_answer(store, chosen, params, format)


def _print_library(queries) -> None:
    from kg.cli import out_console

    width = max((len(q.name) for q in queries), default=0) + 2
    for q in queries:
        out_console.print(f"{q.name:<{width}}{q.description}", highlight=False, markup=False, soft_wrap=True)
        for p in q.params:
            option = f"--param {p.name}=…"
            out_console.print(f"{'':<{width}}  {option}  {p.description}", highlight=False, markup=False, soft_wrap=True)


def _print_answer(store, chosen, params, format: Format | None) -> None:
    import pyoxigraph as ox

    from kg.cli import console, out_console
    from kg.errors import UsageError
    from kg.query.sparql import collect_result, execute, serialize_result, term_text

    raw = execute(store, chosen, params)
    if isinstance(raw, ox.QueryTriples):
        if format not in (None, Format.table):
            raise UsageError(f"--format {format.value} is for SELECT and ASK; a CONSTRUCT or DESCRIBE writes Turtle")
        _write(serialize_result(raw))
        return
    if format not in (None, Format.table):
        _write(serialize_result(raw, format.value))
        return
    if isinstance(raw, ox.QueryBoolean):
        out_console.print("true" if bool(raw) else "false", highlight=False)
        return
    result = collect_result(raw, source=chosen.source)
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for name in result.variables:
        table.add_column(name, overflow="fold")
    for row in result.rows:
        table.add_row(*(term_text(term) for term in row))
    out_console.print(table, highlight=False, markup=False)
    console.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}", highlight=False)


def _write(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    if not data.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()


def serve(
    graph: Annotated[Path, typer.Option(
        "--graph", "-g", help="The build folder (kg build … --out DIR), its store/, or an RDF file.",
    )] = Path("output"),
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback exposes the graph to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 7878,
    timeout: Annotated[float, typer.Option(help="Seconds a query may run before it is stopped.")] = 30.0,
    workers: Annotated[int, typer.Option(help="Worker processes: how many queries can run at once.")] = 2,
) -> None:
    """Serve a build as a read-only SPARQL 1.1 endpoint (/query) with a query page (/).

    Answers come as JSON, XML, CSV or TSV (CONSTRUCT: Turtle, N-Triples, RDF/XML, JSON-LD) by the Accept header.

    Updates are refused with 403. A query past --timeout is stopped (503) while the other workers go on answering.
    """
    from kg.cli import console
    from kg.query.serve import ServeSettings, is_loopback, serve as run_serve

    settings = ServeSettings(graph=graph, host=host, port=port, timeout=timeout, workers=workers)
    if not is_loopback(host):
        console.print(f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach this machine can query the graph")
    shown = f"[{host}]" if ":" in host else host
    console.print(f"SPARQL endpoint http://{shown}:{port}/query · query page http://{shown}:{port}/ · Ctrl-C stops", highlight=False)
    run_serve(settings)


def register(app: typer.Typer) -> None:
    """Add ``query`` and ``serve`` to ``app``."""
    app.command("query")(query)
    app.command("serve")(serve)
