"""Push the graph into a running Neo4j through the official driver (``pip install 'foresight-kg[neo4j]'``).

The statements are ``cypher.plan_statements``'s, one batch per write transaction, so a failed
batch is retried by the driver and never half-applied; ``MERGE`` on ``uri`` makes a second push
create nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from kg.errors import ExportError, UsageError
from kg.export.base import Dataset, ExportOptions, ExportResult
from kg.export.cypher import CypherStatement, plan_statements
from kg.export.property_graph import project_property_graph

__all__ = ["DEFAULT_PASSWORD_ENV", "INSTALL_HINT", "export_neo4j", "push_statements"]

DEFAULT_PASSWORD_ENV = "NEO4J_PASSWORD"
INSTALL_HINT = "pip install 'foresight-kg[neo4j]'"
_COUNTERS = ("nodes_created", "relationships_created", "properties_set", "labels_added", "constraints_added")


def _write_batch(tx, query: str, rows: list[dict]):
    return tx.run(query, rows=rows).consume()


def push_statements(statements: Sequence[CypherStatement], driver, *, database: str = "neo4j") -> dict[str, int]:
    """Run ``statements`` through ``driver`` (a ``neo4j.Driver`` or an object shaped like one).

    The constraint (no rows) runs on its own, as schema changes cannot share a transaction
    with writes; every batch of rows is one managed write transaction.

    Returns:
        The server's counters summed over all statements (``nodes_created`` …).
    """
    totals: Counter[str] = Counter({name: 0 for name in _COUNTERS})
    with driver.session(database=database) as session:
        for statement in statements:
            if statement.rows:
                summary = session.execute_write(_write_batch, statement.query, list(statement.rows))
            else:
                summary = session.run(statement.query).consume()
            for name in _COUNTERS:
                totals[name] += getattr(summary.counters, name, 0)
    return dict(totals)


def export_neo4j(dataset: Dataset, options: ExportOptions) -> ExportResult:
    """``kg export neo4j --uri bolt://… --user … [--password-env VAR] [--database …]``.

    Raises:
        UsageError: no ``--uri``, or the password variable is not set.
        ExportError: the driver is not installed, or the server refused or failed.
    """
    if not options.uri:
        raise UsageError("kg export neo4j needs --uri (such as bolt://localhost:7687)")
    variable = options.password_env or DEFAULT_PASSWORD_ENV
    password = os.environ.get(variable)
    if password is None:
        raise UsageError(f"environment variable {variable} is not set; put the Neo4j password there (or name another with --password-env)")
    try:
        import neo4j
        from neo4j.exceptions import DriverError, Neo4jError
    except ImportError as exc:
        raise ExportError(f"kg export neo4j needs the Neo4j driver: {INSTALL_HINT}") from exc
    statements = plan_statements(project_property_graph(dataset), options.batch_size)
    try:
        with neo4j.GraphDatabase.driver(options.uri, auth=(options.user or "neo4j", password)) as driver:
            totals = push_statements(statements, driver, database=options.database)
    except (DriverError, Neo4jError, ValueError) as exc:
        raise ExportError(f"{options.uri} (database {options.database}): {exc}") from exc
    return ExportResult(target="neo4j", counts=tuple(totals.items()) + (("statements", len(statements)),))
