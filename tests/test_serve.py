"""`kg serve`: the SPARQL 1.1 Protocol endpoint as a real client (SPARQLWrapper, httpx) and a
real browser (chromium) use it; updates refused; a runaway query stopped at the time limit while
other queries are answered."""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import rdflib
from conftest import need

from kg.query.serve import ServeSettings, make_app

NAO_AI = "ec39d07e862c313cec8e88471dd089e7"
DOC_IDS = sorted([
    "7f9865e7441207dadf825331b6f2f3a3", "8195f0a05296a59a6faeea97f464199d", "d0e554ec4a6c4c7b672a6d8ab63953b2",
    "e2430dc8d6891e06fca42d05a18a30b2", NAO_AI, "f71168e0f6b8e4c033ae684a2f86312d",
])
IDS_QUERY = "SELECT ?id WHERE { ?d a fs:Document ; fs:documentId ?id } ORDER BY ?id"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
TIMEOUT = 2.0
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@dataclass(frozen=True)
class Endpoint:
    """A running server: its base URL and the app (whose state holds the worker pool)."""

    base: str
    app: object

    @property
    def query_url(self) -> str:
        return f"{self.base}/query"


@pytest.fixture(scope="module")
def endpoint(example_build):
    import uvicorn

    app = make_app(ServeSettings(example_build, timeout=TIMEOUT, workers=2))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Endpoint(f"http://127.0.0.1:{sock.getsockname()[1]}", app)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def get(endpoint: Endpoint, query: str, accept: str | None = None, **params) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(endpoint.query_url, params={"query": query, **params}, headers=headers, timeout=30)


# ---------------------------------------------------------------- a real SPARQL client


def test_sparqlwrapper_select_as_json(endpoint):
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(endpoint.query_url)
    client.setQuery(IDS_QUERY)
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert [row["id"]["value"] for row in rows] == DOC_IDS


def test_sparqlwrapper_select_by_post(endpoint):
    from SPARQLWrapper import JSON, POST, SPARQLWrapper

    client = SPARQLWrapper(endpoint.query_url)
    client.setMethod(POST)
    client.setQuery(IDS_QUERY)
    client.setReturnFormat(JSON)
    assert len(client.query().convert()["results"]["bindings"]) == 6


def test_sparqlwrapper_select_as_xml(endpoint):
    from SPARQLWrapper import SPARQLWrapper, XML

    client = SPARQLWrapper(endpoint.query_url)
    client.setQuery(IDS_QUERY)
    client.setReturnFormat(XML)
    document = client.query().convert()
    assert [node.firstChild.data for node in document.getElementsByTagName("literal")] == DOC_IDS


def test_sparqlwrapper_ask(endpoint):
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(endpoint.query_url)
    client.setQuery(f"ASK {{ ?d fs:documentId '{NAO_AI}' }}")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True


def test_sparqlwrapper_construct_as_turtle(endpoint):
    from SPARQLWrapper import SPARQLWrapper, TURTLE

    client = SPARQLWrapper(endpoint.query_url)
    client.setQuery("CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a fs:Document ; fs:documentId ?id ; rdfs:label ?l }")
    client.setReturnFormat(TURTLE)
    data = client.query().convert()
    assert len(rdflib.Graph().parse(data=data, format="turtle")) == 6


def test_sparqlwrapper_update_is_refused_and_changes_nothing(endpoint):
    from urllib.error import HTTPError

    from SPARQLWrapper import POST, SPARQLWrapper

    client = SPARQLWrapper(endpoint.query_url, updateEndpoint=f"{endpoint.base}/update")
    client.setMethod(POST)
    client.setQuery("INSERT DATA { <urn:kg:test> a <https://w3id.org/foresight-kg/ontology#Document> }")
    with pytest.raises(HTTPError) as caught:
        client.query()
    assert caught.value.code == 403
    assert get(endpoint, "ASK { <urn:kg:test> ?p ?o }").json()["boolean"] is False


# ---------------------------------------------------------------- the protocol over plain HTTP


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/sparql-results+json"),
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("text/html;q=0.9, text/csv;q=0.5", "text/csv"),
        ("*/*", "application/sparql-results+json"),
    ],
)
def test_select_results_by_content_negotiation(endpoint, accept, media):
    response = get(endpoint, IDS_QUERY, accept)
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media


