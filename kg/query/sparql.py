"""SPARQL over a build: the library of named queries, safe parameters, running, and formats.

::

    kg/queries/*.rq ─list_queries / load_query─▶ SparqlQuery
    argument text, file or name ─resolve_query─▶ SparqlQuery
    DIR (store) or RDF file ─open_graph─▶ pyoxigraph Store
    Store + SparqlQuery + params ─execute─▶ pyoxigraph result ─serialize_result─▶ bytes (CSV, TSV, JSON, XML, Turtle)
                                 ─run_query─▶ QueryResult (rows of terms; shows as an HTML table in notebooks)

Queries see the project's prefixes (``kg.namespaces.PREFIXES``) without declaring them, and the
union of every named graph as their default graph. Parameters are bound as RDF terms through
pyoxigraph's substitutions: the query text is never edited, so user text cannot change the
query and syntax error positions are those of the text as written.
"""

from __future__ import annotations

import html
import importlib.resources
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import QueryError, UsageError
from kg.namespaces import PREFIXES
from kg.rdf.write import FILE_PREFIXES

__all__ = [
    "FORMATS",
    "QueryParam",
    "QueryResult",
    "QuerySyntaxError",
    "SparqlQuery",
    "bind_params",
    "collect_result",
    "execute",
    "find_undeclared_prefix",
    "list_queries",
    "load_query",
    "open_graph",
    "parse_param_options",
    "parse_query_text",
    "resolve_query",
    "run_query",
    "serialize_result",
    "syntax_error",
    "term_text",
    "term_value",
    "to_rdflib",
    "uses_service",
]

# Result formats for SELECT and ASK, by the name ``kg query --format`` takes.
FORMATS: dict[str, ox.QueryResultsFormat] = {
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
}

_PARAM_LINE = re.compile(r"param\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
_QUERY_SUFFIXES = (".rq", ".sparql")
_MAX_REASON = 240


class QuerySyntaxError(QueryError):
    """A query does not parse.

    Attributes:
        source: where the query came from (file, ``library:<name>``, ``<query>``).
        line, column: 1-based position in the query text as written, where the parser stopped.
        reason: the parser's message, without the position.
    """

    def __init__(self, reason: str, *, source: str, line: int, column: int, excerpt: str = "") -> None:
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason
        message = f"{source}:{line}:{column}: SPARQL syntax error: {reason}"
        if excerpt:
            message += "\n" + excerpt
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class QueryParam:
    """A parameter a query declares in its header with ``# param NAME: what to pass``.

    Attributes:
        name: the SPARQL variable it binds, without ``?``.
        description: what value to pass.
    """

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class SparqlQuery:
    """A SPARQL query ready to run.

    Attributes:
        text: the query exactly as written; error positions refer to it.
        source: where it came from, for messages: a file, ``library:<name>`` or ``<query>``.
        name: the library name, or ``None`` for a query given as text or as a file.
        description: the first line of the leading ``# `` comment, or ``""``.
        params: parameters declared in that comment; a query that declares none accepts any.
    """

    text: str
    source: str = "<query>"
    name: str | None = None
    description: str = ""
    params: tuple[QueryParam, ...] = ()


@dataclass(frozen=True)
class QueryResult:
    """What a query answered, held in memory.

    Attributes:
        form: ``"SELECT"``, ``"ASK"`` or ``"CONSTRUCT"`` (``DESCRIBE`` answers as ``CONSTRUCT``).
        variables: a SELECT's column names, in order.
        rows: a SELECT's solutions: one tuple of pyoxigraph terms per row, ``None`` where unbound.
        boolean: an ASK's answer.
        triples: a CONSTRUCT's triples.
    """

    form: str
    variables: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    boolean: bool | None = None
    triples: tuple[ox.Triple, ...] = ()

    def __len__(self) -> int:
        return len(self.rows) if self.form == "SELECT" else len(self.triples)

    def values(self) -> list[tuple]:
        """The rows as plain Python values (``term_value`` of each cell).

        >>> QueryResult("SELECT", ("n",), ((ox.Literal("3", datatype=ox.NamedNode(_XSD_INTEGER)),),)).values()
        [(3,)]
        """
        return [tuple(term_value(t) for t in row) for row in self.rows]

    def to_html(self, *, limit: int | None = None) -> str:
        """A self-contained HTML table of the answer, every value escaped."""
        if self.form == "ASK":
            return f"<p class=\"kg-ask\">{'true' if self.boolean else 'false'}</p>"
        if self.form == "CONSTRUCT":
            body = ox.serialize(list(self.triples), format=ox.RdfFormat.TURTLE, prefixes=FILE_PREFIXES).decode()
            return f"<pre class=\"kg-turtle\">{html.escape(body)}</pre>"
        rows = self.rows if limit is None else self.rows[:limit]
        head = "".join(f"<th>{html.escape(v)}</th>" for v in self.variables)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(term_text(t))}</td>" for t in row) + "</tr>" for row in rows
        )
        note = "" if len(rows) == len(self.rows) else f"<caption>first {len(rows)} of {len(self.rows)} rows</caption>"
        return f"<table class=\"kg-results\">{note}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _repr_html_(self) -> str:
        return self.to_html(limit=200)


_XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
_NUMERIC = {
    _XSD_INTEGER: int,
    "http://www.w3.org/2001/XMLSchema#int": int,
    "http://www.w3.org/2001/XMLSchema#long": int,
    "http://www.w3.org/2001/XMLSchema#nonNegativeInteger": int,
    "http://www.w3.org/2001/XMLSchema#decimal": float,
    "http://www.w3.org/2001/XMLSchema#double": float,
    "http://www.w3.org/2001/XMLSchema#float": float,
}
_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def term_value(term) -> object:
    """A term as a plain Python value: numbers and booleans typed, IRIs and other literals as text.

    >>> term_value(ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")))
    True
    >>> term_value(ox.NamedNode("https://w3id.org/foresight-kg/id/doc/x")), term_value(None)
    ('https://w3id.org/foresight-kg/id/doc/x', None)
    """
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        kind = term.datatype.value if term.datatype else None
        if kind == _BOOLEAN:
            return term.value in ("true", "1")
        if kind in _NUMERIC:
            try:
                return _NUMERIC[kind](term.value)
            except ValueError:
                return term.value
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def to_rdflib(term):
    """A pyoxigraph term as rdflib's, for code that works with rdflib (initBindings, graphs).

    An ``xsd:string`` literal becomes a plain one: RDF 1.1 makes them the same, but rdflib's
    memory store matches ``"a"`` only with ``"a"``, not with ``"a"^^xsd:string``.

    >>> to_rdflib(ox.Literal("a")), to_rdflib(ox.Literal("3", datatype=ox.NamedNode(_XSD_INTEGER))).toPython()
    (rdflib.term.Literal('a'), 3)
    """
    import rdflib

    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Triple):
        return to_rdflib(term.subject), to_rdflib(term.predicate), to_rdflib(term.object)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    return rdflib.Literal(term.value, datatype=None if datatype == _XSD_STRING else rdflib.URIRef(datatype))


def term_text(term, prefixes: Mapping[str, str] = PREFIXES) -> str:
    """How a table shows a term: IRIs shortened with the project's prefixes, literals as their text.

    >>> term_text(ox.NamedNode("https://w3id.org/foresight-kg/id/doc/abc"))
    'fsid:doc/abc'
    >>> term_text(ox.Literal("a < b")), term_text(None)
    ('a < b', '')
    """
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        best = max((ns for ns in prefixes.values() if term.value.startswith(ns)), key=len, default=None)
        if best is None or len(term.value) == len(best):
            return term.value
        name = next(p for p, ns in prefixes.items() if ns == best)
        return f"{name}:{term.value[len(best):]}"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        return term.value
    return str(term)


def parse_query_text(text: str, *, source: str = "<query>", name: str | None = None) -> SparqlQuery:
    """Read a query's leading comment: its first line describes it, ``# param NAME: what`` lines declare parameters.

    >>> q = parse_query_text("# Orgs near a technology.\\n# param technology: its label\\nSELECT * {}")
    >>> q.description, [p.name for p in q.params]
    ('Orgs near a technology.', ['technology'])
    """
    description = ""
    params: list[QueryParam] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        match = _PARAM_LINE.fullmatch(body)
        if match:
            params.append(QueryParam(match[1], match[2].strip()))
        elif body and not description:
            description = body
    return SparqlQuery(text=text, source=source, name=name, description=description, params=tuple(params))


def _library() -> dict[str, importlib.resources.abc.Traversable]:
    folder = importlib.resources.files("kg").joinpath("queries")
    return {item.name[: -len(".rq")]: item for item in folder.iterdir() if item.name.endswith(".rq")}


