"""Push the graph into any SPARQL store through the SPARQL 1.1 Graph Store HTTP Protocol.

Each graph goes up as one ``PUT`` of N-Triples, which replaces that graph on the server: a
second push leaves the store as the first did, never doubled. Without ``--graph-per-document``
everything goes into one graph (``--into IRI``, else the default graph).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import httpx
import pyoxigraph as ox

from kg.errors import ExportError, UsageError
from kg.export.base import Dataset, ExportOptions, ExportResult

__all__ = ["CHUNK", "export_sparql", "push_graph", "put_graphs"]

CHUNK = 20_000  # triples serialised per piece of the request body
_NTRIPLES = "application/n-triples"


def _body(triples: Sequence[ox.Triple]) -> Iterator[bytes]:
    # N-Triples is one statement a line, so pieces serialised apart concatenate into one document.
    for start in range(0, len(triples), CHUNK):
        yield ox.serialize(triples[start : start + CHUNK], format=ox.RdfFormat.N_TRIPLES)


def push_graph(client: httpx.Client, endpoint: str, graph: str | None, triples: Sequence[ox.Triple]) -> None:
    """``PUT`` ``triples`` as the whole of ``graph`` (``None``: the default graph).

    Raises:
        ExportError: the server answered with an error or could not be reached.
    """
    params = {"graph": graph} if graph else {"default": ""}
    where = f"{endpoint} (graph {graph or 'default'})"
    try:
        response = client.put(endpoint, params=params, content=_body(triples), headers={"Content-Type": _NTRIPLES})
    except httpx.HTTPError as exc:
        raise ExportError(f"{where}: {exc}") from exc
    if response.status_code >= 300:
        raise ExportError(f"{where}: HTTP {response.status_code}: {response.text[:300]}")


def put_graphs(dataset: Dataset, client: httpx.Client, endpoint: str, *, per_document: bool, into: str | None = None) -> dict[str, int]:
    """Push the dataset: each named graph on its own, or all triples into ``into``.

    Returns:
        Triples pushed per graph IRI (``""`` for the default graph).
    """
    if not per_document:
        push_graph(client, endpoint, into, dataset.triples)
        return {into or "": len(dataset.triples)}
    pushed: dict[str, int] = {}
    for name, triples in dataset.graphs.items():
        graph = name.value if isinstance(name, ox.NamedNode) else None
        push_graph(client, endpoint, graph, triples)
        pushed[graph or ""] = len(triples)
    return pushed


def export_sparql(dataset: Dataset, options: ExportOptions) -> ExportResult:
    """``kg export sparql --endpoint URL [--graph-per-document] [--into IRI]``.

    Raises:
        UsageError: no ``--endpoint``, ``--into`` with ``--graph-per-document``, or an unset
            password variable.
        ExportError: the server refused a graph.
    """
    if not options.endpoint:
        raise UsageError("kg export sparql needs --endpoint (a Graph Store Protocol URL, such as http://localhost:7878/store)")
    if options.into and options.graph_per_document:
        raise UsageError("--into names the one graph to fill; it cannot go with --graph-per-document")
    if options.into:
        try:
            ox.NamedNode(options.into)
        except ValueError as exc:
            raise UsageError(f"--into {options.into!r} is not an IRI") from exc
    auth = None
    if options.user is not None:
        variable = options.password_env or "SPARQL_PASSWORD"
        if variable not in os.environ:
            raise UsageError(f"environment variable {variable} is not set; put the password for {options.user} there")
        auth = httpx.BasicAuth(options.user, os.environ[variable])
    with httpx.Client(auth=auth, timeout=httpx.Timeout(300.0, connect=10.0)) as client:
        pushed = put_graphs(dataset, client, options.endpoint, per_document=options.graph_per_document, into=options.into)
    return ExportResult(
        target="sparql",
        counts=(("graphs", len(pushed)), ("triples", sum(pushed.values()))),
        notes=(f"PUT {len(pushed)} graph(s) to {options.endpoint}",),
    )
