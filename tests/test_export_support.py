"""Helpers the export tests share; this module holds no tests of its own.

* ``nasty_build``: a two-document corpus whose names carry quotes, backslashes, braces, Cypher
  and SPARQL fragments, markup and line breaks (``NASTY``), built once.
* ``oxigraph_server``: a real Oxigraph server on 127.0.0.1, always stopped.
* ``read_cypher_script``: the (query, rows) pairs of a script ``kg export cypher`` wrote, the
  ``:param`` literals read by a small reader written from the Cypher manual's literal syntax.
* ``KuzuGraph``: loads the Neo4j CSV files, or runs the Cypher statements, in kuzu (embedded
  Cypher). kuzu wants a schema and has no multi-label nodes, so each label set becomes one node
  table and each relationship type one relationship table.
* ``parse_import_command`` and ``check_header``: the ``neo4j-admin`` command and the
  documented CSV header rules.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import need
from kg.namespaces import RDF
from kg.rdf.store import NON_DATA_GRAPHS, ONTOLOGY_GRAPH, PROVENANCE_GRAPH

__all__ = [
    "ALT_FORMS",
    "NASTY",
    "FakeDriver",
    "KuzuGraph",
    "array_delimiter",
    "check_header",
    "nasty_build",
    "oxigraph_server",
    "parse_import_command",
    "read_cypher_literal",
    "read_cypher_script",
    "sparql_counts",
    "sparql_json",
]

NASTY_TITLE = 'Quotes "}) DETACH DELETE n // and <script>alert(1)</script>'
NASTY_SIGNAL = '"}) DETACH DELETE n //'
NASTY_SIGNAL_2 = 'x\\"y }) MATCH (m) DETACH DELETE m'
NASTY_KEYWORD = "'; DROP TABLE docs; --"
NASTY_THEME = '<script>alert("x")</script>'
NASTY_SPARQL = "braces } and { ?s ?p ?o } ; DROP ALL ; INSERT DATA { <a> <b> <c> }"
NASTY_BACKTICK = "back`tick` and $rows {uri: 1}"
NASTY_SUMMARY = 'First line with "}) DETACH DELETE n //\n\nSecond paragraph: \'; DROP, and a backslash \\ here.'
NASTY = (NASTY_TITLE, NASTY_SIGNAL, NASTY_SIGNAL_2, NASTY_KEYWORD, NASTY_THEME, NASTY_SPARQL, NASTY_BACKTICK, NASTY_SUMMARY)
# Three spellings of one keyword: one becomes prefLabel, the others an altLabel list whose items
# hold both ";" and "|".
ALT_FORMS = ("Pipe|Semi; Keyword", "pipe|semi; keyword", "PIPE|SEMI; KEYWORD")


def _md(text: str) -> str:
    """``text`` as markdown inline content that reads back as exactly ``text``."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def nasty_corpus(folder: Path) -> Path:
    """Write the two documents into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    first_para, second_para = NASTY_SUMMARY.split("\n\n")
    alt_lines = "".join(f"* {_md(form)}\n" for form in ALT_FORMS)
    (folder / "0123456789abcdef0123456789abcdef.md").write_text(
        f"""# __{_md(NASTY_TITLE)}__, (from page [20240804](https://kghosh.substack.com/p/20240804).)