def list_queries() -> tuple[SparqlQuery, ...]:
    """Every query of the library (``kg/queries/*.rq``), sorted by name."""
    return tuple(load_query(name) for name in sorted(_library()))


def load_query(name: str) -> SparqlQuery:
    """The library query called ``name``.

    Raises:
        UsageError: no query has that name (the message lists those that exist).
    """
    files = _library()
    if name not in files:
        raise UsageError(f"no library query named {name!r}; the library has: {', '.join(sorted(files))}")
    return parse_query_text(files[name].read_text(encoding="utf-8"), source=f"library:{name}", name=name)


def resolve_query(argument: str) -> SparqlQuery:
    """What ``kg query QUERY_OR_FILE`` means by its argument: a file, a library name, or query text.

    Raises:
        UsageError: the argument names a file that cannot be read, or looks like a name that is
            neither a file nor a library query.
    """
    text = argument.strip()
    looks_like_file = text.endswith(_QUERY_SUFFIXES) and not any(c.isspace() for c in text)
    if text and not any(c.isspace() for c in text) and not looks_like_file:
        if text in _library():
            return load_query(text)
    path = Path(text)
    try:
        is_file = bool(text) and len(text) < 4096 and path.is_file()
    except OSError:
        is_file = False
    if is_file:
        try:
            body = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read the query file: {exc}") from exc
        return parse_query_text(body, source=str(path))
    if looks_like_file:
        raise UsageError(f"{text}: no such query file")
    if _BARE_NAME.fullmatch(text):
        raise UsageError(
            f"{text!r} is neither a file nor a library query; the library has: {', '.join(sorted(_library()))}"
        )
    if not text:
        raise UsageError("the query is empty")
    return SparqlQuery(text=argument)


def parse_param_options(options: Iterable[str]) -> dict[str, str]:
    """``--param name=value`` options as a dict.

    >>> parse_param_options(["technology=generative AI", "document=ec39"])
    {'technology': 'generative AI', 'document': 'ec39'}

    Raises:
        UsageError: an option has no ``=`` or the name is not a SPARQL variable name.
    """
    params: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not _VARIABLE.fullmatch(name):
            raise UsageError(f"--param {option!r}: expected NAME=VALUE with NAME a SPARQL variable name")
        params[name] = value
    return params


def bind_params(query: SparqlQuery, params: Mapping[str, str]) -> dict[str, ox.NamedNode | ox.Literal]:
    """The RDF term each parameter binds: ``<…>`` is an IRI, anything else a plain string.

    A query that declares parameters must get exactly those; one that declares none takes any.

    >>> bind_params(SparqlQuery("SELECT * {}"), {"x": "a \\"quoted\\" value", "y": "<https://example.org/a>"})
    {'x': <Literal value=a "quoted" value datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#string>>, 'y': <NamedNode value=https://example.org/a>}

    Raises:
        UsageError: a parameter is unknown, missing, or not a valid IRI.
    """
    declared = {p.name for p in query.params}
    if declared:
        unknown = sorted(set(params) - declared)
        if unknown:
            raise UsageError(
                f"{query.source}: unknown parameter {', '.join(unknown)}; it takes {_describe(query.params)}"
            )
        missing = sorted(declared - set(params))
        if missing:
            raise UsageError(
                f"{query.source}: missing --param {', '.join(f'{m}=…' for m in missing)}; it takes {_describe(query.params)}"
            )
    bound: dict[str, ox.NamedNode | ox.Literal] = {}
    for name, value in params.items():
        if not _VARIABLE.fullmatch(name):
            raise UsageError(f"{query.source}: parameter name {name!r} is not a SPARQL variable name")
        if value.startswith("<") and value.endswith(">"):
            try:
                bound[name] = ox.NamedNode(value[1:-1])
            except ValueError as exc:
                raise UsageError(f"{query.source}: parameter {name}={value}: not a valid IRI ({exc})") from exc
        else:
            bound[name] = ox.Literal(value)
    return bound


def _describe(params: Sequence[QueryParam]) -> str:
    return "; ".join(f"{p.name} ({p.description})" if p.description else p.name for p in params)


