"""The embedded Oxigraph store a build leaves at ``DIR/store``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox

from kg.cache import content_key
from kg.fsutil import atomic_dir
from kg.iri import graph_iri
from kg.gen_namespace import ONTOLOGY_FILE
from kg.types import BuiltGraph

__all__ = ["NON_DATA_GRAPHS", "ONTOLOGY_GRAPH", "PROVENANCE_GRAPH", "STAMP_FILE", "StoreLoader", "can_patch", "open_store",
           "store_stamp", "write_store"]

ONTOLOGY_GRAPH = graph_iri("ontology")
PROVENANCE_GRAPH = graph_iri("provenance")
# Graphs of a store that are not the corpus's data: the ontology and the build's provenance.
NON_DATA_GRAPHS = (ONTOLOGY_GRAPH, PROVENANCE_GRAPH)


STAMP_FILE = "kg-build-stamp"


def store_stamp(hashes: Mapping[str, str]) -> str:
    """The identity of a store's data: a hash over its graphs' content hashes."""
    return content_key(*(f"{g}\t{h}" for g, h in sorted(hashes.items())))


def write_store(graph: BuiltGraph, path: Path, *, extra_turtle: tuple[Path, ...] = (), hashes: Mapping[str, str] | None = None,
                before: Mapping[str, str] | None = None, old_nquads: Callable[[str], bytes | None] = lambda graph: None) -> Path:
    """Write a fresh persistent store at ``path``: the build's named graphs plus the ontology.

    With ``hashes`` (each segment's content hash) and ``before`` (the hashes of the store now
    at ``path``, from the build cache), the store is patched instead: a copy of it gets the
    changed graphs replaced (a large graph whose old statements ``old_nquads`` gives, by
    difference) and the deleted ones dropped. The result holds the same statements as a fresh
    store. Either way the store is built in a temporary folder and swapped in whole, so a crash
    leaves the previous store usable.
    """
    with atomic_dir(path) as tmp:
        if hashes is not None and before is not None and _stamp_of(path) == store_stamp(before):
            tmp.rmdir()
            ox.Store.read_only(str(path)).backup(str(tmp))
            _patch(ox.Store(str(tmp)), graph, hashes, before, old_nquads)
        else:
            store = ox.Store(str(tmp))
            _bulk_load(store, graph)
            _load_ontology(store, extra_turtle)
            store.flush()
            del store
        if hashes is not None:
            (tmp / STAMP_FILE).write_text(store_stamp(hashes) + "\n", encoding="utf-8")
    return path


def can_patch(path: Path, before: Mapping[str, str] | None) -> bool:
    """Whether the store at ``path`` is the one the cache's segment hashes ``before`` describe."""
    return before is not None and _stamp_of(path) == store_stamp(before)


def _load_ontology(store: ox.Store, extra_turtle: tuple[Path, ...] = ()) -> None:
    onto = ox.NamedNode(ONTOLOGY_GRAPH)
    for ttl in (ONTOLOGY_FILE, *extra_turtle):
        store.bulk_load(path=str(ttl), format=ox.RdfFormat.TURTLE, to_graph=onto)


_LOAD_BATCH = 64 << 20


def _bulk_load(store: ox.Store, graph: BuiltGraph) -> None:
    """Bulk-load the segments in batches of about 64 MB: Oxigraph's bulk loader holds what one
    call gives it, which for a whole corpus was more memory (1.7 GB) than the rest of the build."""
    batch: list[bytes] = []
    size = 0
    for _, data in graph.segments:
        # A segment larger than a batch (one huge document) is cut at line ends.
        start = 0
        while start < len(data):
            end = data.find(b"\n", start + _LOAD_BATCH)
            end = len(data) if end < 0 else end + 1
            piece = data[start:end] if start or end < len(data) else data
            batch.append(piece)
            size += len(piece)
            start = end
            if size >= _LOAD_BATCH:
                store.bulk_load(b"".join(batch), format=ox.RdfFormat.N_QUADS)
                batch, size = [], 0
    if batch:
        store.bulk_load(b"".join(batch), format=ox.RdfFormat.N_QUADS)


def _stamp_of(path: Path) -> str | None:
    try:
        return (path / STAMP_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _patch(store: ox.Store, graph: BuiltGraph, hashes: Mapping[str, str], before: Mapping[str, str],
           old_nquads: Callable[[str], bytes | None]) -> None:
    for name in sorted(before.keys() - hashes.keys()):
        store.remove_graph(ox.NamedNode(name))
    for index, name in enumerate(graph.names()):
        if before.get(name) == hashes[name]:
            continue  # and not read: most segments of a rebuild
        data = graph.segments[index][1]
        node = ox.NamedNode(name)
        old = old_nquads(name) if name in before else None
        if old is None:
            if store.contains_named_graph(node):
                store.remove_graph(node)
            store.load(data, format=ox.RdfFormat.N_QUADS)
            continue
        # A big shared graph (the vocabulary) changes by a few statements: apply only those.
        old_lines, new_lines = set(old.splitlines(keepends=True)), set(data.splitlines(keepends=True))
        gone = b"".join(sorted(old_lines - new_lines))
        for quad in ox.parse(gone, format=ox.RdfFormat.N_QUADS):
            store.remove(quad)
        store.load(b"".join(sorted(new_lines - old_lines)), format=ox.RdfFormat.N_QUADS)
    store.flush()
    del store


def open_store(path: Path, *, read_only: bool = True) -> ox.Store:
    """Open the store of a build folder (``DIR`` or ``DIR/store``)."""
    from kg.errors import UsageError

    folder = path / "store" if (path / "store").is_dir() else path
    if not folder.is_dir():
        raise UsageError(f"{path}: no store here; run 'kg build … --out {path}' first")
    try:
        return ox.Store.read_only(str(folder)) if read_only else ox.Store(str(folder))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder}: no store here, or not an Oxigraph store ({exc}); run 'kg build … --out {path}' first") from exc


