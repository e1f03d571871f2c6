"""Gazetteers: known organisations with their names, as SKOS / W3C ORG Turtle.

Two kinds of file share one shape (see ``ontology/gazetteer-uk.ttl``)::

    GOV.UK organisations JSON ─read_govuk_records─▶ GovUkBody… ─govuk_triples─▶ Turtle
    (a saved file: import_govuk; the live API: fetch_govuk)
    gazetteer Turtle files (shipped: DEFAULT_GAZETTEERS) ─load_gazetteer─▶ Gazetteer

Each organisation is one node typed ``fs:Organization`` or ``fs:GovernmentBody``, with
``rdfs:label`` (display name), ``skos:prefLabel``, ``skos:altLabel``/``skos:hiddenLabel``,
``org:subOrganizationOf`` its parents, ``dcterms:replaces``/``dcterms:isReplacedBy`` across
renames and mergers, and ``skos:exactMatch`` its register page. Name matching follows one
convention in every file:

* ``skos:prefLabel`` and ``skos:altLabel``: matched case-insensitively;
* ``skos:hiddenLabel``: matched only with exact case (names that are also common words or
  short letter strings: ``Apple``, ``ARIA``, ``WHO``);
* ``rdfs:label``: the display name, matched like a prefLabel unless it is also a hiddenLabel.
"""

from __future__ import annotations

import datetime as _dt
import functools
import gzip
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

import pyoxigraph as ox

from kg.errors import InputError, OntologyError
from kg.fsutil import write_bytes_atomic
from kg.gen_namespace import ONTOLOGY_DIR
from kg.iri import entity_iri
from kg.namespaces import DCTERMS, FS, ID, ORG, PREFIXES, RDF, RDFS, SDO, SKOS, XSD
from kg.text import clean_text
from kg.types import EntityKind, Problem

if TYPE_CHECKING:  # httpx is imported only when fetching
    import httpx

__all__ = [
    "COMMON_WORDS_FILE",
    "DEFAULT_GAZETTEERS",
    "FETCH_RETRIES",
    "FETCH_TIMEOUT",
    "GAZETTEER_PREFIXES",
    "GOVUK_API_URL",
    "Gazetteer",
    "GazetteerEntry",
    "GovUkBody",
    "GovUkRead",
    "ImportReport",
    "OnError",
    "body_iri",
    "date_in_name",
    "derive_common_words",
    "fetch_govuk",
    "fetch_govuk_pages",
    "govuk_triples",
    "import_govuk",
    "is_common_word",
    "load_gazetteer",
    "read_govuk_file",
    "read_govuk_records",
    "serialize_gazetteer",
    "title_variants",
    "write_govuk_gazetteer",
]

DEFAULT_GAZETTEERS: tuple[Path, ...] = (ONTOLOGY_DIR / "gazetteer-uk.ttl", ONTOLOGY_DIR / "gazetteer-world.ttl")
GOVUK_API_URL = "https://www.gov.uk/api/organisations"
FETCH_TIMEOUT = 30.0
FETCH_RETRIES = 3
_MAX_PAGES = 500  # the API has ~60 pages of 20; a longer chain is a loop or a wrong URL
_OGL = "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"

_ORG_BASE = f"{ID}organization/"
# Organisation IRIs are written as fsorg:<slug> (a slug is a valid prefixed name); other minted
# IRIs, such as the gazetteer node's, stay whole because their "/" would need escaping.
GAZETTEER_PREFIXES: dict[str, str] = {
    "fsorg": _ORG_BASE,
    **{k: v for k, v in PREFIXES.items() if k != "fsid"},
}

OnError = Literal["skip", "raise"]


# ---------------------------------------------------------------------------- data types


