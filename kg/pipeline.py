"""The build: input files → parsed records → graph → files. Stages in order, no hidden state."""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import gc
import json
import marshal
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from kg.errors import InputError, KgError, UsageError
from kg.fsutil import hold_folder, write_bytes_atomic, write_text_atomic
from kg.iri import graph_iri
from kg.ingest.markdown import iter_markdown_files, parse_document
from kg.ingest.tabular import is_tabular, read_tabular
from kg.cache import SEGMENTS_NAME, VIEW_CACHE_NAME, BuildCache, content_key, pipeline_fingerprint
from kg.rdf.nq import encoded
from kg.rdf.build import VOCABULARY_GRAPH, assign_record_iris, build_graph, distinct_records
from kg.rdf.store import STAMP_FILE, StoreLoader, can_patch, write_store
from kg.rdf.write import turtle_bodies, turtle_spans, write_turtle
from kg.extract.mentions import drop_foreign_rule_mentions, extract_mentions, table_terms, text_units
from kg.extract.nlp import make_pipeline
from kg.gazetteer import DEFAULT_GAZETTEERS, load_gazetteer
from kg.rdf.links import LinkSettings, link_quads, mention_scaffolding, part_keys, without_scaffolding
from kg.resolve import Overrides, Resolution, read_overrides, resolve_entities, write_merges
from kg.settings import Settings
from kg.types import BuildReport, BuiltGraph, GraphPart, InputOutcome, Mention, ParsedDoc, Problem, Record, SourceDoc, Statements, ValidationReport

__all__ = ["InputFile", "ReadResult", "build", "collect_documents", "discover_inputs", "extract_entities", "input_key", "read_inputs",
           "write_report"]

Progress = Callable[[str, int, int], None]
# Up to this many characters of text to read, the pipeline leaves out the names that cannot
# occur in them; each name is looked for in all of them, so the test grows with both.
FEW_CHARACTERS = 50_000


@dataclass(frozen=True, slots=True)
class InputFile:
    """One file to read.

    Attributes:
        path: where it is.
        name: how the graph and reports name it: relative to the folder given, under that
            folder's name, so the name does not depend on the working directory.
        tabular: a parquet/CSV export file rather than a markdown document.
    """

    path: Path
    name: str
    tabular: bool


@dataclass(frozen=True)
class ReadResult:
    """What ``read_inputs`` returns.

    Attributes:
        docs: parsed documents, in input order.
        records: rows from the tabular export.
        outcomes: one per input file.
    """

    docs: tuple[ParsedDoc, ...]
    records: tuple[Record, ...]
    outcomes: tuple[InputOutcome, ...]


def discover_inputs(paths: Sequence[Path]) -> list[InputFile]:
    """Expand files and folders (recursively) into the input files, sorted within each folder.

    Raises:
        UsageError: a path does not exist.
    """
    found: dict[Path, InputFile] = {}
    for given in paths:
        if given.is_dir():
            base = given.resolve()
            candidates = sorted(
                {*iter_markdown_files(given), *(p for p in given.rglob("*") if p.is_file() and is_tabular(p))}
            )
            for path in candidates:
                if any(part.startswith(".") for part in path.relative_to(given).parts):
                    continue
                name = f"{base.name}/{path.resolve().relative_to(base).as_posix()}"
                found.setdefault(path.resolve(), InputFile(path, name, is_tabular(path)))
        elif given.is_file():
            found.setdefault(given.resolve(), InputFile(given, given.name, is_tabular(given)))
        else:
            raise UsageError(f"{given}: no such file or folder")
    return list(found.values())


def read_inputs(inputs: Sequence[InputFile], progress: Progress | None = None, cache: BuildCache | None = None,
                keys: Sequence[str | None] | None = None) -> ReadResult:
    """Parse every input; a bad file becomes a rejected outcome, never an exception.

    With a ``cache``, a file whose name and bytes an earlier build parsed is not parsed again;
    ``keys``, one per input (see ``input_key``), spare reading the files to find out.
    """
    docs: list[ParsedDoc] = []
    records: list[Record] = []
    outcomes: list[InputOutcome] = []
    for index, item in enumerate(inputs):
        if progress:
            progress("read", index, len(inputs))
        key = keys[index] if keys is not None else None
        try:
            if item.tabular:
                batch = _parse_cached(item, cache, read_tabular, key)
                records.extend(batch.records)
                outcomes.append(_outcome(item.name, batch.problems, sorted({r.doc_id for r in batch.records}), len(batch.records)))
            else:
                parsed = _parse_cached(item, cache, parse_document, key)
                docs.append(parsed)
                outcome = _outcome(item.name, parsed.problems, [parsed.doc.doc_id], len(parsed.records))
                outcomes.append(replace(outcome, language=parsed.doc.language))
        except InputError as exc:
            problem = Problem(exc.file or item.name, exc.line, exc.reason)
            outcomes.append(InputOutcome(item.name, "rejected", (problem,)))
    if progress:
        progress("read", len(inputs), len(inputs))
    return ReadResult(tuple(docs), tuple(records), tuple(outcomes))


