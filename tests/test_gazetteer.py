"""Gazetteers: GOV.UK import and fetch, the shipped UK and world files, and the loader."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import rdflib
from rdflib import URIRef

from kg.errors import InputError, OntologyError
from kg.gazetteer import (
    COMMON_WORDS_FILE,
    DEFAULT_GAZETTEERS,
    body_iri,
    derive_common_words,
    fetch_govuk,
    import_govuk,
    is_common_word,
    load_gazetteer,
    read_govuk_records,
)
from kg.namespaces import DCTERMS, FS, ID, ORG, OWL, RDF, RDFS, SDO, SKOS, XSD

SNAPSHOTS = {"organisations-2024-04-01.json": 1194, "organisations-2026-08-22.json": 1262}
DSIT = URIRef(body_iri("department-for-science-innovation-and-technology"))
API = "https://www.gov.uk/api/organisations/"
WEB = "https://www.gov.uk/government/organisations/"


def snapshot(shared: Path, name: str) -> Path:
    return shared / "data" / "govuk-organisations" / name


def record(slug: str, title: str, **extra) -> dict:
    """A GOV.UK API record as the API writes it, with only the fields given filled in."""
    details = {"slug": slug, "abbreviation": extra.pop("abbreviation", None), "govuk_status": "live", "closed_at": None}
    return {
        "id": API + slug, "title": title, "format": "Other", "web_url": WEB + slug, "details": details,
        "parent_organisations": [], "child_organisations": [], "superseded_organisations": [],
        "superseding_organisations": [], **extra,
    }


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def govuk_2026(shared: Path, tmp_path_factory) -> rdflib.Graph:
    out = tmp_path_factory.mktemp("govuk") / "gazetteer-govuk.ttl"
    import_govuk(snapshot(shared, "organisations-2026-08-22.json"), out)
    return rdflib.Graph().parse(out, format="turtle")


# ---------------------------------------------------------------------------- import


@pytest.mark.shared
@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_import_converts_every_organisation_of_a_snapshot(shared: Path, tmp_path: Path, name: str):
    report = import_govuk(snapshot(shared, name), tmp_path / "out.ttl")
    graph = rdflib.Graph().parse(tmp_path / "out.ttl", format="turtle")
    assert report.bodies == SNAPSHOTS[name] and report.skipped == 0
    assert len(set(graph.subjects(RDF.type, FS.GovernmentBody))) == SNAPSHOTS[name]


@pytest.mark.shared
def test_rapper_accepts_the_import(shared: Path, tmp_path: Path, rapper: str):
    import_govuk(snapshot(shared, "organisations-2024-04-01.json"), tmp_path / "out.ttl")
    run = subprocess.run([rapper, "-i", "turtle", "-c", str(tmp_path / "out.ttl")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert re.search(r"returned [1-9]\d* triples", run.stderr)


@pytest.mark.shared
def test_reimport_of_the_same_file_is_byte_identical(shared: Path, tmp_path: Path):
    source = snapshot(shared, "organisations-2026-08-22.json")
    import_govuk(source, tmp_path / "a.ttl")
    import_govuk(source, tmp_path / "b.ttl")
    assert (tmp_path / "a.ttl").read_bytes() == (tmp_path / "b.ttl").read_bytes()


@pytest.mark.shared
def test_dsit_has_its_abbreviation_as_alt_label(govuk_2026: rdflib.Graph):
    assert rdflib.Literal("DSIT") in set(govuk_2026.objects(DSIT, SKOS.altLabel))


@pytest.mark.shared
def test_dsit_children_belong_to_dsit_and_dsit_to_nothing(shared: Path, govuk_2026: rdflib.Graph):
    records = json.loads(snapshot(shared, "organisations-2026-08-22.json").read_text(encoding="utf-8"))
    dsit = next(r for r in records if r["details"]["slug"] == "department-for-science-innovation-and-technology")
    children = {URIRef(body_iri(c["id"].rsplit("/", 1)[1])) for c in dsit["child_organisations"]}
    assert children and children <= set(govuk_2026.subjects(ORG.subOrganizationOf, DSIT))
    assert URIRef(body_iri("ai-security-institute")) in children
    assert not set(govuk_2026.objects(DSIT, ORG.subOrganizationOf))


@pytest.mark.shared
def test_renamed_body_is_replaced_by_its_successor(govuk_2026: rdflib.Graph):
    old, new = URIRef(body_iri("ai-safety-institute")), URIRef(body_iri("ai-security-institute"))
    assert (old, DCTERMS.isReplacedBy, new) in govuk_2026
    assert govuk_2026.value(old, SDO.dissolutionDate) == rdflib.Literal("2025-02-14", datatype=XSD.date)


def test_gazetteer_date_comes_from_the_file_name_unless_given(tmp_path: Path):
    source = write_json(tmp_path / "orgs-2023-05-06.json", [record("cabinet-office", "Cabinet Office")])
    assert import_govuk(source, tmp_path / "a.ttl").issued.isoformat() == "2023-05-06"
    import datetime as dt

    assert import_govuk(source, tmp_path / "b.ttl", dt.date(2020, 1, 2)).issued == dt.date(2020, 1, 2)
    assert '"2020-01-02"^^xsd:date' in (tmp_path / "b.ttl").read_text()


def test_api_page_and_list_of_pages_read_like_a_list_of_records():
    first, second = record("cabinet-office", "Cabinet Office"), record("home-office", "Home Office")
    as_list = read_govuk_records([first, second], "x.json")
    as_page = read_govuk_records({"results": [first, second], "pages": 1, "next_page_url": None}, "x.json")
    as_pages = read_govuk_records([{"results": [first]}, {"results": [second]}], "x.json")
    assert as_list == as_page == as_pages and len(as_list.bodies) == 2


def test_abbreviation_is_alt_label_unless_short_or_a_word(tmp_path: Path):
    source = write_json(tmp_path / "o.json", [
        record("a", "Alpha Office", abbreviation="AO"), record("b", "Beta Office", abbreviation="ACE"),
        record("c", "Gamma Office", abbreviation="GMO"), record("d", "Delta Office", abbreviation="D"),
    ])
    import_govuk(source, tmp_path / "o.ttl")
    graph = rdflib.Graph().parse(tmp_path / "o.ttl", format="turtle")
    names = {slug: (set(map(str, graph.objects(URIRef(body_iri(slug)), SKOS.altLabel))),
                    set(map(str, graph.objects(URIRef(body_iri(slug)), SKOS.hiddenLabel)))) for slug in "abcd"}
    assert names["a"][1] == {"AO"} and names["b"][1] == {"ACE"} and "GMO" in names["c"][0]
    assert "D" not in names["d"][0] | names["d"][1]


def test_parent_comes_from_the_parents_child_list_too():
    parent = record("dept", "Department for Things", child_organisations=[{"id": API + "agency"}])
    read = read_govuk_records([parent, record("agency", "Things Agency")], "x.json")
    assert {b.slug: b.parents for b in read.bodies}["agency"] == ("dept",)


# ---------------------------------------------------------------------------- bad input


def test_not_json_names_the_file_and_line(tmp_path: Path):
    (tmp_path / "broken.json").write_text('[\n{"title": "x",\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.json:\d+: not JSON"):
        import_govuk(tmp_path / "broken.json", tmp_path / "out.ttl")


def test_wrong_shape_names_the_file(tmp_path: Path):
    source = write_json(tmp_path / "shape.json", {"organisations": []})
    with pytest.raises(InputError, match=r"shape\.json: expected a JSON list of organisations"):
        import_govuk(source, tmp_path / "out.ttl")


def test_record_without_title_is_reported_by_index_and_skipped(tmp_path: Path):
    bad = record("nameless", "")
    source = write_json(tmp_path / "some.json", [record("cabinet-office", "Cabinet Office"), bad, 7])
    report = import_govuk(source, tmp_path / "out.ttl")
    messages = [str(p) for p in report.problems]
    assert report.bodies == 1 and report.skipped == 2
    assert any("some.json" in m and "$[1]" in m and "no title" in m for m in messages)
    assert any("$[2]" in m and "not an organisation object" in m for m in messages)


def test_strict_import_stops_at_a_bad_record_naming_its_title(tmp_path: Path):
    bad = record("nameless", "Broken Body")
    del bad["id"], bad["details"], bad["web_url"]
    source = write_json(tmp_path / "some.json", [record("cabinet-office", "Cabinet Office"), bad])
    with pytest.raises(InputError, match=r"some\.json: \$\[1\] 'Broken Body' has neither details\.slug"):
        import_govuk(source, tmp_path / "out.ttl", on_error="raise")


def test_cli_reports_bad_input_in_one_line_without_traceback(tmp_path: Path):
    (tmp_path / "bad.json").write_text("not json at all", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "kg.cli", "gazetteer", "import", str(tmp_path / "bad.json"),
                          "--out", str(tmp_path / "out.ttl")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "bad.json:1: not JSON" in run.stderr and not (tmp_path / "out.ttl").exists()


def test_cli_import_writes_the_gazetteer(tmp_path: Path):
    source = write_json(tmp_path / "orgs.json", [record("cabinet-office", "Cabinet Office")])
    run = subprocess.run([sys.executable, "-m", "kg.cli", "gazetteer", "import", str(source),
                          "--out", str(tmp_path / "g.ttl"), "--as-of", "2024-03-15"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "wrote 1 organisations" in run.stderr and "fsorg:cabinet-office" in (tmp_path / "g.ttl").read_text()


# ---------------------------------------------------------------------------- fetch


class _Api:
    """A local stand-in for the GOV.UK API: path → JSON page, with a number of 503s to send first."""

    def __init__(self) -> None:
        self.pages: dict[str, object] = {}
        self.failures: dict[str, int] = defaultdict(int)
        self.hits: dict[str, int] = defaultdict(int)
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                api.hits[self.path] += 1
                if api.failures[self.path] > 0:
                    api.failures[self.path] -= 1
                    self.send_error(503, "Service Unavailable")
                    return
                if self.path not in api.pages:
                    self.send_error(404)
                    return
                body = json.dumps(api.pages[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, records: list, per_page: int) -> str:
        """Split ``records`` into API pages; return the first page's URL."""
        chunks = [records[i:i + per_page] for i in range(0, len(records), per_page)]
        for n, chunk in enumerate(chunks, start=1):
            self.pages[f"/api/organisations?page={n}"] = {
                "results": chunk, "current_page": n, "pages": len(chunks), "total": len(records),
                "page_size": per_page, "start_index": (n - 1) * per_page + 1,
                "next_page_url": f"{self.base}/api/organisations?page={n + 1}" if n < len(chunks) else None,
            }
        return f"{self.base}/api/organisations?page=1"


