"""SPARQL over a build: ``sparql`` (the library of named queries, running, formats) and
``serve`` (a read-only SPARQL 1.1 Protocol endpoint with a query page)."""

from kg.query.sparql import (
    FORMATS,
    QueryParam,
    QueryResult,
    QuerySyntaxError,
    SparqlQuery,
    execute,
    list_queries,
    load_query,
    open_graph,
    resolve_query,
    run_query,
    serialize_result,
)

__all__ = [
    "FORMATS",
    "QueryParam",
    "QueryResult",
    "QuerySyntaxError",
    "SparqlQuery",
    "execute",
    "list_queries",
    "load_query",
    "open_graph",
    "resolve_query",
    "run_query",
    "serialize_result",
]