def input_key(item: InputFile) -> str | None:
    """What the cache knows an input's parse by: its name and bytes; ``None`` if unreadable."""
    try:
        return content_key(item.name, item.path.read_bytes())
    except OSError:
        return None


def _parse_cached(item: InputFile, cache: BuildCache | None, parse: Callable, key: str | None = None):
    if cache is None:
        return parse(item.path, name=item.name)
    key = key or input_key(item)
    if key is None:
        return parse(item.path, name=item.name)  # let the parser report it, with its wording
    found = cache.get_parsed(key)
    if found is None:
        found = parse(item.path, name=item.name)
        cache.put_parsed(key, found)
    return found


def _outcome(name: str, problems: Sequence[Problem], doc_ids: Sequence[str], count: int) -> InputOutcome:
    status = "warning" if problems else "ok"
    return InputOutcome(name, status, tuple(problems), tuple(doc_ids), count)


def collect_documents(result: ReadResult) -> tuple[list[SourceDoc], list[Record], list[InputOutcome]]:
    """One ``SourceDoc`` per document id, plus a bare one for ids known only from rows.

    A second file with an id already taken is merged when it holds the same bytes (the same
    document saved twice) and rejected otherwise, naming the first file.
    """
    outcomes = {o.file: o for o in result.outcomes}
    docs: dict[str, SourceDoc] = {}
    records: list[Record] = []
    for parsed in result.docs:
        first = docs.get(parsed.doc.doc_id)
        if first is None:
            docs[parsed.doc.doc_id] = parsed.doc
            records.extend(parsed.records)
            continue
        old = outcomes[parsed.doc.file]
        if first.sha256 == parsed.doc.sha256:
            note = Problem(parsed.doc.file, None, f"same document as {first.file} (id {first.doc_id}); merged", "warning")
            outcomes[old.file] = InputOutcome(old.file, "warning", old.problems + (note,), old.doc_ids, 0)
        else:
            note = Problem(parsed.doc.file, None, f"document id {first.doc_id} is already used by {first.file}, with other content; rejected")
            outcomes[old.file] = InputOutcome(old.file, "rejected", old.problems + (note,))
    records.extend(result.records)
    first_file: dict[str, str] = {}
    for record in result.records:
        first_file.setdefault(record.doc_id, record.file)
    for doc_id in sorted(first_file.keys() - docs.keys()):
        docs[doc_id] = SourceDoc(doc_id=doc_id, file=first_file[doc_id], sha256="", format="tabular")
    return list(docs.values()), records, [outcomes[o.file] for o in result.outcomes]


