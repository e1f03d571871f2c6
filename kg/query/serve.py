"""A read-only SPARQL 1.1 Protocol endpoint over a build, with a query page for the browser.

::

    kg serve --graph DIR ─▶ uvicorn ─▶ make_app(ServeSettings)
        GET|POST /query (also /sparql)   SPARQL 1.1 Protocol: query= (GET, or POST form) or a
                                         POST application/sparql-query body; SELECT and ASK as
                                         JSON, XML, CSV or TSV, CONSTRUCT and DESCRIBE as Turtle,
                                         N-Triples, RDF/XML or JSON-LD, chosen by the Accept header
        any /update, update=, INSERT…     403: the endpoint is read-only
        SERVICE                          403: it answers from its own graph, never fetching others
        GET|POST /                       the query page: a form and an HTML table of the answer

Each query runs in one of a few worker processes (``QueryPool``), each holding the store open
read-only. A pyoxigraph query cannot be cancelled from another thread, and the ``oxigraph``
server's own ``--timeout-s`` does not stop an aggregate over a cartesian product (it ran on for
minutes in a trial), so a query that outlives the time limit has its worker process killed and
replaced while the other workers go on answering.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import parse_qs, quote

from kg.errors import KgError, QueryError, UsageError
from kg.query.sparql import SparqlQuery, list_queries, open_graph, uses_service
from kg.query.worker import PageAnswer, QueryAnswer, QueryJob

__all__ = [
    "QueryPool",
    "QueryTimeout",
    "ServeSettings",
    "is_loopback",
    "make_app",
    "negotiate",
    "serve",
]

# The ``format=`` parameter some clients send instead of (or besides) an Accept header.
_FORMAT_ALIASES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "ntriples": "application/n-triples",
    "rdfxml": "application/rdf+xml",
    "jsonld": "application/ld+json",
}
_UPDATE = re.compile(
    r"\A(?:\s+|#[^\n]*\n|PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)*"
    r"(?:INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.IGNORECASE,
)
_READ_ONLY = "This SPARQL endpoint is read-only: updates (INSERT, DELETE, LOAD, CLEAR, DROP…) are refused.\n"
_NO_SERVICE = "This endpoint answers from its own graph only: federated queries (SERVICE) are refused.\n"
_MAX_BODY = 1 << 20


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How ``kg serve`` runs.

    Attributes:
        graph: the build folder (``DIR`` or ``DIR/store``) or an RDF file to serve.
        host: the address to bind; loopback unless the user asks for another.
        port: the TCP port (0: any free port).
        timeout: seconds a query may run before its worker is killed.
        workers: worker processes, hence queries that can run at once.
        page_rows: most rows the query page shows.
    """

    graph: Path
    host: str = "127.0.0.1"
    port: int = 7878
    timeout: float = 30.0
    workers: int = 2
    page_rows: int = 1000


class QueryTimeout(QueryError):
    """A query ran past the time limit and its worker was stopped."""


def negotiate(accept: str | None) -> tuple[str, ...]:
    """The media types of an Accept header, most wanted first (ties keep their order).

    >>> negotiate("text/csv;q=0.5, application/sparql-results+json")
    ('application/sparql-results+json', 'text/csv')
    >>> negotiate(None)
    ()
    """
    if not accept:
        return ()
    ranked = []
    for index, part in enumerate(accept.split(",")):
        media, *options = (p.strip() for p in part.split(";"))
        weight = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if media and weight > 0:
            ranked.append((-weight, index, media.lower()))
    return tuple(media for _, _, media in sorted(ranked))


# ---------------------------------------------------------------- the pool, in the server process


@dataclass
class _Worker:
    process: subprocess.Popen
    conn: Connection

    def call(self, job: QueryJob, timeout: float):
        self.conn.send(job)
        if not self.conn.poll(timeout):
            raise QueryTimeout(f"the query ran past the {timeout:g} s limit and was stopped")
        return self.conn.recv()

    def kill(self) -> None:
        self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()


