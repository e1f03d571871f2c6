"""The worker process of ``kg serve``: holds the store open read-only and answers one query at a time.

Started by ``kg.query.serve.QueryPool`` as ``python -m kg.query.worker FD GRAPH PARENT_PID``, with
FD one end of a socket pair over which ``QueryJob``s come in and ``QueryAnswer``s or
``PageAnswer``s go back (pickled, by ``multiprocessing.connection``). It is a fresh interpreter,
not a multiprocessing child, so nothing of the server's main module is imported again.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from kg.errors import KgError, QueryError, UsageError
from kg.query.sparql import QuerySyntaxError, SparqlQuery, execute, open_graph, term_text
from kg.rdf.write import FILE_PREFIXES

__all__ = ["GRAPH_TYPES", "PageAnswer", "QueryAnswer", "QueryJob", "SOLUTION_TYPES", "answer_job", "main"]

SOLUTION_TYPES: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "application/xml": ox.QueryResultsFormat.XML,
    "text/xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
GRAPH_TYPES: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/xml": ox.RdfFormat.RDF_XML,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/json": ox.RdfFormat.JSON_LD,
}


@dataclass(frozen=True, slots=True)
class QueryJob:
    """One query sent to a worker.

    Attributes:
        text: the query.
        accept: acceptable media types, most wanted first (``()``: the defaults).
        params: variables to bind (the query page's parameter fields).
        default_graph: graph IRIs forming the default graph (``()``: the union of all graphs).
        named_graphs: graph IRIs ``GRAPH`` may reach (``()``: all).
        page_rows: when set, answer with at most this many rows as display text for the page
            instead of a serialised result.
    """

    text: str
    accept: tuple[str, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    default_graph: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    page_rows: int | None = None


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    """A worker's answer to a protocol request.

    Attributes:
        status: the HTTP status.
        media_type: the body's media type.
        body: the serialised result, or the error message.
    """

    status: int
    media_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class PageAnswer:
    """A worker's answer for the query page, as display text.

    Attributes:
        form: ``"SELECT"``, ``"ASK"``, ``"CONSTRUCT"`` or ``"ERROR"``.
        variables: SELECT's columns.
        rows: SELECT's rows, each cell ``(text shown, full IRI or "")``.
        more: rows exist beyond those shown.
        boolean: ASK's answer.
        text: CONSTRUCT's Turtle, or the error message.
        status: the HTTP status of the page.
        seconds: how long the query took, as the server saw it.
    """

    form: str
    variables: tuple[str, ...] = ()
    rows: tuple[tuple[tuple[str, str], ...], ...] = ()
    more: bool = False
    boolean: bool | None = None
    text: str = ""
    status: int = 200
    seconds: float = 0.0


def _pick(accept: Sequence[str], table: Mapping[str, object], default: str) -> str | None:
    if not accept:
        return default
    for media in accept:
        if media in table:
            return media
        if media == "*/*":
            return default
        if media.endswith("/*"):
            family = media[:-1]
            if default.startswith(family):
                return default
            found = next((m for m in table if m.startswith(family)), None)
            if found:
                return found
    return None


# ---------------------------------------------------------------- the worker process


def _exit_with_parent(parent: int) -> None:
    # A worker busy in a long query never reads its pipe, so it would outlive a killed server.
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="kg-parent-watch").start()


def answer_job(store: ox.Store, job: QueryJob) -> QueryAnswer | PageAnswer:
    """Run one job on ``store`` (inside a worker) and serialise its answer."""
    query = SparqlQuery(job.text, source="query")
    try:
        raw = execute(
            store, query, dict(job.params), default_graph=job.default_graph or None, named_graphs=job.named_graphs or None
        )
        if job.page_rows is not None:
            return _page_answer(raw, job.page_rows)
        return _protocol_answer(raw, job.accept)
    except (QuerySyntaxError, UsageError) as exc:
        status, message = 400, str(exc)
    except (QueryError, OSError, ValueError, RuntimeError) as exc:
        status, message = 500, str(exc)
    if job.page_rows is not None:
        return PageAnswer("ERROR", text=message, status=status)
    return QueryAnswer(status, "text/plain; charset=utf-8", (message + "\n").encode())


def _protocol_answer(raw, accept: Sequence[str]) -> QueryAnswer:
    if isinstance(raw, ox.QueryTriples):
        media = _pick(accept, GRAPH_TYPES, "text/turtle")
        if media is None:
            return _not_acceptable(accept, GRAPH_TYPES)
        fmt = GRAPH_TYPES[media]
        if fmt == ox.RdfFormat.TURTLE:
            body = ox.serialize(list(raw), format=fmt, prefixes=FILE_PREFIXES)
        else:
            body = ox.serialize(list(raw), format=fmt)
        return QueryAnswer(200, _with_charset(media), body)
    media = _pick(accept, SOLUTION_TYPES, "application/sparql-results+json")
    if media is None:
        return _not_acceptable(accept, SOLUTION_TYPES)
    return QueryAnswer(200, _with_charset(media), raw.serialize(format=SOLUTION_TYPES[media]))


def _with_charset(media: str) -> str:
    return f"{media}; charset=utf-8"


def _not_acceptable(accept: Sequence[str], table: Mapping[str, object]) -> QueryAnswer:
    message = f"none of the accepted types ({', '.join(accept)}) fits this answer; use one of {', '.join(table)}\n"
    return QueryAnswer(406, "text/plain; charset=utf-8", message.encode())


def _page_answer(raw, limit: int) -> PageAnswer:
    if isinstance(raw, ox.QueryBoolean):
        return PageAnswer("ASK", boolean=bool(raw))
    if isinstance(raw, ox.QueryTriples):
        triples = []
        for triple in raw:
            if len(triples) == limit:
                return PageAnswer("CONSTRUCT", text=_turtle(triples, FILE_PREFIXES), more=True)
            triples.append(triple)
        return PageAnswer("CONSTRUCT", text=_turtle(triples, FILE_PREFIXES))
    variables = tuple(v.value for v in raw.variables)
    rows = []
    for solution in raw:
        if len(rows) == limit:
            return PageAnswer("SELECT", variables, tuple(rows), more=True)
        rows.append(tuple(_cell(solution[name]) for name in variables))
    return PageAnswer("SELECT", variables, tuple(rows))


def _turtle(triples, prefixes) -> str:
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes).decode()


def _cell(term) -> tuple[str, str]:
    return term_text(term), term.value if isinstance(term, ox.NamedNode) else ""


def main(argv: Sequence[str] | None = None) -> None:
    """Serve jobs on the socket whose descriptor is ``argv[0]`` until the server closes it."""
    fd, graph, parent = (argv if argv is not None else sys.argv[1:])[:3]
    _exit_with_parent(int(parent))
    conn = Connection(int(fd))
    try:
        store = open_graph(Path(graph))
    except KgError as exc:
        conn.send(("failed", str(exc)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(answer_job(store, job))


if __name__ == "__main__":
    # Through the module's own name, so the answers pickle as kg.query.worker classes, not __main__ ones.
    from kg.query.worker import main as _main

    _main()