class StoreLoader:
    """A fresh store loaded by another process while the build goes on.

    At corpus scale loading the store costs as much as every other stage after extraction
    together. A loader process (``kg.rdf.loader``) loads N-Quads files as their names arrive,
    written by forked children (``fork_writer``) as soon as their part of the graph is known:
    what the parsed input alone gives (documents, rows, shared concepts) while extraction runs;
    the mentions' annotations while resolution runs; the rest while this process builds the
    graph, writes Turtle and draws the views. ``finish`` waits for them and swaps the store in
    whole. A store is a set, so a statement written twice counts once: the result holds the
    same statements as ``write_store`` would write.
    """

    _PREFIX = "-loading."

    def __init__(self, path: Path) -> None:
        import os
        import shutil
        import subprocess
        import sys
        import tempfile

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Its writers' files start so too, and their temporary files with one more dot.
        for stray in [*path.parent.glob(f".{path.name}{self._PREFIX}*"), *path.parent.glob(f"..{path.name}{self._PREFIX}*")]:
            shutil.rmtree(stray, ignore_errors=True) if stray.is_dir() else stray.unlink(missing_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{path.name}{self._PREFIX}", suffix=".tmp", dir=path.parent))
        # Its errors go to a file: a pipe nobody reads until the end could fill and stall it.
        self._errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        # The package's own folder first on its path: this one may have found ``kg`` through a
        # ``sys.path`` entry a fresh interpreter would not have.
        home = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (home, os.environ.get("PYTHONPATH"))))}
        self._loader = subprocess.Popen(
            [sys.executable, "-m", "kg.rdf.loader", str(self.folder), str(ONTOLOGY_FILE), ONTOLOGY_GRAPH],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, text=True, env=env,
        )
        self._files = 0
        self._writers: list = []

    def fork_writer(self, chunks: Callable[[], Iterable[bytes]]) -> None:
        """Hand the loader the N-Quads ``chunks()`` makes (bytes of whole lines), from a forked
        child: it has this process's data without pickling it, and this process goes on at
        once. The child never opens a store."""
        import multiprocessing

        context = multiprocessing.get_context("fork")
        writer = context.Process(target=self._write, args=(chunks, (len(self._writers) + 1) << 20), daemon=True)
        writer.start()
        self._writers.append(writer)

    def writer_running(self, index: int) -> bool:
        """Whether the ``index``-th writer forked is still at work."""
        return self._writers[index].is_alive()

    def _write(self, chunks: Callable[[], Iterable[bytes]], first_file: int) -> None:
        import os

        os.nice(10)  # behind the build's own stages, as the loader is
        self._files = first_file  # names distinct from other writers'
        self.add(chunks())

    def add(self, chunks: Iterable[bytes]) -> None:
        """Hand the loader N-Quads ``chunks`` (whole lines), through files of about 64 MB."""
        batch: list[bytes] = []
        size = 0
        for chunk in chunks:
            batch.append(chunk)
            size += len(chunk)
            if size >= _LOAD_BATCH:
                self._send(batch)
                batch, size = [], 0
        if batch:
            self._send(batch)

    def _send(self, batch: list[bytes]) -> None:
        file = self.folder.with_name(f"{self.folder.name}.{self._files}.nq")
        self._files += 1
        file.write_bytes(b"".join(batch))
        # One short line per write: atomic on a pipe, so the two writers never interleave.
        self._loader.stdin.write(f"{file}\n")
        self._loader.stdin.flush()

    def finish(self, hashes: Mapping[str, str] | None = None) -> Path:
        """Wait for the loader, then put the store in place at ``path``.

        Raises:
            KgError: the writer or the loader failed or died (the caller may fall back to
                ``write_store``).
        """
        from kg.errors import KgError

        for writer in self._writers:
            writer.join()
        failed = [w.exitcode for w in self._writers if w.exitcode != 0]
        output, errors = "", ""
        if not failed:
            try:
                output, _ = self._loader.communicate("\n")
            except OSError as exc:
                errors = str(exc)
        self._errors.seek(0)
        errors += self._errors.read()
        if failed or self._loader.returncode != 0 or output.strip() != "ok":
            self.abandon()
            raise KgError(f"loading the store failed (writer exits {failed}, loader exit "
                          f"{self._loader.returncode}): {errors.strip()[-2000:]}")
        if hashes is not None:
            (self.folder / STAMP_FILE).write_text(store_stamp(hashes) + "\n", encoding="utf-8")
        with atomic_dir(self.path) as tmp:
            tmp.rmdir()
            self.folder.rename(tmp)
        return self.path

    def abandon(self) -> None:
        """Stop the writer and the loader, and remove what they wrote (a no-op after ``finish``)."""
        import shutil

        for writer in self._writers:
            if writer.is_alive():
                writer.kill()
                writer.join()
        if self._loader.poll() is None:
            self._loader.kill()
            self._loader.communicate()
        shutil.rmtree(self.folder, ignore_errors=True)
        for file in self.folder.parent.glob(f"{self.folder.name}.*.nq"):
            file.unlink(missing_ok=True)