@dataclass(frozen=True, slots=True)
class GovUkBody:
    """One organisation of the GOV.UK organisations API, checked and cleaned.

    Attributes:
        slug: the GOV.UK slug (``details.slug``, else the last segment of ``id``).
        title: the cleaned title.
        abbreviation: the abbreviation as written, or ``None``.
        body_type: GOV.UK ``format`` (``Ministerial department``…), or ``None``.
        status: ``details.govuk_status`` (``live``, ``closed``…), or ``None``.
        closed_on: the date part of ``details.closed_at``, or ``None``.
        parents: slugs of parent organisations (including those that list this one as a child).
        superseded: slugs of the organisations this one replaced.
        superseding: slugs of the organisations that replaced this one.
        web_url: the body's GOV.UK page, or ``None``.
    """

    slug: str
    title: str
    abbreviation: str | None = None
    body_type: str | None = None
    status: str | None = None
    closed_on: _dt.date | None = None
    parents: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()
    superseding: tuple[str, ...] = ()
    web_url: str | None = None


@dataclass(frozen=True, slots=True)
class GovUkRead:
    """What ``read_govuk_records`` returns.

    Attributes:
        bodies: the usable organisations, sorted by slug.
        problems: skipped records (severity ``error``) and dropped fields (``warning``), each
            naming the record by its JSON path and title.
    """

    bodies: tuple[GovUkBody, ...]
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one GOV.UK import or fetch wrote.

    Attributes:
        out: the Turtle file written.
        source: the input file name or API URL.
        issued: the gazetteer's date (``dcterms:issued``).
        bodies: organisations written.
        problems: records skipped and fields dropped.
    """

    out: Path
    source: str
    issued: _dt.date
    bodies: int
    problems: tuple[Problem, ...] = ()

    @property
    def skipped(self) -> int:
        """Records left out."""
        return sum(1 for p in self.problems if p.severity == "error")


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    """One known organisation, ready for matching in text.

    Attributes:
        iri: the organisation's IRI.
        label: its display name (``rdfs:label``).
        aliases: every name to match case-insensitively (the label and prefLabel included
            unless marked case-sensitive), sorted.
        case_sensitive_aliases: names to match only with exact case (``skos:hiddenLabel``), sorted.
        is_government: typed ``fs:GovernmentBody``.
        parents: IRIs of the organisations it belongs to (``org:subOrganizationOf``), sorted.
        types: its class IRIs, sorted.
        same_as: external IRIs naming the same body (``skos:exactMatch``), sorted.
    """

    iri: str
    label: str
    aliases: tuple[str, ...] = ()
    case_sensitive_aliases: tuple[str, ...] = ()
    is_government: bool = False
    parents: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    same_as: tuple[str, ...] = ()

    @property
    def kind(self) -> EntityKind:
        """The entity kind an extractor gives a mention of this entry."""
        return EntityKind.GOVERNMENT_BODY if self.is_government else EntityKind.ORGANIZATION


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Known organisations read from one or more gazetteer files.

    Attributes:
        entries: one per organisation IRI (entries of several files merged), sorted by IRI.
        sources: the files read, in the order given.
    """

    entries: tuple[GazetteerEntry, ...]
    sources: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, iri: str) -> GazetteerEntry | None:
        """Return the entry with ``iri``, or ``None``."""
        return next((e for e in self.entries if e.iri == iri), None)


# ---------------------------------------------------------------------------- names


def body_iri(slug: str) -> str:
    """IRI of the organisation with register slug ``slug``.

    Hyphens become spaces before minting, so a slug reads back as the name it was made from
    and the IRI stays clean (a raw ``-`` would force a hashed segment).

    >>> body_iri("cabinet-office")
    'https://w3id.org/foresight-kg/id/organization/cabinet-office'
    """
    return entity_iri(EntityKind.ORGANIZATION.value, slug.replace("-", " "))