@dataclass
class QueryPool:
    """Worker processes that each hold the store open read-only and run one query at a time.

    Attributes:
        graph: what the workers open (see ``open_graph``).
        size: how many workers.
        timeout: seconds a query may run; past it, its worker is killed and replaced.
    """

    graph: Path
    size: int = 2
    timeout: float = 30.0
    _idle: asyncio.Queue | None = field(default=None, repr=False)
    _all: list[_Worker] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closed: bool = field(default=False, repr=False)
    _pending: set = field(default_factory=set, repr=False)

    async def start(self) -> None:
        """Start every worker and wait until each has opened the store.

        Raises:
            UsageError: a worker could not open the graph.
        """
        self._idle = asyncio.Queue()
        workers = await asyncio.gather(*(asyncio.to_thread(self._spawn) for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        # A fresh interpreter rather than a multiprocessing child: multiprocessing's spawn would
        # import the server's __main__ again, and fork would copy the event loop and its threads.
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [sys.executable, "-m", "kg.query.worker", str(theirs.fileno()), str(self.graph), str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        theirs.close()
        worker = _Worker(process, Connection(ours.detach()))
        if not worker.conn.poll(120):
            worker.kill()
            raise UsageError(f"{self.graph}: a query worker did not start within 120 s")
        try:
            status, detail = worker.conn.recv()
        except (EOFError, OSError):
            worker.kill()
            raise UsageError(f"{self.graph}: a query worker exited while opening the graph") from None
        if status != "ready":
            worker.kill()
            raise UsageError(detail)
        with self._lock:
            self._all.append(worker)
        return worker

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.poll() is None]

    async def run(self, job: QueryJob):
        """Run ``job`` on an idle worker; waits up to the time limit for one to be free.

        Raises:
            QueryTimeout: no worker was free in time, or the query ran past the limit (its
                worker is then killed and a new one started).
            QueryError: the worker died.
        """
        assert self._idle is not None, "QueryPool.start() first"
        try:
            worker = await asyncio.wait_for(self._idle.get(), self.timeout)
        except TimeoutError:
            raise QueryTimeout(f"all {self.size} query workers stayed busy for {self.timeout:g} s; try again") from None
        done = asyncio.ensure_future(asyncio.to_thread(worker.call, job, self.timeout))
        # The worker goes back to the pool (or is replaced) when its call ends, even if the
        # request that sent it is cancelled first.
        done.add_done_callback(lambda finished: self._settle(worker, finished))
        try:
            return await asyncio.shield(done)
        except (EOFError, OSError) as exc:
            raise QueryError(f"the query worker died while running the query: {exc!r}") from exc

    def _settle(self, worker: _Worker, finished: asyncio.Future) -> None:
        if finished.cancelled() or finished.exception() is not None:
            self._replace(worker)
        elif not self._closed:
            self._idle.put_nowait(worker)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.kill()
        if self._closed:
            return

        async def refill() -> None:
            try:
                fresh = await asyncio.to_thread(self._spawn)
            except KgError:
                return
            if self._closed:
                fresh.kill()
            else:
                self._idle.put_nowait(fresh)

        task = asyncio.get_running_loop().create_task(refill())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()


# ---------------------------------------------------------------- the web app


def make_app(settings: ServeSettings):
    """The Starlette app serving ``settings.graph``; its pool starts and stops with the app.

    The pool is at ``app.state.pool`` while the app runs.
    """
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response
    from starlette.routing import Route

    @asynccontextmanager
    async def lifespan(app):
        pool = QueryPool(settings.graph, size=settings.workers, timeout=settings.timeout)
        app.state.pool = pool
        try:
            await pool.start()
            yield
        finally:
            pool.close()

    def text(status: int, message: str) -> Response:
        return PlainTextResponse(message if message.endswith("\n") else message + "\n", status_code=status)

    async def read_form(request: Request) -> dict[str, list[str]] | Response:
        body = await request.body()
        if len(body) > _MAX_BODY:
            return text(413, f"the request body is over {_MAX_BODY} bytes")
        try:
            return parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return text(400, "the form is not UTF-8")

    async def protocol(request: Request) -> Response:
        fields: dict[str, list[str]] = {k: request.query_params.getlist(k) for k in request.query_params.keys()}
        if request.method == "POST":
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media == "application/x-www-form-urlencoded":
                form = await read_form(request)
                if isinstance(form, Response):
                    return form
                for key, values in form.items():
                    fields.setdefault(key, []).extend(values)
            elif media == "application/sparql-query":
                body = await request.body()
                if len(body) > _MAX_BODY:
                    return text(413, f"the query is over {_MAX_BODY} bytes")
                fields["query"] = [body.decode("utf-8", errors="replace")]
            elif media == "application/sparql-update":
                return text(403, _READ_ONLY)
            else:
                return text(415, f"unsupported Content-Type {media or '(none)'}; send application/x-www-form-urlencoded or application/sparql-query")
        if "update" in fields:
            return text(403, _READ_ONLY)
        queries = fields.get("query", [])
        if len(queries) != 1 or not queries[0].strip():
            return text(400, "send exactly one non-empty 'query' parameter (SPARQL 1.1 Protocol)")
        if _UPDATE.match(queries[0]):
            return text(403, _READ_ONLY)
        if uses_service(queries[0]):
            return text(403, _NO_SERVICE)
        accept = negotiate(request.headers.get("accept"))
        wanted = [_FORMAT_ALIASES.get(f.lower(), f.lower()) for f in fields.get("format", []) if f]
        job = QueryJob(
            queries[0],
            accept=tuple(wanted) + accept,
            default_graph=tuple(fields.get("default-graph-uri", [])),
            named_graphs=tuple(fields.get("named-graph-uri", [])),
        )
        try:
            answer = await request.app.state.pool.run(job)
        except QueryTimeout as exc:
            return text(503, str(exc))
        except QueryError as exc:
            return text(500, str(exc))
        return Response(answer.body, status_code=answer.status, media_type=answer.media_type, headers={"Vary": "Accept"})

    async def update(request: Request) -> Response:
        return text(403, _READ_ONLY)

    async def page(request: Request) -> Response:
        library = {q.name: q for q in list_queries()}
        headers = {"Content-Security-Policy": _CSP}
        if request.method == "GET":
            # GET only fills the form (a library query by ?example=NAME); POST runs it.
            name = request.query_params.get("example")
            if name is None:
                return HTMLResponse(_page_html(library, _SAMPLE, {}, (), None, settings), headers=headers)
            if name not in library:
                missing = PageAnswer("ERROR", text=f"no library query named {name!r}", status=404)
                return HTMLResponse(_page_html(library, "", {}, (), missing, settings), 404, headers=headers)
            chosen = library[name]
            return HTMLResponse(
                _page_html(library, chosen.text, {}, tuple(p.name for p in chosen.params), None, settings), headers=headers
            )
        form = await read_form(request)
        if isinstance(form, Response):
            return form
        query = (form.get("query") or [""])[0]
        declared = tuple(k[len("param."):] for k in form if k.startswith("param."))
        params = {k[len("param."):]: v[0] for k, v in form.items() if k.startswith("param.") and v and v[0]}
        if not query.strip():
            answer = PageAnswer("ERROR", text="the query is empty", status=400)
        elif _UPDATE.match(query):
            answer = PageAnswer("ERROR", text=_READ_ONLY, status=403)
        elif uses_service(query):
            answer = PageAnswer("ERROR", text=_NO_SERVICE, status=403)
        else:
            started = time.perf_counter()
            try:
                answer = await request.app.state.pool.run(
                    QueryJob(query, params=tuple(params.items()), page_rows=settings.page_rows)
                )
            except QueryTimeout as exc:
                answer = PageAnswer("ERROR", text=str(exc), status=503)
            except QueryError as exc:
                answer = PageAnswer("ERROR", text=str(exc), status=500)
            answer = replace(answer, seconds=time.perf_counter() - started)
        body = _page_html(library, query, params, declared, answer, settings)
        return HTMLResponse(body, status_code=answer.status, headers=headers)

    routes = [
        Route("/", page, methods=["GET", "POST"]),
        Route("/query", protocol, methods=["GET", "POST"]),
        Route("/sparql", protocol, methods=["GET", "POST"]),
        Route("/update", update, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"
_SAMPLE = """# Documents with their newsletter date, newest first
SELECT ?document ?date ?title
WHERE {
  ?doc a fs:Document ;
       fs:documentId ?document ;
       rdfs:label ?title .
  OPTIONAL { ?doc fs:newsletterDate ?date }
}
ORDER BY DESC(?date) ?title
LIMIT 50
"""
_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.3rem} textarea{width:100%;font:13px/1.4 ui-monospace,monospace;box-sizing:border-box}
table{border-collapse:collapse;margin-top:1rem;font-size:13px} th,td{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top} th{background:#f1f1f1} .error{color:#a00000;white-space:pre-wrap}
.meta{color:#555} nav a{margin-right:.8rem} pre{background:#f7f7f7;padding:.6rem;overflow:auto}
label{display:block;margin:.4rem 0} button{margin-top:.5rem;padding:.3rem 1rem}
"""


def _page_html(
    library: Mapping[str, SparqlQuery],
    query: str,
    params: Mapping[str, str],
    declared: Sequence[str],
    answer: PageAnswer | None,
    settings: ServeSettings,
) -> str:
    e = html.escape
    examples = " ".join(
        f'<a href="/?example={quote(name)}" title="{e(q.description)}">{e(name)}</a>' for name, q in sorted(library.items())
    )
    inputs = "".join(
        f'<label>{e(name)} <input name="param.{e(name)}" value="{e(params.get(name, ""))}"></label>' for name in declared
    )
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        "<title>foresight-kg SPARQL</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>foresight-kg · SPARQL</h1>",
        f'<p class="meta">Read-only endpoint at <code>/query</code>; prefixes such as <code>fs:</code> are declared; '
        f"queries stop after {settings.timeout:g} s.</p>",
        f"<nav>Library: {examples}</nav>",
        '<form method="post" action="/">',
        f'<textarea name="query" id="query" rows="14" spellcheck="false">{e(query)}</textarea>',
        inputs,
        '<button type="submit" id="run">Run</button></form>',
    ]
    if answer is not None:
        parts.append(_answer_html(answer))
    parts.append("</body></html>")
    return "\n".join(parts)


def _answer_html(answer: PageAnswer) -> str:
    e = html.escape
    if answer.form == "ERROR":
        return f'<p class="error" id="error">{e(answer.text)}</p>'
    if answer.form == "ASK":
        return f'<p id="result">{"true" if answer.boolean else "false"}</p>'
    if answer.form == "CONSTRUCT":
        return f'<pre id="result">{e(answer.text)}</pre>' + ('<p class="meta">(cut short)</p>' if answer.more else "")
    head = "".join(f"<th>{e(v)}</th>" for v in answer.variables)
    body = "".join(
        "<tr>" + "".join(f'<td title="{e(full)}">{e(shown)}</td>' if full else f"<td>{e(shown)}</td>" for shown, full in row) + "</tr>"
        for row in answer.rows
    )
    more = " (more rows not shown)" if answer.more else ""
    meta = f'<p class="meta" id="count">{len(answer.rows)} rows{more} · {answer.seconds * 1000:.0f} ms</p>'
    return f'{meta}<table id="result"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def serve(settings: ServeSettings) -> None:
    """Serve ``settings.graph`` until interrupted.

    Raises:
        UsageError: the graph cannot be opened or a setting is out of range.
    """
    import uvicorn

    if settings.timeout <= 0:
        raise UsageError(f"--timeout {settings.timeout:g}: give a positive number of seconds")
    if settings.workers < 1:
        raise UsageError(f"--workers {settings.workers}: give at least 1")
    open_graph(settings.graph)  # fails here, with the path, rather than in every worker
    config = uvicorn.Config(make_app(settings), host=settings.host, port=settings.port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
