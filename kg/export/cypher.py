"""Cypher statements that load the property graph into Neo4j, idempotently and injection-safely.

Every value travels as a parameter (``$rows``); the query text holds only fixed keywords and
label or relationship-type names, which Cypher cannot take as parameters: those come from
``property_graph``'s naming, are checked again against ``IDENTIFIER`` here and backquoted.
``MERGE`` on ``uri`` under a uniqueness constraint makes a second run create nothing.

The script form (``kg export cypher``) sets each batch's rows with cypher-shell's
``:param rows => […]`` and then runs the statement; the live form (``kg export neo4j``) sends
the same statements with the same rows through the driver.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ExportError, UsageError
from kg.export.base import Dataset, ExportOptions, ExportResult, require_out
from kg.export.property_graph import BASE_LABEL, IDENTIFIER, URI_KEY, PropertyGraph, project_property_graph
from kg.fsutil import atomic_write

__all__ = [
    "CONSTRAINT",
    "CypherStatement",
    "cypher_literal",
    "export_cypher",
    "node_query",
    "plan_statements",
    "relationship_query",
    "write_cypher_script",
]

CONSTRAINT = f"CREATE CONSTRAINT n10s_unique_uri IF NOT EXISTS FOR (r:{BASE_LABEL}) REQUIRE r.{URI_KEY} IS UNIQUE"
# Line terminators other than \n and \r that a line-oriented reader might split a :param on.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass(frozen=True)
class CypherStatement:
    """One statement and the rows it runs over.

    Attributes:
        query: the Cypher text; values appear only as ``$rows``.
        rows: the parameter ``rows`` (empty for the constraint, which takes none). Node rows
            are ``{"uri": …, "props": {…}}``, relationship rows ``{"start": …, "end": …}``.
    """

    query: str
    rows: tuple[dict, ...] = ()


def _name(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ExportError(f"{name!r} is not a safe Neo4j label or relationship type (want {IDENTIFIER.pattern})")
    return f"`{name}`"


def node_query(labels: tuple[str, ...]) -> str:
    """The statement that merges nodes carrying ``labels`` (besides ``Resource``).

    >>> node_query(("Signal",))
    'UNWIND $rows AS row MERGE (n:Resource {uri: row.uri}) SET n:`Signal` SET n += row.props'

    Raises:
        ExportError: a label is not a plain identifier.
    """
    extra = f" SET n:{':'.join(_name(label) for label in labels)}" if labels else ""
    return f"UNWIND $rows AS row MERGE (n:{BASE_LABEL} {{{URI_KEY}: row.uri}}){extra} SET n += row.props"


def relationship_query(rel_type: str) -> str:
    """The statement that merges relationships of ``rel_type`` between existing nodes.

    >>> relationship_query("document")
    'UNWIND $rows AS row MATCH (a:Resource {uri: row.start}) MATCH (b:Resource {uri: row.end}) MERGE (a)-[:`document`]->(b)'

    Raises:
        ExportError: the type is not a plain identifier.
    """
    return (
        f"UNWIND $rows AS row MATCH (a:{BASE_LABEL} {{{URI_KEY}: row.start}}) "
        f"MATCH (b:{BASE_LABEL} {{{URI_KEY}: row.end}}) MERGE (a)-[:{_name(rel_type)}]->(b)"
    )


def _batches(rows: list[dict], size: int) -> list[tuple[dict, ...]]:
    return [tuple(rows[i : i + size]) for i in range(0, len(rows), size)]


def plan_statements(graph: PropertyGraph, batch_size: int = 1000) -> list[CypherStatement]:
    """The constraint, then nodes by label set, then relationships by type, in batches.

    Raises:
        UsageError: ``batch_size`` is below 1.
    """
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {batch_size}")
    statements = [CypherStatement(CONSTRAINT)]
    for labels, nodes in graph.nodes_by_labels().items():
        query = node_query(labels)
        rows = [{"uri": n.uri, "props": {k: list(v) if isinstance(v, tuple) else v for k, v in n.properties}} for n in nodes]
        statements.extend(CypherStatement(query, batch) for batch in _batches(rows, batch_size))
    for rel_type, edges in graph.edges_by_type().items():
        query = relationship_query(rel_type)
        rows = [{"start": e.start, "end": e.end} for e in edges]
        statements.extend(CypherStatement(query, batch) for batch in _batches(rows, batch_size))
    return statements


def cypher_literal(value: object) -> str:
    """``value`` as a Cypher literal: the form cypher-shell's ``:param`` evaluates.

    Strings use JSON's escapes, which are a subset of Cypher's (``\\"``, ``\\\\``, ``\\n``,
    ``\\uXXXX`` …), so the literal always stays on one line.

    >>> cypher_literal({"uri": 'a"b', "n": [1, 2]})
    '{`uri`: "a\\\\"b", `n`: [1, 2]}'
    >>> cypher_literal(dt.date(2024, 8, 4))
    'date("2024-08-04")'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return f'date("{value.isoformat()}")'
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for char, escape in _LINE_BREAKS.items():
            text = text.replace(char, escape)
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cypher_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"`{str(k).replace('`', '``')}`: {cypher_literal(v)}" for k, v in value.items()) + "}"
    raise ExportError(f"cannot write {value!r} ({type(value).__name__}) as a Cypher literal")


def write_cypher_script(statements: list[CypherStatement], path: Path) -> None:
    """Write a cypher-shell script (``cypher-shell -f FILE``) atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(
            "// Written by `kg export cypher`. Run: cypher-shell -a bolt://HOST:7687 -u USER -f THIS_FILE\n"
            "// Values are set with :param and used only as $rows; MERGE on uri makes re-runs change nothing.\n"
        )
        for statement in statements:
            if statement.rows:
                handle.write(f":param rows => {cypher_literal(list(statement.rows))}\n")
            handle.write(f"{statement.query};\n")


def export_cypher(dataset: Dataset, options: ExportOptions) -> ExportResult:
    """``kg export cypher --out FILE``: the graph as a cypher-shell script."""
    path = require_out(options, "cypher")
    graph = project_property_graph(dataset)
    statements = plan_statements(graph, options.batch_size)
    write_cypher_script(statements, path)
    return ExportResult(
        target="cypher",
        outputs=(path,),
        counts=(("nodes", len(graph.nodes)), ("relationships", len(graph.edges)), ("statements", len(statements))),
        notes=(f"cypher-shell -a bolt://localhost:7687 -u neo4j -f {shlex.quote(str(path))}",),
    )