_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def date_in_name(name: str) -> _dt.date | None:
    """The first valid ``YYYY-MM-DD`` date in a file name or URL, else ``None``.

    >>> date_in_name("organisations-2024-04-01.json")
    datetime.date(2024, 4, 1)
    >>> date_in_name("organisations-2024-13-01.json") is None
    True
    """
    for match in _DATE_IN_NAME.finditer(name):
        try:
            return _dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return None


_COMMON_LOGPROB = -14.0  # about the 30,000th most frequent English token
COMMON_WORDS_FILE = Path(__file__).parent / "extract" / "data" / "common_words.json"


def derive_common_words() -> list[str]:
    """The frequent English words, from ``spacy-lookups-data``: WordNet's lemma index for what
    is a word, spaCy's lexeme table for how frequent. ``kg/extract/data/common_words.json``
    holds this list, so a build reads 13,000 words rather than parsing two large tables (1.5 s)
    and does not change with that package's version; ``python -m kg.gazetteer`` rewrites it."""
    data = resources.files("spacy_lookups_data") / "data"
    with (data / "en_lemma_index.json.gz").open("rb") as raw, gzip.open(raw) as handle:
        index = json.load(handle)
    with (data / "en_lexeme_prob.json.gz").open("rb") as raw, gzip.open(raw) as handle:
        prob = json.load(handle)
    words = {w for forms in index.values() for w in forms}
    return sorted(k for k, v in prob.items() if k.islower() and k in words and v > _COMMON_LOGPROB)


@functools.cache
def _common_words() -> frozenset[str]:
    return frozenset(json.loads(COMMON_WORDS_FILE.read_text(encoding="utf-8")))


def is_common_word(name: str) -> bool:
    """Whether ``name`` is one frequent English word in lower case, so matching it regardless of
    case would find the word too (``Apple``, ``SEC``, ``ICE``; not ``DSIT`` or ``NASA``).

    The words are ``COMMON_WORDS_FILE`` (see ``derive_common_words``).

    >>> is_common_word("Apple"), is_common_word("DSIT"), is_common_word("Cabinet Office")
    (True, False, False)
    """
    word = name.strip().lower()
    if not word or any(ch.isspace() for ch in word):
        return False
    return word in _common_words()


# A title takes "the" when it ends in or holds a noun that English names with an article:
# "the Home Office", "the British Library"; never "the Natural England" or "the Ofcom".
_THE_HEADS = frozenset(
    """academy administration agency archives assembly association authority bank board body
    bureau cabinet centre center chamber college collection commission commissioner
    commissioners committee company corporation council court department directorate division
    estate exchange executive force forum foundation fund gallery government group
    inspectorate inquiry institute institution laboratory library ministry mint museum network
    observatory office ombudsman panel partnership profession programme registry regulator
    review school secretariat service services survey taskforce team treasury tribunal trust
    unit university""".split()
)
# "UK <title>" reads naturally for departments and agencies, as international news writes them.
_UK_HEADS = frozenset(
    """agency authority cabinet centre commission council department executive inspectorate
    institute ministry office regulator service treasury""".split()
)
_NATION = re.compile(
    r"\b(?:UK|U\.K\.|British|Britain|United Kingdom|England|English|Scotland|Scottish|Wales|Welsh|"
    r"Northern Ireland|Irish|Ireland|GB|Great Britain|Royal|Crown|Commonwealth)\b"
)
_HONORIFIC = re.compile(r"^(?:HM|His Majesty's|His Majesty’s|Her Majesty's|Her Majesty’s)\s+(.+)$")
_WORD = re.compile(r"[A-Za-z]+")


def _heads(title: str, heads: frozenset[str]) -> bool:
    return any(w.lower() in heads for w in _WORD.findall(title))


def _spellings(title: str) -> list[str]:
    """The title with "&" and "and" swapped and with straight or curly apostrophes."""
    forms = [title]
    if " & " in title:
        forms.append(title.replace(" & ", " and "))
    elif " and " in title:
        forms.append(title.replace(" and ", " & "))
    for form in list(forms):
        if "’" in form:
            forms.append(form.replace("’", "'"))
        elif "'" in form:
            forms.append(form.replace("'", "’"))
    return forms