def open_graph(path: Path) -> ox.Store:
    """The graph to query: a build folder (``DIR`` or ``DIR/store``) opened read-only, or an RDF
    file (Turtle, TriG, N-Triples, N-Quads, RDF/XML…) loaded into memory.

    Raises:
        UsageError: nothing usable at ``path``.
    """
    from kg.rdf.store import open_store

    if path.is_dir():
        try:
            return open_store(path)
        except OSError as exc:
            raise UsageError(f"{path}: not an Oxigraph store ({exc}); run 'kg build … --out {path}' first") from exc
    if path.is_file():
        fmt = ox.RdfFormat.from_extension(path.suffix.lstrip(".").lower()) if path.suffix else None
        if fmt is None:
            known = ".ttl, .trig, .nt, .nq, .rdf, .jsonld, .n3"
            raise UsageError(f"{path}: unknown RDF file type {path.suffix or '(no suffix)'}; use a store folder or one of {known}")
        store = ox.Store()
        try:
            store.bulk_load(path=str(path), format=fmt)
        except (SyntaxError, ValueError, OSError) as exc:
            raise UsageError(f"{path}: cannot load it as {fmt.name}: {exc}") from exc
        return store
    raise UsageError(f"{path}: no such file or folder; run 'kg build … --out {path}' first")


def execute(
    store: ox.Store,
    query: SparqlQuery,
    params: Mapping[str, str] | None = None,
    *,
    default_graph: Sequence[str] | None = None,
    named_graphs: Sequence[str] | None = None,
):
    """Run ``query`` on ``store`` and return pyoxigraph's lazy result.

    The default graph is the union of every graph unless ``default_graph`` lists graph IRIs.

    Returns:
        ``QuerySolutions`` (SELECT), ``QueryBoolean`` (ASK) or ``QueryTriples`` (CONSTRUCT, DESCRIBE).

    Raises:
        QuerySyntaxError: the query does not parse (with line and column of ``query.text``).
        QueryError: the store failed while starting the query.
        UsageError: a parameter is unknown, missing or malformed.
    """
    bound = bind_params(query, params or {})
    options: dict = {"prefixes": PREFIXES}
    if bound:
        options["substitutions"] = {ox.Variable(name): term for name, term in bound.items()}
    if default_graph:
        options["default_graph"] = [ox.NamedNode(iri) for iri in default_graph]
    else:
        options["use_default_graph_as_union"] = True
    if named_graphs:
        options["named_graphs"] = [ox.NamedNode(iri) for iri in named_graphs]
    try:
        return store.query(query.text, **options)
    except SyntaxError as exc:
        raise syntax_error(query, str(exc)) from exc
    except (OSError, ValueError, RuntimeError) as exc:
        if bound and "projection" in str(exc):
            # Substitution (SEP-0007) binds only variables the query selects.
            raise UsageError(
                f"{query.source}: parameters bind only selected variables; add "
                f"{' '.join('?' + n for n in bound)} to the SELECT clause (or use SELECT *): {exc}"
            ) from exc
        raise QueryError(f"{query.source}: the query failed: {exc}") from exc


def syntax_error(query: SparqlQuery, message: str) -> QueryError:
    """Turn pyoxigraph's ``error at LINE:COLUMN: …`` into an error that shows the line and a caret.

    pyoxigraph reports where its parser gave up, which for an undeclared prefix lies past the
    prefixed name and names only what it expected there; such a name, when one stands at or
    before that point, is reported instead, at its own position.
    """
    match = _POSITION.fullmatch(message.strip())
    if not match:
        return QueryError(f"{query.source}: SPARQL syntax error: {message}")
    line, column, reason = int(match[1]), int(match[2]), " ".join(match[3].split())
    undeclared = find_undeclared_prefix(query.text)
    if undeclared and (undeclared[1:] <= (line, column) or "Prefix not found" in reason):
        name, line, column = undeclared
        reason = f"undeclared prefix {name}: (declare it with PREFIX, or use one of {', '.join(sorted(PREFIXES))})"
    elif len(reason) > _MAX_REASON:
        reason = reason[:_MAX_REASON].rsplit(",", 1)[0] + ", …"
    lines = query.text.splitlines()
    excerpt = ""
    if 1 <= line <= len(lines):
        shown = lines[line - 1]
        caret = " " * len(shown[: column - 1].expandtabs())
        excerpt = f"    {shown.expandtabs()}\n    {caret}^"
    return QuerySyntaxError(reason, source=query.source, line=line, column=column, excerpt=excerpt)