__[External link](https://example.org/report?a=1&b=2)__

## Keywords

* {_md(NASTY_KEYWORD)}
* {_md(NASTY_BACKTICK)}
{alt_lines}
## Themes

* {_md(NASTY_THEME)}

## Summary

{_md(first_para)}

{_md(second_para)}

## Signals

| name | description | change | 10-year | driving-force | relevancy |
|:--|:--|:--|:--|:--|--:|
| {_md(NASTY_SIGNAL)} | {_md(NASTY_SPARQL)} | from a to b | in ten years | {_md(NASTY_KEYWORD)} | 5 |
| {_md(NASTY_SIGNAL_2)} | plain | c | d | semi;colon force | 4 |
""",
        encoding="utf-8",
    )
    (folder / "fedcba9876543210fedcba9876543210.md").write_text(
        f"""# __A plain second document__, (from page [20240811](https://kghosh.substack.com/p/20240811).)

## Keywords

* {_md(NASTY_KEYWORD)}

## Summary

Nothing odd here.

## Concerns

| name | description | relevancy |
|:--|:--|--:|
| Cost | Too dear | 3 |
""",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="session")
def nasty_build(tmp_path_factory) -> Path:
    """The nasty corpus built; fails at once if the build no longer keeps the strings intact."""
    from kg.pipeline import build

    root = tmp_path_factory.mktemp("nasty")
    out = root / "out"
    build([nasty_corpus(root / "corpus")], out)
    store = ox.Store.read_only(str(out / "store"))
    literals = {q.object.value for q in store.quads_for_pattern(None, None, None) if isinstance(q.object, ox.Literal)}
    missing = [s for s in (*NASTY, *ALT_FORMS) if s not in literals]
    assert not missing, f"the build itself changed these strings: {missing!r}"
    return out


# ---------------------------------------------------------------- SPARQL server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def oxigraph_server(tmp_path) -> str:
    """Base URL of an Oxigraph server started for one test on 127.0.0.1 and always stopped."""
    import httpx

    exe = Path(sys.executable).with_name("oxigraph")
    need(exe.is_file(), f"{exe} is absent (pip install 'foresight-kg[test]' installs the oxigraph server)")
    port = free_port()
    proc = subprocess.Popen(
        [str(exe), "serve", "--location", str(tmp_path / "oxigraph"), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"oxigraph serve exited: {proc.stderr.read().decode(errors='replace')}")
            try:
                if httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("oxigraph serve did not answer within 20 s")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def sparql_json(base: str, query: str) -> list[dict]:
    """Run ``query`` on the server's query endpoint; the bindings as dicts of plain values."""
    import httpx

    response = httpx.post(f"{base}/query", data={"query": query}, headers={"Accept": "application/sparql-results+json"})
    response.raise_for_status()
    return [{k: v["value"] for k, v in row.items()} for row in response.json()["results"]["bindings"]]


# ---------------------------------------------------------------- SPARQL counts of a build


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def sparql_counts(build_dir: Path) -> tuple[Counter, Counter]:
    """(nodes per label, relationships per type) the property-graph view should have, by SPARQL
    on the build's store: every subject is a ``Resource``; a label per ``rdf:type``; a
    relationship per distinct triple whose object is a subject somewhere."""
    store = ox.Store.read_only(str(build_dir / "store"))
    data = f"FILTER (?g != <{ONTOLOGY_GRAPH}> && ?g != <{PROVENANCE_GRAPH}>)"
    labels: Counter = Counter()
    for row in store.query(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {data} }}"):
        labels["Resource"] = int(row["n"].value)
    for row in store.query(
        f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ GRAPH ?g {{ ?s a ?c }} {data} }} GROUP BY ?c"
    ):
        labels[_local(row["c"].value)] = int(row["n"].value)
    types: Counter = Counter()
    for row in store.query(
        f"""SELECT ?p (COUNT(*) AS ?n) WHERE {{
              SELECT DISTINCT ?s ?p ?o WHERE {{
                GRAPH ?g {{ ?s ?p ?o }} GRAPH ?h {{ ?o ?q ?x }}
                FILTER (?p != <{RDF.type}> && ?g != <{ONTOLOGY_GRAPH}> && ?h != <{ONTOLOGY_GRAPH}> && ?g != <{PROVENANCE_GRAPH}> && ?h != <{PROVENANCE_GRAPH}>)
              }} }} GROUP BY ?p"""
    ):
        types[_local(row["p"].value)] = int(row["n"].value)
    return labels, types


# ---------------------------------------------------------------- Cypher script reader