def title_variants(title: str) -> tuple[str, ...]:
    """Other ways text names a public body called ``title``, derived mechanically.

    "&" ↔ "and", curly ↔ straight apostrophes, "the <title>" where English uses the article,
    "UK <title>" for departments and agencies that do not already say which nation they
    belong to, and "HM" ↔ "His/Her Majesty's". The title itself is not repeated.

    >>> title_variants("Cabinet Office")
    ('the Cabinet Office', 'UK Cabinet Office')
    >>> title_variants("HM Treasury")
    ("His Majesty's Treasury", "Her Majesty's Treasury", 'the Treasury')
    >>> title_variants("Natural England")
    ()
    """
    found: list[str] = []
    honorific = _HONORIFIC.match(title)
    for form in _spellings(title):
        found.append(form)
        if honorific:
            rest = _HONORIFIC.match(form).group(1)  # type: ignore[union-attr]
            found += [f"HM {rest}", f"His Majesty's {rest}", f"Her Majesty's {rest}"]
            if " " not in rest or _heads(rest, _THE_HEADS):
                found.append(f"the {rest}")
            continue
        bare = form[4:] if form.startswith("The ") else form
        if bare != form:
            found.append(bare)
        elif " " in form and _heads(form, _THE_HEADS):
            found.append(f"the {form}")
        if bare == form and _heads(form, _UK_HEADS) and not _NATION.search(form):
            found.append(f"UK {form}")
    seen = {title.casefold()}
    variants = []
    for name in found:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            variants.append(name)
    return tuple(variants)


# ---------------------------------------------------------------------------- reading GOV.UK JSON

_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _records(data: object, source: str) -> list[tuple[str, object]]:
    """Each record with its JSON path, from a list of records, one page or a list of pages."""
    if isinstance(data, dict) and "results" in data:
        pages: list[tuple[str, object]] = [("$", data)]
    elif isinstance(data, list) and data and all(isinstance(p, dict) and "results" in p for p in data):
        pages = [(f"$[{i}]", page) for i, page in enumerate(data)]
    elif isinstance(data, list):
        return [(f"$[{i}]", record) for i, record in enumerate(data)]
    else:
        raise InputError(
            f"expected a JSON list of organisations, an API page ({{\"results\": […]}}) or a list of pages; "
            f"got a JSON {_json_type(data)}",
            file=source,
        )
    found = []
    for where, page in pages:
        results = page.get("results")  # type: ignore[union-attr]
        if not isinstance(results, list):
            raise InputError(f"{where}.results is a JSON {_json_type(results)}, not a list of organisations", file=source)
        found += [(f"{where}.results[{i}]", record) for i, record in enumerate(results)]
    return found


def _slug_of(ref: object) -> str | None:
    """The slug a record or a relation entry points to: its details.slug, else its URL's last segment."""
    if not isinstance(ref, dict):
        return None
    details = ref.get("details")
    if isinstance(details, dict) and isinstance(details.get("slug"), str) and details["slug"].strip():
        return details["slug"].strip()
    for key in ("id", "web_url"):
        url = ref.get(key)
        if isinstance(url, str) and url.strip():
            segment = urlsplit(url.strip()).path.rstrip("/").rsplit("/", 1)[-1]
            if segment:
                return segment
    return None


def _text(value: object) -> str | None:
    return clean_text(value) or None if isinstance(value, str) else None


def _refs(record: dict, key: str, where: str, name: str, source: str, problems: list[Problem]) -> tuple[str, ...]:
    value = record.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(Problem(source, None, f"{where} {name}: {key} is a JSON {_json_type(value)}, not a list; ignored", "warning"))
        return ()
    slugs = []
    for i, ref in enumerate(value):
        slug = _slug_of(ref)
        if slug is None:
            problems.append(Problem(source, None, f"{where} {name}: {key}[{i}] names no organisation; ignored", "warning"))
        elif slug not in slugs:
            slugs.append(slug)
    return tuple(slugs)