def extract_entities(
    docs: Sequence[SourceDoc], rows: Sequence[Record], iris: dict, settings: Settings, progress: Progress | None = None,
    cache: BuildCache | None = None, lap: Callable[[str], None] | None = None,
    found_mentions: Callable[[Sequence[Mention]], None] | None = None,
    reused: Callable[[Resolution], Collection[str]] | None = None,
) -> tuple[Resolution, Statements]:
    """Find, resolve and link entities: the spaCy pipeline over every text, then resolution.

    ``found_mentions`` is told the mentions before they are resolved; ``reused``, given the
    resolution, names the documents whose statements are not wanted (a rebuild has them).

    Returns:
        The resolution (entities, mentions, merge log) and its statements.
    """
    gazetteer = load_gazetteer(settings.gazetteers or DEFAULT_GAZETTEERS)
    terms = table_terms(rows)
    def nlp(texts: Sequence[str]):
        # Made only when some text is not in the cache; for the few texts of a small change,
        # without the names that cannot occur in them.
        few = sum(map(len, texts)) <= FEW_CHARACTERS
        return make_pipeline(gazetteer, terms, settings.spacy_model, only_for=texts if few else None)

    units = text_units(docs, rows, iris)
    if progress:
        progress("extract", 0, len(units))
    scanner = None
    languages: dict[tuple[str, str], str | None] = {}
    if settings.scheduler:
        from kg.extract.dask_scan import PipelineRecipe, Scanner

        recipe = PipelineRecipe(gazetteer, tuple(terms), settings.spacy_model, content_key(*_extraction_inputs(settings), *map(repr, terms)))
        scanner = Scanner(settings.scheduler, recipe)
    try:
        found = extract_mentions(units, nlp, jobs=settings.jobs, cache=cache, terms=terms, scanner=scanner, found_languages=languages)
    finally:
        if scanner is not None:
            scanner.close()
    mentions = drop_foreign_rule_mentions(found, docs, units, languages)
    if found_mentions is not None:
        found_mentions(mentions)
    if lap:
        lap("extract")
    if progress:
        progress("extract", len(units), len(units))
    overrides = read_overrides(settings.overrides) if settings.overrides else Overrides()
    resolution = resolve_entities(mentions, gazetteer, overrides)
    skip = reused(resolution) if reused is not None else ()
    return resolution, link_quads(resolution, rows, iris, gazetteer, _link_settings(settings), skip=skip)


def _link_settings(settings: Settings) -> LinkSettings:
    return LinkSettings(settings.barrier_coverage, settings.tech_issue_jaccard)


def _extraction_inputs(settings: Settings) -> list[str | bytes]:
    """What extraction depends on besides the code: the gazetteers' bytes and the model."""
    parts: list[str | bytes] = [f"model={settings.spacy_model or ''}"]
    if settings.spacy_model:
        import spacy

        try:
            parts.append(str(spacy.util.get_package_version(settings.spacy_model) or spacy.util.get_model_meta(Path(settings.spacy_model))))
        except (OSError, ValueError):
            parts.append("model meta unknown")
    for path in settings.gazetteers or DEFAULT_GAZETTEERS:
        parts += [str(path), Path(path).read_bytes() if Path(path).is_file() else b"absent"]
    return parts


def _base_file(loader: StoreLoader) -> Path:
    return loader.folder.with_name(f"{loader.folder.name}.base.nq")


def _base_graph(docs, rows, iris, path: Path) -> Iterator[bytes]:
    """In the store's first writer: the graph of the documents and rows alone, for the store
    at once and, kept at ``path`` with its parts beside it, for this build's own graph, which
    then only appends the links (see ``build_graph``'s ``base``)."""
    graph = build_graph(docs, rows, iris, spool=path)
    graph.segments.keep(path, durable=False)
    parts = [part.packed(offset, length) for part, offset, length in graph.part_spans()]
    write_bytes_atomic(path.with_suffix(".parts"), marshal.dumps(parts))
    return (data for _, data in graph.segments)


def _read_base(loader: StoreLoader, stack: contextlib.ExitStack) -> dict[str, tuple]:
    """What ``_base_graph`` made, once it has (an empty mapping if it failed)."""
    path = _base_file(loader)
    meta = path.with_suffix(".parts")
    while not meta.exists() and loader.writer_running(0):
        time.sleep(0.02)
    try:
        parts = marshal.loads(meta.read_bytes())
        fd = os.open(path, os.O_RDONLY)
    except (OSError, EOFError, ValueError):
        return {}
    stack.callback(os.close, fd)
    for stray in (path, meta):
        stray.unlink()  # read through the open handle
    found = {}
    for values in parts:
        part, offset, length = GraphPart.unpacked(values)
        found[part.name] = (part, functools.partial(os.pread, fd, length, offset))
    return found


def _write_html(graph: BuiltGraph, out: Path, limit: int, cache: BuildCache | None,
                written: Callable[[Path], None] | None = None) -> list[Path]:
    from kg.viz import write_build_view

    reuse, version = (out / VIEW_CACHE_NAME, cache.fingerprint) if cache is not None else (None, "")
    if cache is not None and cache.fresh:
        reuse.unlink(missing_ok=True)  # --clean, or another version of the code: nothing is reused
    return [write_build_view(graph, out / "graph.html", limit=limit, reuse=reuse, version=version, written=written)]