class _LiteralReader:
    """Reads the Cypher literals a ``:param`` line holds: strings (JSON-style escapes, which the
    Cypher manual's escape list contains), integers, ``date("…")``, lists and maps with
    backquoted keys."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _expect(self, token: str) -> None:
        self._skip()
        assert self.text.startswith(token, self.pos), f"expected {token!r} at {self.pos}: {self.text[self.pos:self.pos + 40]!r}"
        self.pos += len(token)

    def value(self):
        self._skip()
        char = self.text[self.pos]
        if char == '"':
            value, self.pos = json.decoder.scanstring(self.text, self.pos + 1)
            return value
        if char == "[":
            return self._sequence("[", "]", self.value)
        if char == "{":
            return dict(self._sequence("{", "}", self._entry))
        if self.text.startswith("date(", self.pos):
            self.pos += len("date(")
            value = self.value()
            self._expect(")")
            return dt.date.fromisoformat(value)
        match = re.compile(r"-?[0-9]+").match(self.text, self.pos)
        assert match, f"unexpected literal at {self.pos}: {self.text[self.pos:self.pos + 40]!r}"
        self.pos = match.end()
        return int(match.group())

    def _entry(self):
        self._expect("`")
        end = self.pos
        while True:
            end = self.text.index("`", end)
            if self.text.startswith("``", end):
                end += 2
                continue
            break
        key = self.text[self.pos : end].replace("``", "`")
        self.pos = end + 1
        self._expect(":")
        return key, self.value()

    def _sequence(self, open_, close, item):
        self._expect(open_)
        items = []
        self._skip()
        if self.text.startswith(close, self.pos):
            self.pos += 1
            return items
        while True:
            items.append(item())
            self._skip()
            if self.text.startswith(close, self.pos):
                self.pos += 1
                return items
            self._expect(",")


def read_cypher_literal(text: str):
    reader = _LiteralReader(text)
    value = reader.value()
    assert reader.pos == len(text), f"trailing text after the literal: {text[reader.pos:reader.pos + 40]!r}"
    return value


def read_cypher_script(path: Path) -> list[tuple[str, list]]:
    """(query, rows) per statement of a script: a ``:param rows => …`` line sets the rows of the
    statement that follows it; a statement ends with ``;`` at the end of its line."""
    statements: list[tuple[str, list]] = []
    rows: list | None = None
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line or line.startswith("//"):
            continue
        if line.startswith(":param rows => "):
            rows = read_cypher_literal(line[len(":param rows => "):])
            continue
        assert line.endswith(";"), f"not a statement: {line[:80]!r}"
        statements.append((line[:-1], rows or []))
        rows = None
    return statements


# ---------------------------------------------------------------- neo4j-admin


HEADER_TYPES = {
    "int", "long", "float", "double", "boolean", "byte", "short", "char", "string", "point",
    "date", "localtime", "time", "localdatetime", "datetime", "duration",
}
_HEADER_FIELD = re.compile(r"(?P<name>[^:]*)(?::(?P<type>[A-Za-z_]+)(?:\((?P<group>[^)]*)\))?(?P<array>\[\])?)?")


def check_header(fields: list[str], kind: str) -> list[str]:
    """Problems with a CSV header under Neo4j's documented import header format (empty: none).

    Each field is ``name``, ``name:type`` or ``name:type[]`` with a type from the documented
    set, or a keyword field: ``:ID`` (optionally named, ``uri:ID``, and grouped, ``:ID(space)``),
    ``:LABEL`` in node files; ``:START_ID``, ``:END_ID`` and ``:TYPE`` in relationship files;
    ``:IGNORE`` anywhere. A node file has exactly one ``:ID``; a relationship file exactly one
    ``:START_ID`` and one ``:END_ID`` and at most one ``:TYPE``. Property names are unique.
    """
    keywords = {"nodes": {"ID", "LABEL", "IGNORE"}, "relationships": {"START_ID", "END_ID", "TYPE", "IGNORE"}}[kind]
    problems: list[str] = []
    seen: Counter = Counter()
    names: Counter = Counter()
    for field in fields:
        match = _HEADER_FIELD.fullmatch(field)
        if not match:
            problems.append(f"malformed field {field!r}")
            continue
        name, type_, array = match["name"], match["type"], match["array"]
        if type_ is None:
            if not name:
                problems.append(f"empty field name in {field!r}")
            names[name] += 1
        elif type_ in keywords:
            if array:
                problems.append(f"{field!r}: {type_} cannot be an array")
            if type_ in ("LABEL", "TYPE", "START_ID", "END_ID") and name:
                problems.append(f"{field!r}: {type_} takes no property name")
            seen[type_] += 1
            if type_ == "ID" and name:
                names[name] += 1
        elif type_.isupper():
            problems.append(f"{field!r}: {type_} is not a keyword of {kind} files")
        elif type_ not in HEADER_TYPES:
            problems.append(f"{field!r}: unknown type {type_!r}")
        else:
            if not name:
                problems.append(f"{field!r}: a typed property needs a name")
            names[name] += 1
    expected = {"nodes": {"ID": (1, 1), "LABEL": (0, 1)}, "relationships": {"START_ID": (1, 1), "END_ID": (1, 1), "TYPE": (0, 1)}}[kind]
    for keyword, (low, high) in expected.items():
        if not low <= seen[keyword] <= high:
            problems.append(f"{seen[keyword]} :{keyword} fields (want {low}..{high})")
    problems.extend(f"property {name!r} named {n} times" for name, n in names.items() if n > 1)
    return problems


def parse_import_command(command: str) -> tuple[list[tuple[list[str], str]], list[tuple[str, str]], dict[str, str]]:
    """(node sources, relationship sources, other options) of a ``neo4j-admin database import
    full`` command: node sources as (labels, file), relationship sources as (type, file)."""
    args = shlex.split(command)
    assert args[:4] == ["neo4j-admin", "database", "import", "full"], args[:4]
    nodes: list[tuple[list[str], str]] = []
    rels: list[tuple[str, str]] = []
    options: dict[str, str] = {}
    for arg in args[4:]:
        if arg.startswith("--nodes="):
            labels, _, file = arg[len("--nodes="):].rpartition("=")
            nodes.append((labels.split(":") if labels else [], file))
        elif arg.startswith("--relationships="):
            rel_type, _, file = arg[len("--relationships="):].rpartition("=")
            rels.append((rel_type, file))
        elif arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            options[key] = value
        else:
            options["database"] = arg
    return nodes, rels, options


def array_delimiter(options: dict[str, str]) -> str:
    """The ``--array-delimiter`` value (``U+XXXX`` read as that character); ``;`` by default."""
    value = options.get("array-delimiter", ";")
    return chr(int(value[2:], 16)) if value.startswith("U+") else value


# ---------------------------------------------------------------- kuzu


_KUZU = {"string": "STRING", "int": "INT64", "long": "INT64", "date": "DATE"}
_NODE_QUERY = re.compile(
    r"UNWIND \$rows AS row MERGE \(n:Resource \{uri: row\.uri\}\)(?: SET n(?P<labels>(?::`[A-Za-z_][A-Za-z0-9_]*`)+))? SET n \+= row\.props"
)
_REL_QUERY = re.compile(
    r"UNWIND \$rows AS row MATCH \(a:Resource \{uri: row\.start\}\) MATCH \(b:Resource \{uri: row\.end\}\) "
    r"MERGE \(a\)-\[:`(?P<type>[A-Za-z_][A-Za-z0-9_]*)`\]->\(b\)"
)
_CONSTRAINT = re.compile(r"CREATE CONSTRAINT \w+ IF NOT EXISTS FOR \(r:Resource\) REQUIRE r\.uri IS UNIQUE")


def _kuzu_type(value) -> str:
    if isinstance(value, list):
        return f"{_kuzu_type(value[0])}[]"
    if isinstance(value, bool):
        raise AssertionError("no boolean properties expected")
    return {int: "INT64", str: "STRING", dt.date: "DATE"}[type(value)]


class KuzuGraph:
    """An in-memory kuzu database holding one export: a node table per label set (named by its
    labels, ``Resource`` alone for untyped nodes) and a relationship table per type."""

    def __init__(self) -> None:
        import kuzu

        self.db = kuzu.Database(":memory:")
        self.conn = kuzu.Connection(self.db)
        self.labels_of: dict[str, tuple[str, ...]] = {}  # table -> labels besides Resource
        self.table_of: dict[str, str] = {}  # uri -> table
        self.rel_tables: set[str] = set()

    def query(self, text: str, params: dict | None = None) -> list[list]:
        result = self.conn.execute(text, params or {})
        rows = []
        while result.has_next():
            rows.append(result.get_next())
        return rows

    @staticmethod
    def table(labels) -> str:
        # kuzu's catalog ignores case, so node table Document and rel table document would clash.
        labels = sorted(label for label in labels if label != "Resource")
        return "N_" + ("_".join(labels) or "Resource")

    @staticmethod
    def rel_table(rel_type: str) -> str:
        return f"R_{rel_type}"

    def _node_table(self, labels: tuple[str, ...], columns: dict[str, str]) -> str:
        table = self.table(labels)
        if table not in self.labels_of:
            cols = "".join(f", `{name}` {kind}" for name, kind in sorted(columns.items()))
            self.query(f"CREATE NODE TABLE `{table}`(`uri` STRING{cols}, PRIMARY KEY(`uri`))")
            self.labels_of[table] = tuple(sorted(label for label in labels if label != "Resource"))
        return table

    def _rel_table(self, rel_type: str, pairs: set[tuple[str, str]]) -> None:
        if rel_type not in self.rel_tables:
            ends = ", ".join(f"FROM `{a}` TO `{b}`" for a, b in sorted(pairs))
            self.query(f"CREATE REL TABLE `{self.rel_table(rel_type)}`({ends})")
            self.rel_tables.add(rel_type)

    # -- the neo4j-admin CSV files, read by kuzu's own CSV reader

    def load_csv(self, folder: Path, command: str) -> None:
        nodes, rels, options = parse_import_command(command)
        delimiter = array_delimiter(options)
        for labels, file in nodes:
            path = folder / file
            header = path.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
            columns, values = {}, []
            for field in header[2:]:
                name, _, kind = field.partition(":")
                base = kind.removesuffix("[]") or "string"
                columns[name] = _KUZU[base] + ("[]" if kind.endswith("[]") else "")
                column = f"`{field}`"
                if kind.endswith("[]"):
                    assert base == "string", f"only string arrays expected, not {kind}"
                    values.append(f"`{name}`: string_split({column}, '{delimiter}')")
                elif base in ("int", "long"):
                    values.append(f"`{name}`: CAST({column} AS INT64)")
                elif base == "date":
                    values.append(f"`{name}`: date({column})")
                else:
                    values.append(f"`{name}`: {column}")
            table = self._node_table(tuple(labels), columns)
            loaded = ", ".join(f"`{field}` STRING" for field in header)
            props = ", ".join(["`uri`: `uri:ID`", *values])
            self.query(f"LOAD WITH HEADERS ({loaded}) FROM '{path}' (header=true, parallel=false) CREATE (:`{table}` {{{props}}})")
            for (uri,) in self.query(f"MATCH (n:`{table}`) RETURN n.uri"):
                self.table_of[uri] = table
        for rel_type, file in rels:
            path = folder / file
            source = f"LOAD WITH HEADERS (`:START_ID` STRING, `:END_ID` STRING, `:TYPE` STRING) FROM '{path}' (header=true, parallel=false)"
            rows = self.query(f"{source} RETURN `:START_ID`, `:END_ID`, `:TYPE`")
            assert {row[2] for row in rows} == {rel_type}, f"{file}: :TYPE column disagrees with the command"
            by_pair: dict[tuple[str, str], list[dict]] = {}
            for start, end, _ in rows:
                by_pair.setdefault((self.table_of[start], self.table_of[end]), []).append({"s": start, "e": end})
            self._rel_table(rel_type, set(by_pair))
            for (a, b), pair_rows in sorted(by_pair.items()):
                self.query(
                    f"UNWIND $rows AS row MATCH (a:`{a}` {{uri: row.s}}), (b:`{b}` {{uri: row.e}}) "
                    f"CREATE (a)-[:`{self.rel_table(rel_type)}`]->(b)",
                    {"rows": pair_rows},
                )

    # -- the Cypher statements, each row run as kuzu MERGE

    def run_statements(self, statements: list[tuple[str, list]]) -> None:
        columns: dict[str, dict[str, str]] = {}
        labels_by_table: dict[str, tuple[str, ...]] = {}
        pairs: dict[str, set[tuple[str, str]]] = {}
        plan = []
        for query, rows in statements:
            if _CONSTRAINT.fullmatch(query):
                assert not rows
                continue
            if match := _NODE_QUERY.fullmatch(query):
                labels = tuple(re.findall(r"`([^`]+)`", match["labels"] or ""))
                table = self.table(labels)
                labels_by_table[table] = labels
                for row in rows:
                    self.table_of[row["uri"]] = table
                    for key, value in row["props"].items():
                        columns.setdefault(table, {})[key] = _kuzu_type(value)
                plan.append(("node", table, rows))
            elif match := _REL_QUERY.fullmatch(query):
                plan.append(("rel", match["type"], rows))
            else:
                raise AssertionError(f"a statement outside the exporter's templates: {query[:120]!r}")
        for kind, name, rows in plan:
            if kind == "rel":
                pairs.setdefault(name, set()).update((self.table_of[r["start"]], self.table_of[r["end"]]) for r in rows)
        for table, labels in labels_by_table.items():
            self._node_table(labels, columns.get(table, {}))
        for rel_type, found in pairs.items():
            self._rel_table(rel_type, found)
        for kind, name, rows in plan:
            if kind == "node":
                # One UNWIND per batch, as in Neo4j; kuzu wants every row to have every column,
                # so absent ones are null, and a column null throughout is left out.
                keys = sorted({key for row in rows for key in row["props"]})
                batch = [{"uri": row["uri"], **{f"p{i}": row["props"].get(key) for i, key in enumerate(keys)}} for row in rows]
                sets = ", ".join(f"n.`{key}` = row.p{i}" for i, key in enumerate(keys))
                self.query(f"UNWIND $rows AS row MERGE (n:`{name}` {{uri: row.uri}})" + (f" SET {sets}" if sets else ""), {"rows": batch})
                continue
            by_pair: dict[tuple[str, str], list[dict]] = {}
            for row in rows:
                by_pair.setdefault((self.table_of[row["start"]], self.table_of[row["end"]]), []).append(row)
            for (a, b), pair_rows in sorted(by_pair.items()):
                # "end" is a keyword to kuzu's parser, so the ends travel as s and e.
                self.query(
                    f"UNWIND $rows AS row MATCH (a:`{a}` {{uri: row.s}}), (b:`{b}` {{uri: row.e}}) "
                    f"MERGE (a)-[:`{self.rel_table(name)}`]->(b)",
                    {"rows": [{"s": row["start"], "e": row["end"]} for row in pair_rows]},
                )

    # -- what is in it

    def label_counts(self) -> Counter:
        counts: Counter = Counter()
        for table, labels in self.labels_of.items():
            [[n]] = self.query(f"MATCH (n:`{table}`) RETURN count(n)")
            for label in ("Resource", *labels):
                counts[label] += n
        return counts

    def type_counts(self) -> Counter:
        counts: Counter = Counter()
        for rel_type in self.rel_tables:
            [[n]] = self.query(f"MATCH ()-[r:`{self.rel_table(rel_type)}`]->() RETURN count(r)")
            counts[rel_type] = n
        return counts

    def nodes(self) -> dict[str, dict]:
        """Every node's properties (nulls and empty lists dropped), by uri."""
        found = {}
        for table in self.labels_of:
            for (node,) in self.query(f"MATCH (n:`{table}`) RETURN n"):
                # kuzu reads a null list parameter as []; the exports never write an empty list.
                found[node["uri"]] = {k: v for k, v in node.items() if not k.startswith("_") and v not in (None, [])}
        return found


# ---------------------------------------------------------------- a stand-in for neo4j.Driver


class FakeDriver:
    """Shaped like ``neo4j.Driver`` as far as ``push_statements`` uses it; keeps every
    transaction as a list of (query, rows) and answers with zero counters."""

    class _Summary:
        counters = None

    class _Result:
        def consume(self):
            return FakeDriver._Summary()

    class _Tx:
        def __init__(self) -> None:
            self.runs: list[tuple[str, list]] = []

        def run(self, query: str, **params):
            self.runs.append((query, params.get("rows", [])))
            return FakeDriver._Result()

    def __init__(self) -> None:
        self.transactions: list[list[tuple[str, list]]] = []
        self.databases: list[str] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def session(self, database: str = "neo4j"):
        self.databases.append(database)
        return self

    def execute_write(self, work, *args):
        tx = self._Tx()
        result = work(tx, *args)
        self.transactions.append(tx.runs)
        return result

    def run(self, query: str):
        tx = self._Tx()
        result = tx.run(query)
        self.transactions.append(tx.runs)
        return result

    @property
    def sent(self) -> list[tuple[str, list]]:
        """Every (query, rows) in the order sent."""
        return [run for tx in self.transactions for run in tx]