def _closed_on(value: object, where: str, name: str, source: str, problems: list[Problem]) -> _dt.date | None:
    if value in (None, ""):
        return None
    try:
        # The local date of the timestamp: GOV.UK writes midnight in UK time ("…T00:00:00+01:00").
        return _dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        problems.append(Problem(source, None, f"{where} {name}: closed_at {value!r} is not a date; left out", "warning"))
        return None


def read_govuk_records(data: object, source: str, on_error: OnError = "skip") -> GovUkRead:
    """Check and clean GOV.UK organisation records.

    Args:
        data: decoded JSON: a list of records, one API page (``{"results": […]}``) or a list of pages.
        source: the file name or URL, for messages.
        on_error: ``"skip"`` reports a bad record and goes on; ``"raise"`` stops at it.

    Returns:
        The usable bodies sorted by slug, each parent list completed from the other records'
        child lists, and the problems found.

    Raises:
        InputError: ``data`` has the wrong shape, no record is usable, or (with
            ``on_error="raise"``) a record is bad; the message names ``source`` and the record.
    """
    problems: list[Problem] = []
    bodies: dict[str, GovUkBody] = {}
    first_at: dict[str, str] = {}
    children: dict[str, set[str]] = {}
    records = _records(data, source)
    for where, record in records:
        title = _text(record.get("title")) if isinstance(record, dict) else None
        name = repr(title) if title else ""
        reason = None
        if not isinstance(record, dict):
            reason = f"is a JSON {_json_type(record)}, not an organisation object"
        elif not title:
            reason = "has no title"
        elif _slug_of(record) is None:
            reason = "has neither details.slug nor an id URL to take a slug from"
        if reason is not None:
            message = f"{where} {name}".rstrip() + f" {reason}"
            if on_error == "raise":
                raise InputError(message, file=source)
            problems.append(Problem(source, None, f"{message}; skipped", "error"))
            continue
        assert isinstance(record, dict)
        slug = _slug_of(record)
        assert slug is not None
        if slug in bodies:
            problems.append(Problem(source, None, f"{where} {name}: slug {slug!r} already read at {first_at[slug]}; skipped", "warning"))
            continue
        details = record.get("details") if isinstance(record.get("details"), dict) else {}
        web_url = record.get("web_url")
        bodies[slug] = GovUkBody(
            slug=slug,
            title=title or slug,
            abbreviation=_text(details.get("abbreviation")),
            body_type=_text(record.get("format")),
            status=_text(details.get("govuk_status")),
            closed_on=_closed_on(details.get("closed_at"), where, name, source, problems),
            parents=_refs(record, "parent_organisations", where, name, source, problems),
            superseded=_refs(record, "superseded_organisations", where, name, source, problems),
            superseding=_refs(record, "superseding_organisations", where, name, source, problems),
            web_url=web_url.strip() if isinstance(web_url, str) and web_url.strip().startswith("http") else None,
        )
        first_at[slug] = where
        for child in _refs(record, "child_organisations", where, name, source, problems):
            children.setdefault(child, set()).add(slug)
    if not bodies:
        detail = f"; first problem: {problems[0].message}" if problems else ""
        raise InputError(f"no usable organisation among {len(records)} records{detail}", file=source)
    # A parent's child list and a child's parent list are kept by hand on GOV.UK and drift
    # apart; the union is the better answer to "what does this body belong to".
    complete = []
    for slug in sorted(bodies):
        body = bodies[slug]
        extra = sorted(children.get(slug, set()) - set(body.parents))
        complete.append(replace(body, parents=body.parents + tuple(extra)) if extra else body)
    return GovUkRead(tuple(complete), tuple(problems))