@pytest.fixture
def api():
    server = _Api()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


@pytest.mark.shared
def test_fetch_reads_every_page_of_the_api(shared: Path, api: _Api, tmp_path: Path):
    records = json.loads(snapshot(shared, "organisations-2026-08-22.json").read_text(encoding="utf-8"))[:60]
    url = api.serve(records, per_page=20)
    report = fetch_govuk(tmp_path / "live.ttl", url, backoff=0)
    graph = rdflib.Graph().parse(tmp_path / "live.ttl", format="turtle")
    assert report.bodies == 60 and len(api.pages) == 3
    assert len(set(graph.subjects(RDF.type, FS.GovernmentBody))) == 60
    assert (None, DCTERMS.source, URIRef(url)) in graph


def test_fetch_retries_a_page_that_fails_with_5xx(api: _Api, tmp_path: Path):
    url = api.serve([record("cabinet-office", "Cabinet Office"), record("home-office", "Home Office")], per_page=1)
    api.failures["/api/organisations?page=2"] = 2
    report = fetch_govuk(tmp_path / "live.ttl", url, retries=2, backoff=0)
    assert report.bodies == 2 and api.hits["/api/organisations?page=2"] == 3


def test_fetch_failure_names_the_url(api: _Api, tmp_path: Path):
    url = api.serve([record("cabinet-office", "Cabinet Office"), record("home-office", "Home Office")], per_page=1)
    api.failures["/api/organisations?page=2"] = 99
    with pytest.raises(InputError, match=re.escape(f"{api.base}/api/organisations?page=2") + r": failed after 2 tries: HTTP 503"):
        fetch_govuk(tmp_path / "live.ttl", url, retries=1, backoff=0)
    assert not (tmp_path / "live.ttl").exists()