# Comments, strings, IRIs, variables and blank nodes may hold a colon without being a prefixed
# name, so they are matched (and skipped) first.
_TOKENS = re.compile(
    r"""
    (?P<skip> \#[^\n]*
            | \"\"\"(?:[^\\]|\\.)*?\"\"\" | '''(?:[^\\]|\\.)*?'''
            | "(?:[^"\\\n]|\\.)*" | '(?:[^'\\\n]|\\.)*'
            | <[^<>"{}|^`\\\x00-\x20]*>
            | [?$]\w+ | _:[\w.-]* )
    | (?P<declare> (?i:PREFIX)\s+(?:[A-Za-z][\w.-]*)?: )
    | (?<![\w.-]) (?P<prefix>[A-Za-z][\w-]*(?:\.[\w-]+)*)? :
    """,
    re.VERBOSE,
)
_DECLARED = re.compile(r"(?i:PREFIX)\s+([A-Za-z][\w.-]*)?:")


_SERVICE = re.compile(r"(?<![\w:?$])SERVICE(?![\w:])", re.IGNORECASE)


def uses_service(text: str) -> bool:
    """Whether the query calls another endpoint (``SERVICE``), outside strings, IRIs and comments.

    >>> uses_service("SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    True
    >>> uses_service("SELECT * { ?s ex:service 'SERVICE' } # SERVICE")
    False
    """
    bare = _TOKENS.sub(lambda m: " " if m["skip"] else m[0], text)
    bare = re.sub(r"[A-Za-z][\w.-]*:[\w.%-]*|:[\w.%-]+", " ", bare)
    return _SERVICE.search(bare) is not None


def find_undeclared_prefix(text: str) -> tuple[str, int, int] | None:
    """The first prefixed name whose prefix is neither the project's nor declared in ``text``,
    as ``(prefix, line, column)``, 1-based.

    >>> find_undeclared_prefix("SELECT * WHERE {\\n  ?s zz:p fs:x }")
    ('zz', 2, 6)
    >>> find_undeclared_prefix('PREFIX zz: <urn:z:>\\nSELECT * { ?s zz:p "a:b" } # c:d') is None
    True
    """
    declared = set(PREFIXES) | {m[1] or "" for m in _DECLARED.finditer(text)}
    for match in _TOKENS.finditer(text):
        if match["skip"] or match["declare"]:
            continue
        name = match["prefix"] or ""
        if name not in declared:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            return name, line, column
    return None


def run_query(store: ox.Store, query: SparqlQuery, params: Mapping[str, str] | None = None, **options) -> QueryResult:
    """Run ``query`` and hold its whole answer in memory (see ``execute`` for the arguments).

    Raises:
        QuerySyntaxError, QueryError, UsageError: as ``execute``; QueryError also when the store
            fails while the answer is read.
    """
    return collect_result(execute(store, query, params, **options), source=query.source)


def collect_result(raw, *, source: str = "<query>") -> QueryResult:
    """Read a result from ``execute`` into memory.

    Raises:
        QueryError: the store failed while the answer was read.
    """
    try:
        if isinstance(raw, ox.QueryBoolean):
            return QueryResult("ASK", boolean=bool(raw))
        if isinstance(raw, ox.QuerySolutions):
            variables = tuple(v.value for v in raw.variables)
            rows = tuple(tuple(solution[name] for name in variables) for solution in raw)
            return QueryResult("SELECT", variables=variables, rows=rows)
        return QueryResult("CONSTRUCT", triples=tuple(raw))
    except (OSError, ValueError, RuntimeError) as exc:
        raise QueryError(f"{source}: the query failed: {exc}") from exc


def serialize_result(raw, fmt: str = "json") -> bytes:
    """Serialise a result from ``execute``: SELECT and ASK as ``fmt`` (csv, tsv, json, xml);
    CONSTRUCT and DESCRIBE always as Turtle with the prefixes ``graph.ttl`` uses.

    Raises:
        UsageError: ``fmt`` is not one of ``FORMATS``.
        QueryError: the store failed while the answer was read.
    """
    try:
        if isinstance(raw, ox.QueryTriples):
            return ox.serialize(list(raw), format=ox.RdfFormat.TURTLE, prefixes=FILE_PREFIXES)
        if fmt not in FORMATS:
            raise UsageError(f"unknown result format {fmt!r}; use one of {', '.join(FORMATS)}")
        return raw.serialize(format=FORMATS[fmt])
    except (OSError, RuntimeError) as exc:
        raise QueryError(f"the query failed while its answer was written: {exc}") from exc