def read_govuk_file(path: Path, on_error: OnError = "skip") -> GovUkRead:
    """Read a saved GOV.UK organisations JSON file (see ``read_govuk_records``).

    Raises:
        InputError: the file cannot be read, is not JSON or has the wrong shape.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} at column {exc.colno}", file=str(path), line=exc.lineno) from exc
    return read_govuk_records(data, str(path), on_error)


# ---------------------------------------------------------------------------- writing Turtle

_N = ox.NamedNode


def _lit(value: str) -> ox.Literal:
    return ox.Literal(value)


def _t(subject: ox.NamedNode, predicate: object, obj: ox.NamedNode | ox.Literal) -> ox.Triple:
    return ox.Triple(subject, _N(str(predicate)), obj)


def govuk_triples(bodies: Sequence[GovUkBody], source: str, issued: _dt.date) -> list[ox.Triple]:
    """The gazetteer of ``bodies`` as triples: the gazetteer node first, then one group per body
    in slug order, each with its predicates in a fixed order, so the output is deterministic.
    """
    gazetteer = _N(f"{ID}gazetteer/govuk-{issued.isoformat()}")
    source_term = _N(source) if source.startswith(("http://", "https://")) else _lit(source)
    triples = [
        _t(gazetteer, RDF.type, _N(str(FS.Gazetteer))),
        _t(gazetteer, RDFS.label, _lit(f"GOV.UK organisations, {issued.isoformat()}")),
        _t(gazetteer, DCTERMS.title, _lit("GOV.UK organisations")),
        _t(gazetteer, DCTERMS.source, source_term),
        _t(gazetteer, DCTERMS.issued, ox.Literal(issued.isoformat(), datatype=_N(str(XSD.date)))),
        _t(gazetteer, DCTERMS.license, _N(_OGL)),
    ]
    for body in sorted(bodies, key=lambda b: b.slug):
        node = _N(body_iri(body.slug))
        variants = title_variants(body.title)
        alt, hidden = list(variants), []
        abbr = body.abbreviation
        taken = {body.title.casefold(), *(v.casefold() for v in variants)}
        if abbr and len(abbr) >= 2 and abbr.casefold() not in taken:
            # Two letters, or a word ("ARIA", "ACE"), would match ordinary text regardless of case.
            (hidden if len(abbr) <= 2 or is_common_word(abbr) else alt).append(abbr)
        triples += [
            _t(node, RDF.type, _N(str(FS.GovernmentBody))),
            _t(node, RDFS.label, _lit(body.title)),
            _t(node, SKOS.prefLabel, _lit(body.title)),
        ]
        triples += [_t(node, SKOS.altLabel, _lit(a)) for a in alt]
        triples += [_t(node, SKOS.hiddenLabel, _lit(h)) for h in hidden]
        if body.body_type:
            triples.append(_t(node, FS.bodyType, _lit(body.body_type)))
        if body.status:
            triples.append(_t(node, FS.status, _lit(body.status)))
        triples += [_t(node, ORG.subOrganizationOf, _N(body_iri(p))) for p in body.parents]
        if body.closed_on:
            triples.append(_t(node, SDO.dissolutionDate, ox.Literal(body.closed_on.isoformat(), datatype=_N(str(XSD.date)))))
        triples += [_t(node, DCTERMS.replaces, _N(body_iri(s))) for s in body.superseded]
        triples += [_t(node, DCTERMS.isReplacedBy, _N(body_iri(s))) for s in body.superseding]
        if body.web_url:
            triples.append(_t(node, SKOS.exactMatch, _N(body.web_url)))
    return triples


def serialize_gazetteer(triples: Iterable[ox.Triple]) -> bytes:
    """Turtle of ``triples`` in the order given, with the gazetteer prefixes."""
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=GAZETTEER_PREFIXES)


def write_govuk_gazetteer(read: GovUkRead, out: Path, source: str, issued: _dt.date) -> ImportReport:
    """Write the gazetteer of ``read`` to ``out`` atomically; the same input and date give the same bytes."""
    write_bytes_atomic(out, serialize_gazetteer(govuk_triples(read.bodies, source, issued)))
    return ImportReport(out, source, issued, len(read.bodies), read.problems)


def import_govuk(path: Path, out: Path, as_of: _dt.date | None = None, on_error: OnError = "skip") -> ImportReport:
    """Convert a saved GOV.UK organisations JSON file into a gazetteer.

    Args:
        path: the JSON file (records, one API page, or a list of pages).
        out: the Turtle file to write.
        as_of: the gazetteer's date; default: a ``YYYY-MM-DD`` date in the file name, else today.
        on_error: see ``read_govuk_records``.

    Raises:
        InputError: the file is unusable (not JSON, wrong shape, no usable record).
    """
    read = read_govuk_file(path, on_error)
    issued = as_of or date_in_name(path.name) or _dt.date.today()
    return write_govuk_gazetteer(read, out, path.name, issued)


# ---------------------------------------------------------------------------- fetching the live API


def _get_json(client: httpx.Client, url: str, retries: int, backoff: float) -> object:
    import httpx

    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = client.get(url)
        except httpx.TransportError as exc:  # refused, reset, timed out: worth another try
            last = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code >= 500 or response.status_code == 429:
            last = f"HTTP {response.status_code} {response.reason_phrase}"
            continue
        if response.status_code >= 400:
            raise InputError(f"HTTP {response.status_code} {response.reason_phrase}", file=url)
        try:
            return response.json()
        except ValueError as exc:
            raise InputError(f"the response is not JSON ({response.headers.get('content-type', 'no content type')})", file=url) from exc
    raise InputError(f"failed after {retries + 1} tries: {last}", file=url)


def fetch_govuk_pages(
    url: str = GOVUK_API_URL, *, timeout: float = FETCH_TIMEOUT, retries: int = FETCH_RETRIES, backoff: float = 1.0
) -> list[dict]:
    """Read every page of the GOV.UK organisations API, following ``next_page_url``.

    Args:
        url: the first page.
        timeout: seconds allowed for each request.
        retries: further tries of a request that fails with a 5xx/429 status or a network error.
        backoff: seconds before the first retry, doubled for each next one.

    Raises:
        InputError: a page cannot be fetched, is not an API page, or the pages loop; the
            message names the URL.
    """
    import httpx

    pages: list[dict] = []
    seen: set[str] = set()
    with httpx.Client(timeout=timeout, follow_redirects=True, headers={"Accept": "application/json"}) as client:
        next_url: str | None = url
        while next_url:
            if next_url in seen:
                raise InputError("next_page_url points back to a page already read", file=next_url)
            if len(pages) >= _MAX_PAGES:
                raise InputError(f"more than {_MAX_PAGES} pages; stopped", file=next_url)
            seen.add(next_url)
            page = _get_json(client, next_url, retries, backoff)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise InputError("not an organisations API page (no \"results\" list)", file=next_url)
            pages.append(page)
            following = page.get("next_page_url")
            next_url = urljoin(next_url, following) if isinstance(following, str) and following.strip() else None
    return pages


def fetch_govuk(
    out: Path,
    url: str = GOVUK_API_URL,
    as_of: _dt.date | None = None,
    *,
    timeout: float = FETCH_TIMEOUT,
    retries: int = FETCH_RETRIES,
    backoff: float = 1.0,
    on_error: OnError = "skip",
) -> ImportReport:
    """Fetch the live GOV.UK organisations API and write it as a gazetteer (see ``import_govuk``).

    Raises:
        InputError: a page cannot be fetched or read; the message names its URL.
    """
    pages = fetch_govuk_pages(url, timeout=timeout, retries=retries, backoff=backoff)
    read = read_govuk_records(pages, url, on_error)
    return write_govuk_gazetteer(read, out, url, as_of or _dt.date.today())


# ---------------------------------------------------------------------------- loading gazetteers

_ENTRY_CLASSES = {str(FS.Organization), str(FS.GovernmentBody)}


@dataclass
class _Collect:
    """Everything read about one subject, across files (mutable while loading)."""

    types: set[str]
    labels: list[str]
    pref: set[str]
    alt: set[str]
    hidden: set[str]
    parents: set[str]
    same_as: set[str]


def _entry(iri: str, c: _Collect, where: str) -> GazetteerEntry:
    if not (c.labels or c.pref):
        raise OntologyError(f"{where}: <{iri}> has neither rdfs:label nor skos:prefLabel")
    label = c.labels[0] if c.labels else sorted(c.pref)[0]
    names = set(c.pref) | c.alt | {label}
    aliases: dict[str, str] = {}
    for name in sorted(names - c.hidden):
        aliases.setdefault(name.casefold(), name)
    return GazetteerEntry(
        iri=iri,
        label=label,
        aliases=tuple(sorted(aliases.values())),
        case_sensitive_aliases=tuple(sorted(c.hidden)),
        is_government=str(FS.GovernmentBody) in c.types,
        parents=tuple(sorted(c.parents)),
        types=tuple(sorted(c.types)),
        same_as=tuple(sorted(c.same_as)),
    )


def load_gazetteer(paths: Sequence[Path] = DEFAULT_GAZETTEERS) -> Gazetteer:
    """Read gazetteer Turtle files into one ``Gazetteer``.

    An entry is every subject typed ``fs:Organization`` or ``fs:GovernmentBody``; one IRI in
    several files is one entry with the names, types and parents of all (the first file's
    label wins).

    Raises:
        OntologyError: a file cannot be read or parsed, or an entry has no label; the message
            names the file.
    """
    collected: dict[str, _Collect] = {}
    first_file: dict[str, str] = {}
    predicates = {
        str(RDFS.label): "labels", str(SKOS.prefLabel): "pref", str(SKOS.altLabel): "alt",
        str(SKOS.hiddenLabel): "hidden", str(ORG.subOrganizationOf): "parents", str(SKOS.exactMatch): "same_as",
    }
    for path in paths:
        try:
            triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
        except (OSError, SyntaxError, ValueError) as exc:
            raise OntologyError(f"{path}: cannot read gazetteer: {exc}") from exc
        per_file: dict[str, _Collect] = {}
        for triple in triples:
            if not isinstance(triple.subject, ox.NamedNode):
                continue
            iri = triple.subject.value
            c = per_file.setdefault(iri, _Collect(set(), [], set(), set(), set(), set(), set()))
            pred = triple.predicate.value
            if pred == str(RDF.type):
                c.types.add(triple.object.value)
            elif pred in predicates:
                field = getattr(c, predicates[pred])
                value = triple.object.value
                field.append(value) if isinstance(field, list) else field.add(value)
        for iri, c in per_file.items():
            c.types &= _ENTRY_CLASSES
            if not c.types:
                continue
            c.labels.sort()
            into = collected.get(iri)
            if into is None:
                collected[iri] = c
                first_file[iri] = str(path)
                continue
            into.labels += [lab for lab in c.labels if lab not in into.labels]
            for name in ("types", "pref", "alt", "hidden", "parents", "same_as"):
                getattr(into, name).update(getattr(c, name))
    entries = tuple(_entry(iri, collected[iri], first_file[iri]) for iri in sorted(collected))
    return Gazetteer(entries, tuple(str(p) for p in paths))


if __name__ == "__main__":  # python -m kg.gazetteer: rewrite the shipped common-word list
    write_bytes_atomic(COMMON_WORDS_FILE, (json.dumps(derive_common_words(), indent=0) + "\n").encode())