# ---------------------------------------------------------------------------- shipped gazetteers


@pytest.fixture(scope="module")
def shipped() -> dict[Path, rdflib.Graph]:
    return {path: rdflib.Graph().parse(path, format="turtle") for path in DEFAULT_GAZETTEERS}


def entries(graph: rdflib.Graph) -> set[URIRef]:
    return set(graph.subjects(RDF.type, FS.Organization)) | set(graph.subjects(RDF.type, FS.GovernmentBody))


@pytest.mark.parametrize("path", DEFAULT_GAZETTEERS, ids=lambda p: p.name)
def test_rapper_accepts_the_shipped_gazetteer(path: Path, rapper: str):
    run = subprocess.run([rapper, "-i", "turtle", "-c", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_every_shipped_entry_has_one_label_and_one_pref_label(shipped):
    for path, graph in shipped.items():
        for entry in entries(graph):
            assert len(list(graph.objects(entry, RDFS.label))) == 1, (path.name, entry)
            assert len(list(graph.objects(entry, SKOS.prefLabel))) == 1, (path.name, entry)


def test_every_shipped_entry_is_in_one_file_with_one_kind(shipped):
    seen: dict[URIRef, str] = {}
    for path, graph in shipped.items():
        for entry in entries(graph):
            assert entry not in seen, f"{entry} is in {seen.get(entry)} and {path.name}"
            seen[entry] = path.name
            kinds = {FS.Organization, FS.GovernmentBody} & set(graph.objects(entry, RDF.type))
            assert len(kinds) == 1, entry


def test_shipped_entry_iris_are_minted_from_their_slug(shipped):
    base = f"{ID}organization/"
    for graph in shipped.values():
        for entry in entries(graph):
            assert str(entry).startswith(base) and body_iri(str(entry)[len(base):]) == str(entry), entry


def test_no_two_shipped_entries_share_a_name_unless_a_comment_says_so(shipped):
    """A name two entries share must be quoted in an rdfs:comment of one of them."""
    owners: dict[str, set[URIRef]] = defaultdict(set)
    comments: dict[URIRef, str] = {}
    for graph in shipped.values():
        for entry in entries(graph):
            comments[entry] = " ".join(map(str, graph.objects(entry, RDFS.comment)))
            hidden = set(map(str, graph.objects(entry, SKOS.hiddenLabel)))
            for prop in (RDFS.label, SKOS.prefLabel, SKOS.altLabel):
                for name in map(str, graph.objects(entry, prop)):
                    if name not in hidden:
                        owners[name.casefold()].add(entry)
            for name in hidden:
                owners[name].add(entry)  # exact-case names clash only with the same case
    clashes = {
        name: sorted(who) for name, who in owners.items() if len(who) > 1
        and not any(re.search(rf'"{re.escape(name)}"', comments[e], re.IGNORECASE) for e in who)
    }
    assert not clashes


def test_case_insensitive_shipped_names_are_not_common_words(shipped):
    offenders = []
    for graph in shipped.values():
        for entry in entries(graph):
            hidden = set(map(str, graph.objects(entry, SKOS.hiddenLabel)))
            for prop in (RDFS.label, SKOS.prefLabel, SKOS.altLabel):
                offenders += [(str(entry), n) for n in map(str, graph.objects(entry, prop))
                              if n not in hidden and is_common_word(n)]
    assert not offenders


def test_shipped_parents_and_successors_are_entries(shipped):
    known = set().union(*(entries(g) for g in shipped.values()))
    for graph in shipped.values():
        for prop in (ORG.subOrganizationOf, DCTERMS.replaces, DCTERMS.isReplacedBy):
            for subject, target in graph.subject_objects(prop):
                assert target in known, (subject, prop, target)


def test_shipped_gazetteers_use_only_closed_namespace_terms(shipped):
    closed = (FS, SKOS, RDFS, RDF, DCTERMS, OWL, XSD)
    org_terms = {ORG.subOrganizationOf, ORG.hasSubOrganization}
    for graph in shipped.values():
        terms = set(graph.predicates()) | set(graph.objects(None, RDF.type))
        for term in terms:
            if str(term).startswith(str(ORG)):
                assert term in org_terms, term
            elif str(term).startswith(str(SDO)):
                assert term in {SDO.dissolutionDate, SDO.foundingDate}, term
            else:
                assert any(term in ns for ns in closed), term


def test_each_shipped_file_describes_itself_as_a_gazetteer(shipped):
    for path, graph in shipped.items():
        nodes = list(graph.subjects(RDF.type, FS.Gazetteer))
        assert len(nodes) == 1 and graph.value(nodes[0], DCTERMS.title), path.name


@pytest.mark.shared
def test_uk_entries_link_to_real_govuk_pages_under_their_slug(shared: Path, shipped):
    slugs = set()
    for name in SNAPSHOTS:
        slugs |= {r["details"]["slug"] for r in json.loads(snapshot(shared, name).read_text(encoding="utf-8"))}
    graph = shipped[DEFAULT_GAZETTEERS[0]]
    linked = [(e, str(u)) for e, u in graph.subject_objects(SKOS.exactMatch) if str(u).startswith(WEB)]
    assert len(linked) >= 40
    for entry, url in linked:
        slug = url[len(WEB):]
        assert slug in slugs, url
        assert str(entry) == body_iri(slug), (entry, url)


# ---------------------------------------------------------------------------- loading


def test_load_gazetteer_reads_the_shipped_files():
    gazetteer = load_gazetteer(DEFAULT_GAZETTEERS)
    dsit = gazetteer.find(str(DSIT))
    apple = gazetteer.find(body_iri("apple"))
    assert dsit is not None and dsit.is_government and "DSIT" in dsit.aliases
    assert dsit.parents == (body_iri("government-of-the-united-kingdom"),)
    assert apple is not None and not apple.is_government
    assert "Apple" in apple.case_sensitive_aliases and "Apple" not in apple.aliases


def test_load_gazetteer_merges_one_iri_across_files(tmp_path: Path):
    head = "@prefix fs: <https://w3id.org/foresight-kg/ontology#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    node = f"<{body_iri('home-office')}>"
    (tmp_path / "a.ttl").write_text(head + f'{node} a fs:GovernmentBody ; skos:prefLabel "Home Office" .', encoding="utf-8")
    (tmp_path / "b.ttl").write_text(head + f'{node} a fs:Organization ; skos:altLabel "UK Home Office" .', encoding="utf-8")
    gazetteer = load_gazetteer([tmp_path / "a.ttl", tmp_path / "b.ttl"])
    (entry,) = gazetteer.entries
    assert entry.label == "Home Office" and entry.aliases == ("Home Office", "UK Home Office") and entry.is_government


def test_load_gazetteer_names_a_broken_file(tmp_path: Path):
    (tmp_path / "broken.ttl").write_text("<a> <b> .", encoding="utf-8")
    with pytest.raises(OntologyError, match="broken.ttl"):
        load_gazetteer([tmp_path / "broken.ttl"])


def test_shipped_common_words_are_the_derived_ones():
    """The shipped list is what ``derive_common_words`` makes from the installed
    spacy-lookups-data; after that package changes, ``python -m kg.gazetteer`` rewrites it."""
    shipped = json.loads(COMMON_WORDS_FILE.read_text(encoding="utf-8"))
    assert shipped == derive_common_words()
    assert 10_000 < len(shipped) < 20_000
    assert is_common_word("Apple") and is_common_word(" ICE ")
    assert not is_common_word("DSIT") and not is_common_word("Cabinet Office") and not is_common_word("")