def test_csv_results_hold_the_rows(endpoint):
    rows = list(csv.reader(io.StringIO(get(endpoint, IDS_QUERY, "text/csv").text)))
    assert rows == [["id"], *([i] for i in DOC_IDS)]


def test_an_unserveable_accept_header_is_406(endpoint):
    response = get(endpoint, IDS_QUERY, "image/png")
    assert response.status_code == 406 and "text/csv" in response.text


def test_construct_by_content_negotiation_as_n_triples(endpoint):
    response = get(endpoint, "CONSTRUCT WHERE { ?d fs:documentId ?id }", "application/n-triples")
    assert response.headers["content-type"].startswith("application/n-triples")
    assert len(rdflib.Graph().parse(data=response.text, format="nt")) == 6


def test_a_query_posted_as_the_body(endpoint):
    response = httpx.post(endpoint.query_url, content=IDS_QUERY, headers={"Content-Type": "application/sparql-query"}, timeout=30)
    assert [b["id"]["value"] for b in response.json()["results"]["bindings"]] == DOC_IDS


def test_the_default_graph_can_be_one_named_graph(endpoint):
    graph = f"https://w3id.org/foresight-kg/id/graph/doc/{NAO_AI}"
    response = get(endpoint, IDS_QUERY, **{"default-graph-uri": graph})
    assert [b["id"]["value"] for b in response.json()["results"]["bindings"]] == [NAO_AI]


def test_a_syntax_error_is_400_with_line_and_column(endpoint):
    response = get(endpoint, "SELECT ?d WHERE {\n  ?d a fs:Document .\n}\nLIMIT ten")
    assert response.status_code == 400 and response.text.startswith("query:4:7: SPARQL syntax error")


def test_a_request_without_a_query_is_400(endpoint):
    assert httpx.get(endpoint.query_url, timeout=30).status_code == 400


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"method": "POST", "url": "/update", "data": {"update": "DROP ALL"}},
        {"method": "POST", "url": "/update", "content": "CLEAR ALL", "headers": {"Content-Type": "application/sparql-update"}},
        {"method": "POST", "url": "/query", "data": {"update": "DROP ALL"}},
        {"method": "GET", "url": "/query", "params": {"query": "PREFIX x: <urn:x:>\nDELETE WHERE { ?s ?p ?o }"}},
    ],
    ids=["update-endpoint", "update-body", "update-param", "update-as-query"],
)
def test_updates_are_refused_with_403(endpoint, request_kwargs):
    kwargs = dict(request_kwargs)
    response = httpx.request(kwargs.pop("method"), endpoint.base + kwargs.pop("url"), timeout=30, **kwargs)
    assert response.status_code == 403 and "read-only" in response.text