class _Pending:
    """Work running in a forked process: ``get`` waits for its answer and re-raises its error;
    ``close`` waits for the process to end (it may still be saving what the next build reuses)."""

    def __init__(self, process, receiver) -> None:
        self._process, self._receiver = process, receiver
        self._answered = False

    def get(self):
        try:
            ok, value = self._receiver.recv()
        except EOFError:
            self._process.join()
            ok, value = False, f"the process drawing the views died (exit {self._process.exitcode})"
        self._answered = True
        if not ok:
            self._process.join()
            raise KgError(f"drawing graph.html failed: {value}")
        return value

    def close(self) -> None:
        """Wait for the process to end; if the build failed before asking for its answer, stop it."""
        if not self._answered:
            self._process.terminate()
        self._process.join()


def _start_html(graph: BuiltGraph, out: Path, limit: int, cache: BuildCache | None) -> _Pending:
    """Draw the views in a forked process while this one writes Turtle and loads the store:
    at corpus scale each takes tens of seconds, and they need nothing from each other. The
    child inherits the graph (nothing is pickled) and sends back only the paths or the error."""
    import multiprocessing
    import traceback

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def run() -> None:
        # igraph imports matplotlib's pyplot when it can (0.7 s) for drawing it never does
        # here; this process only draws the page and exits.
        sys.modules.setdefault("matplotlib", None)
        sent = False

        def written(path: Path) -> None:
            # The parent goes on as soon as the page is there; the view's cache is saved after.
            nonlocal sent
            sender.send((True, [path]))
            sent = True
        try:
            _write_html(graph, out, limit, cache, written)
        except BaseException as exc:  # noqa: BLE001 (reported to the parent, which raises)
            if not sent:
                sender.send((False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
                return
            # Only the view's cache was lost: the next build reads every segment again.
            print(f"kg: warning: could not save {out / VIEW_CACHE_NAME}: {exc}", file=sys.stderr)

    process = context.Process(target=run, daemon=True)
    process.start()
    sender.close()
    return _Pending(process, receiver)


def _start_store(graph: BuiltGraph, path: Path, cache: BuildCache | None, hashes: dict[str, str],
                 before: dict[str, str] | None) -> Future[Path]:
    """Load the store in a thread while this one writes Turtle: Oxigraph's loader releases the
    GIL and, at corpus scale, takes as long as every stage after extraction together."""
    from concurrent.futures import ThreadPoolExecutor

    if cache is None:
        job = functools.partial(write_store, graph, path)
    else:
        # Read here: the cache's SQLite connection belongs to this thread.
        vocabulary = cache.segment_nquads(VOCABULARY_GRAPH) if before else None
        job = functools.partial(write_store, graph, path, hashes=hashes, before=before,
                                old_nquads=lambda name: vocabulary if name == VOCABULARY_GRAPH else None)
    pool = ThreadPoolExecutor(1, thread_name_prefix="kg-store")
    try:
        return pool.submit(job)
    finally:
        pool.shutdown(wait=False)  # the job runs on; ``result()`` waits for it


def _peak_mb() -> float:
    import resource

    # ru_maxrss is in KiB on Linux (bytes on macOS, where this overstates; it is a figure to read).
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def build(paths: Sequence[Path], out: Path, settings: Settings = Settings(), progress: Progress | None = None) -> BuildReport:
    """Build the knowledge graph of ``paths`` into the folder ``out``.

    Writes ``graph.ttl``, ``store/`` (Oxigraph), ``graph.html``, ``ontology.html``,
    ``validation.txt`` (SHACL), ``report.json`` and, last, ``provenance.ttl`` (also loaded into
    the store), each atomically. Bad inputs are reported in the returned report and
    ``report.json``; the rest is built.

    With the cache on, a build whose inputs, settings and code are those of the last build
    into ``out``, whose outputs are still there as it wrote them, does nothing and returns that
    build's report, marked ``up_to_date``.

    Raises:
        UsageError: a path does not exist, or no input was found.
    """
    started = _dt.datetime.now(_dt.timezone.utc)
    timings: dict[str, float] = {}
    peaks: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        peaks[stage] = _peak_mb()
        clock = now
        # What a stage leaves is mostly kept to the end: frozen, the collector stops walking
        # it again and again (seconds at corpus scale). Freed by reference counting as before.
        gc.freeze()

    inputs = discover_inputs(paths)
    if not inputs:
        raise UsageError(f"no markdown or tabular files found in {', '.join(map(str, paths))}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a folder (--out names the folder the outputs go to)")
    # A second build into the same folder waits: the two would share the cache and replace
    # the same outputs.
    with hold_folder(out, lambda: print(f"kg: waiting for another build into {out} to finish", file=sys.stderr, flush=True)):
        cache = BuildCache.open(out, pipeline_fingerprint(_extraction_inputs(settings)), clean=settings.clean) if settings.cache else None
        thresholds = gc.get_threshold()
        # Builds allocate millions of small, acyclic objects that live to the end: collected less
        # often (and frozen after each stage), the collector stops costing seconds.
        gc.set_threshold(100_000, 50, 1000)
        try:
            keys = [input_key(item) for item in inputs] if cache is not None else None
            key = _build_key(inputs, keys, settings, cache.fingerprint) if cache is not None else ""
            last = _last_build(cache, out, key) if cache is not None and not cache.fresh else None
            if last is not None:
                return last
            report = _build(inputs, keys, out, settings, progress, cache, started, timings, peaks, lap)
            if cache is not None:
                cache.put_meta(LAST_BUILD, (key, _output_stamps(out, report.outputs), report))
                cache.save()
            return report
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            if cache is not None:
                cache.close()


LAST_BUILD = "last build"


def _build_key(inputs: Sequence[InputFile], keys: Sequence[str | None], settings: Settings, fingerprint: str) -> str:
    """What the outputs are made from: the code and data (``fingerprint``), the settings that
    change what is written, and every input's place and ``input_key`` (its name and bytes)."""
    made_alike = replace(settings, jobs=1, scheduler=None, clean=False)  # how it runs, not what it makes
    parts: list[str | bytes] = [fingerprint, repr(made_alike)]
    if settings.overrides:
        try:
            parts.append(settings.overrides.read_bytes())
        except OSError:
            parts.append("unreadable")  # the build reports it
    for item, key in zip(inputs, keys, strict=True):
        parts += [str(item.path.resolve()), str(item.tabular), key or "unreadable"]
    return content_key(*parts)


def _output_stamps(out: Path, names: Sequence[str]) -> tuple:
    """Each output's (size, mtime_ns, inode), the store's by its stamp file (the store is
    replaced whole by each build, and its stamp with it), ``None`` for one that is missing.
    The inode tells a copy that kept the times (``cp -a``) from the file the build wrote."""
    stamps = []
    for name in names:
        path = out / name
        if path.is_dir():
            path = path / STAMP_FILE
        try:
            stat = path.stat()
        except OSError:
            stamps.append((name, None))
            continue
        stamps.append((name, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(stamps)


def _last_build(cache: BuildCache, out: Path, key: str) -> BuildReport | None:
    """The last build's report if nothing it was made from changed and its outputs are still
    the files it wrote; then there is nothing to build."""
    last = cache.get_meta(LAST_BUILD)
    if not last or last[0] != key:
        return None
    _, stamps, report = last
    if None in (stamp[1] for stamp in stamps) or _output_stamps(out, report.outputs) != stamps:
        return None
    return replace(report, up_to_date=True)


def _remove_strays(out: Path) -> None:
    """Remove the temporary files and folders (``.NAME.*.tmp``) a build killed while writing
    ``out`` left there: the next build would never read them, and some are gigabytes. Only
    called while holding the folder, so none belongs to a build still running."""
    for stray in out.glob(".*.tmp"):
        shutil.rmtree(stray, ignore_errors=True) if stray.is_dir() else stray.unlink(missing_ok=True)


def _build(inputs, keys, out, settings, progress, cache, started, timings, peaks, lap) -> BuildReport:
    _remove_strays(out)
    result = read_inputs(inputs, progress, cache, keys)
    docs, records, outcomes = collect_documents(result)
    rows = distinct_records(records)
    iris = assign_record_iris(rows)
    before = cache.segment_hashes() if cache is not None and not cache.fresh else None
    loader = None
    if settings.write_store and not can_patch(out / "store", before):
        loader = StoreLoader(out / "store")
        loader.fork_writer(functools.partial(_base_graph, docs, rows, iris, _base_file(loader)))
    lap("parse")
    with contextlib.ExitStack() as stack:
        if loader is not None:
            stack.callback(loader.abandon)  # a no-op once the store is in place
        old_segments = _open_segments(out, cache) if loader is None else None
        if old_segments is not None:
            stack.callback(os.close, old_segments)
        old_turtle = _old_turtle(out, cache) if before else None
        if old_turtle is not None:
            stack.callback(os.close, old_turtle[0])
        return _build_rest(docs, rows, iris, outcomes, inputs, out, settings, progress, cache, before, loader,
                           old_segments, old_turtle, stack, started, timings, peaks, lap)


def _open_segments(out: Path, cache: BuildCache | None) -> int | None:
    """The last build's segments file, open for reading, if the cache describes it."""
    if cache is None or cache.fresh:
        return None
    return _open_stamped(out / SEGMENTS_NAME, cache.segments_stamp())


def _old_turtle(out: Path, cache: BuildCache) -> tuple[int, dict[str, tuple[int, int]]] | None:
    """The last build's ``graph.ttl``, open for reading, with where each graph's Turtle is in
    it, if the cache describes that file (not one edited or written since)."""
    stamp, spans = cache.turtle_spans()
    fd = _open_stamped(out / "graph.ttl", stamp)
    return (fd, spans) if fd is not None else None


def _open_stamped(path: Path, stamp: tuple[int, int] | None) -> int | None:
    """``path`` open for reading if its (size, mtime_ns) is ``stamp``: still the file the
    cache recorded, not one deleted, edited or written since."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    stat = os.fstat(fd)
    if stamp != (stat.st_size, stat.st_mtime_ns):
        os.close(fd)
        return None
    return fd


def _build_rest(docs, rows, iris, outcomes, inputs, out, settings, progress, cache, before, loader,
                old_segments, old_turtle, stack, started, timings, peaks, lap) -> BuildReport:
    links = Statements()
    resolution = None
    keys: dict[str, str] = {}
    reuse: dict[str, tuple] = {}
    if settings.extract:
        scaffolding = None
        if loader is not None:
            def scaffolding(mentions):
                loader.fork_writer(lambda: encoded(mention_scaffolding(mentions)))

        def reused(resolution: Resolution) -> set[str]:
            # A store loaded afresh needs every statement: none are taken from the cache.
            if old_segments is None or loader is not None:
                return set()
            keys.update(part_keys(docs, rows, iris, resolution, _link_settings(settings)))
            found = cache.get_parts(list(keys.values()))
            for name, key in keys.items():
                if key in found:
                    part, offset, length = found[key]
                    reuse[name] = (part, functools.partial(os.pread, old_segments, length, offset))
            return {doc.doc_id for doc in docs if graph_iri(f"doc/{doc.doc_id}") in reuse}
        resolution, links = extract_entities(docs, rows, iris, settings, progress, cache, lap, scaffolding, reused)
        lap("resolve")
    if loader is not None:
        mentions = resolution.mentions if resolution is not None else ()
        loader.fork_writer(lambda: encoded(without_scaffolding(links, mentions)))
    base = _read_base(loader, stack) if loader is not None else {}
    graph = build_graph(docs, rows, iris, links, reuse, spool=out / SEGMENTS_NAME if cache is not None else None, base=base)
    del base
    stack.callback(graph.segments.discard)  # a no-op once kept
    if cache is not None:
        cache.hits["parts"], cache.misses["parts"] = len(reuse), len(graph.parts) - len(reuse)
    del links  # its lines are in the graph now; at corpus scale they are hundreds of megabytes
    hashes = dict(graph.hashes)
    lap("graph")
    validation = None
    if settings.validate:
        from kg.rdf.validate import validate_graph

        validation = validate_graph(graph)
        lap("validate")
    out.mkdir(parents=True, exist_ok=True)
    html = _start_html(graph, out, settings.view_limit, cache) if settings.write_html else None
    if html is not None:
        stack.callback(html.close)
    # Started after the fork above, which must not copy a running thread.
    store = None
    if settings.write_store and loader is None:
        store = _start_store(graph, out / "store", cache, hashes, before)
    unchanged = {name for name, h in hashes.items() if before and before.get(name) == h}

    def old_body(name: str) -> bytes | None:
        span = old_turtle[1].get(name) if old_turtle is not None and name in unchanged else None
        return os.pread(old_turtle[0], span[1], span[0]) if span is not None else None
    bodies = turtle_bodies(graph, old_body)
    written = [write_turtle(graph, out / "graph.ttl", bodies=bodies)]
    turtle_stat = written[0].stat()
    if validation is not None:
        from kg.rdf.validate import write_validation

        written.append(write_validation(validation, out / "validation.txt"))
    if resolution is not None:
        written.append(write_merges(resolution, out / "merges.csv"))
    if cache is not None:
        # Saved while the store is still loading. A crash before the store is in place leaves
        # a cache whose hashes the old store's stamp does not match, so the next build reloads it.
        # The vocabulary graph is shared by every document; its old statements let the next
        # build patch the store by difference instead of reloading it.
        index = {name: i for i, name in enumerate(hashes)}
        cache.put_segments(((name, hashes[name], graph.segments[index[name]][1] if name == VOCABULARY_GRAPH else None)
                            for name, _ in bodies if name not in unchanged), keep=hashes)
        cache.put_turtle_spans((turtle_stat.st_size, turtle_stat.st_mtime_ns), turtle_spans(bodies))
        cache.commit()
    lap("write")
    if cache is not None:
        # The segments, most of a gigabyte at corpus scale, are already written: kept as they are.
        stat = graph.segments.keep(out / SEGMENTS_NAME).stat()
        if resolution is not None:
            if not keys:  # made here, while the store loads on the other core
                keys.update(part_keys(docs, rows, iris, resolution, _link_settings(settings)))
            cache.put_parts(((keys[p.name], p, offset, length) for p, offset, length in graph.part_spans() if p.name in keys),
                            (stat.st_size, stat.st_mtime_ns))
        cache.commit()
    if settings.write_html:
        from kg.ontology_docs import write_ontology_docs

        # Here, not with graph.html in the forked process: this one would otherwise only wait
        # (for the store and that process), and the other is the last to finish.
        written.append(write_ontology_docs(out / "ontology.html"))
    if loader is not None:
        try:
            written.append(loader.finish(hashes if cache is not None else None))
        except KgError:
            # The loading process died (out of memory, killed): load the store here instead.
            written.append(write_store(graph, out / "store", hashes=hashes if cache is not None else None))
        lap("store")
    elif store is not None:
        written.append(store.result())
        lap("store")
    if html is not None:
        written.extend(html.get())
        lap("html")
    counts = dict(graph.node_counts)
    report = BuildReport(
        inputs=tuple(sorted(outcomes, key=lambda o: o.file)),
        documents=counts.get("Document", 0),
        records=len(rows),
        nodes=sum(counts.values()),
        triples=graph.triples,
        nodes_by_class=graph.node_counts,
        outputs=tuple(sorted([*(p.relative_to(out).as_posix() for p in written), "provenance.ttl"])) + ("report.json",),
        timings=tuple(timings.items()),
        reused=tuple((k, cache.hits[k], cache.misses[k]) for k in ("parsed", "scans", "parts")) if cache is not None else (),
        peak_mb=tuple(peaks.items()),
    )
    written.append(write_report(report, out / "report.json", validation=validation))
    from kg.provenance import record_build, tool_files

    record_build(out, started=started, inputs=[(i.name, i.path) for i in inputs], tools=tool_files(settings),
                 outputs=written, docs=docs, rows=rows, store=out / "store" if settings.write_store else None)
    return report


def write_report(report: BuildReport, path: Path, *, validation: ValidationReport | None = None) -> Path:
    """Write ``report.json``: per input ok/warning/rejected with problems, then the counts, and
    whether the graph conforms to the SHACL shapes when it was validated."""
    data = asdict(report)
    del data["up_to_date"]  # written only by a build that ran
    if validation is not None:
        data["validation"] = {"conforms": validation.conforms, "violations": validation.violations,
                              "results": len(validation.results), "report": "validation.txt"}
    data["rejected"] = report.rejected
    languages = Counter(i.language for i in report.inputs if i.language)
    data["languages"] = dict(sorted(languages.items()))
    data["nodes_by_class"] = dict(report.nodes_by_class)
    data["timings"] = dict(report.timings)
    data["peak_mb"] = dict(report.peak_mb)
    data["reused"] = {table: {"reused": hits, "made": made} for table, hits, made in report.reused}
    for item in data["inputs"]:
        item["problems"] = [
            {"file": p["file"], "line": p["line"], "severity": p["severity"], "message": p["message"]} for p in item["problems"]
        ]
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