def test_federated_queries_are_refused(endpoint):
    response = get(endpoint, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert response.status_code == 403 and "SERVICE" in response.text


# ---------------------------------------------------------------- the time limit


@pytest.fixture(scope="module")
def runaway(endpoint):
    """Send the cartesian product; while it runs, a simple query; record what happened."""
    pool = endpoint.app.state.pool
    before = set(pool.pids())
    seen: dict = {}

    def send() -> None:
        started = time.monotonic()
        response = get(endpoint, CARTESIAN)
        seen.update(status=response.status_code, text=response.text, seconds=time.monotonic() - started)

    thread = threading.Thread(target=send)
    thread.start()
    time.sleep(0.5)
    simple = get(endpoint, IDS_QUERY)
    seen["simple"] = simple
    seen["runaway_running_meanwhile"] = thread.is_alive()
    thread.join(120)
    deadline = time.monotonic() + 60
    while len(pool.pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    seen["killed"] = before - set(pool.pids())
    seen["after"] = set(pool.pids())
    return seen


def test_a_simple_query_is_answered_while_a_runaway_runs(runaway):
    assert runaway["runaway_running_meanwhile"]
    assert [b["id"]["value"] for b in runaway["simple"].json()["results"]["bindings"]] == DOC_IDS


def test_a_runaway_query_is_stopped_at_the_limit_with_503(runaway):
    assert runaway["status"] == 503 and f"{TIMEOUT:g} s limit" in runaway["text"]
    assert runaway["seconds"] < TIMEOUT + 30  # stopped, not run to its end (days)


def test_the_runaway_worker_process_is_killed_and_replaced(runaway, endpoint):
    (killed,) = runaway["killed"]
    assert not Path(f"/proc/{killed}").exists()
    assert len(runaway["after"]) == 2
    assert get(endpoint, f"ASK {{ ?d fs:documentId '{NAO_AI}' }}").json()["boolean"] is True


# ---------------------------------------------------------------- the query page


def test_the_page_escapes_every_value(endpoint):
    response = httpx.post(endpoint.base + "/", data={"query": "SELECT ?x WHERE { BIND('<b>bold</b> & co' AS ?x) }"}, timeout=30)
    assert "<b>bold</b>" not in response.text and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in response.text


def test_the_page_loads_no_remote_resource(endpoint):
    page = httpx.get(endpoint.base + "/", timeout=30).text
    assert "default-src 'none'" in page and "<script" not in page and "http://" not in page.split("<body>")[0]


def test_the_page_fills_the_form_with_a_library_query_and_its_parameters(endpoint):
    page = httpx.get(endpoint.base + "/", params={"example": "related-documents"}, timeout=30).text
    assert "# Documents related to a document" in page and 'name="param.document"' in page


def test_the_page_shows_a_syntax_error(endpoint):
    response = httpx.post(endpoint.base + "/", data={"query": "SELECT * WHERE {"}, timeout=30)
    assert response.status_code == 400 and 'id="error"' in response.text and "SPARQL syntax error" in response.text


@pytest.fixture(scope="module")
def browser():
    need(CHROMIUM.is_file(), f"{CHROMIUM} is absent (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
def test_the_browser_page_runs_a_query_and_shows_the_table(endpoint, browser):
    page = browser.new_page()
    page.goto(endpoint.base + "/")
    page.fill("#query", IDS_QUERY)
    page.click("#run")
    page.wait_for_selector("#result")
    assert page.locator("#result thead th").all_inner_texts() == ["id"]
    assert page.locator("#result tbody td").all_inner_texts() == DOC_IDS
    page.close()


@pytest.mark.browser
def test_the_browser_page_runs_a_library_query_with_a_parameter(endpoint, browser):
    page = browser.new_page()
    page.goto(endpoint.base + "/")
    page.click("text=related-documents")
    page.fill("input[name='param.document']", NAO_AI)
    page.click("#run")
    page.wait_for_selector("#result")
    titles = page.locator("#result tbody tr td:nth-child(3)").all_inner_texts()
    assert "Legacy IT Systems and Scarce Skills Slow Digital Transformation in Government" in titles
    page.close()


@pytest.mark.browser
def test_the_browser_shows_markup_in_values_as_text(endpoint, browser):
    page = browser.new_page()
    page.goto(endpoint.base + "/")
    page.fill("#query", "SELECT ?x WHERE { BIND(\"<img id='injected' src='x'>\" AS ?x) }")
    page.click("#run")
    page.wait_for_selector("#result")
    assert page.locator("#injected").count() == 0
    assert page.locator("#result tbody td").all_inner_texts() == ["<img id='injected' src='x'>"]
    page.close()


# ---------------------------------------------------------------- kg serve itself


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.add(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state


def test_kg_serve_answers_on_loopback_and_stops_with_its_workers(example_build):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--graph", str(example_build), "--port", str(port), "--timeout", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/query", params={"query": IDS_QUERY}, timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.poll() is not None else "no answer"
                time.sleep(0.2)
        assert [b["id"]["value"] for b in response.json()["results"]["bindings"]] == DOC_IDS
        workers = _children(server.pid)
        assert len(workers) == 2
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)


def test_kg_serve_refuses_a_graph_that_was_never_built(tmp_path: Path):
    run = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--graph", str(tmp_path / "none"), "--port", str(_free_port())],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2 and "run 'kg build" in run.stderr


def test_kg_serve_refuses_a_timeout_that_is_not_positive(example_build):
    run = subprocess.run(
        [sys.executable, "-m", "kg.cli", "serve", "--graph", str(example_build), "--timeout", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2 and "--timeout 0" in run.stderr


def test_is_loopback_tells_loopback_from_the_network():
    from kg.query.serve import is_loopback

    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "192.0.2.1")] == [True, True, True, False, False]

