"""The incremental-build cache: what an earlier build into the same folder computed, keyed by
content hash, so that the next build redoes only what changed.

One SQLite file, ``DIR/cache.sqlite``, holds

* ``parsed``: each input file's parse, keyed by its name and bytes;
* ``scans``: each text batch's raw mentions, keyed by its text and holders;
* ``segments``: each named graph's hash, so ``graph.ttl`` is re-serialised only where a graph
  changed (the others' Turtle is copied from the last ``graph.ttl``, whose layout and stamp
  ``meta`` keeps) and the store is patched graph by graph;
* ``parts``: each document graph's ``GraphPart`` and where its N-Quads are in ``cache.nq``
  (the last build's segments, kept beside this file), keyed by everything it is made from
  (the document, its rows, its mentions and their entities' labels), so that an unchanged
  document's graph is not made again;
* ``meta``: the pipeline fingerprint (code, data, libraries, settings), the table terms the
  scans were made with, the stamp of the store the segments describe, and where each graph's
  Turtle is in ``graph.ttl``.

Everything is dropped when the fingerprint changes, so a new version of the pipeline never
reuses an old result. SQLite keeps the file consistent through a crash; a stale or damaged
cache only costs time, never changes an output.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import marshal
import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from pathlib import Path

from kg.gen_namespace import ONTOLOGY_DIR
from kg.types import GraphPart

__all__ = ["BuildCache", "chunks_key", "content_key", "pipeline_fingerprint"]

CACHE_NAME = "cache.sqlite"
SEGMENTS_NAME = "cache.nq"
# What the view read from each segment (see ``kg.analysis.project_segments``), written by the
# process that draws it.
VIEW_CACHE_NAME = "cache.view"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS parsed (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS scans (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS segments (graph TEXT PRIMARY KEY, hash TEXT, nquads BLOB);
CREATE TABLE IF NOT EXISTS parts (key TEXT PRIMARY KEY, part BLOB);
"""
_ROOT = Path(__file__).resolve().parent


def content_key(*parts: str | bytes) -> str:
    """A hash of ``parts``, each length-prefixed so that no two sequences collide by joining."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def chunks_key(chunks: Sequence[bytes]) -> str:
    """``content_key(b"".join(chunks))``, without joining them."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(sum(map(len, chunks)).to_bytes(8, "little"))
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def pipeline_fingerprint(extra: Iterable[str | bytes] = ()) -> str:
    """The pipeline's version: every source and data file of ``kg``, the ontology, the
    libraries whose output reaches the files, and ``extra`` (settings, gazetteer bytes)."""
    parts: list[str | bytes] = []
    for path in sorted(p for p in _ROOT.rglob("*") if p.is_file() and p.suffix in (".py", ".json", ".rq", ".ttl")
                       and p.relative_to(_ROOT).parts[0] != "_ontology"):  # read below, once
        parts += [path.relative_to(_ROOT).as_posix(), path.read_bytes()]
    for path in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        parts += [path.name, path.read_bytes()]
    for library in ("spacy", "pyoxigraph", "ftfy", "markdown-it-py", "pyarrow"):
        try:
            parts.append(f"{library}=={importlib.metadata.version(library)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{library} absent")
    parts.extend(extra)
    return content_key(*parts)


class BuildCache:
    """The cache of one output folder. Open with ``BuildCache.open``; ``commit`` at the end.

    ``clean=True`` starts from nothing (``kg build --clean``) and writes a fresh cache.
    """

    def __init__(self, connection: sqlite3.Connection, fingerprint: str, fresh: bool) -> None:
        self._db = connection
        self.fingerprint = fingerprint
        self.fresh = fresh
        self.hits = {"parsed": 0, "scans": 0, "parts": 0}
        self.misses = {"parsed": 0, "scans": 0, "parts": 0}
        # The keys this build read or wrote, by table; ``commit`` drops the others. Kept here,
        # not marked in the tables: marking a corpus's rows cost more than reading them.
        self._used: dict[str, set[str]] = {"parsed": set(), "scans": set(), "parts": set()}

    @classmethod
    def open(cls, folder: Path, fingerprint: str, *, clean: bool = False) -> BuildCache:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CACHE_NAME
        try:
            db = _connect(path)
            stored = db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        except sqlite3.DatabaseError:
            # A damaged cache is only lost time: start again.
            path.unlink(missing_ok=True)
            db, stored = _connect(path), None
        fresh = clean or stored is None or stored[0] != fingerprint.encode()
        if fresh:
            with db:
                # Dropped, not emptied: another version of the code may have laid them out otherwise.
                for table in ("meta", "parsed", "scans", "segments", "parts"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            db.executescript(_SCHEMA)
            with db:
                db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint.encode(),))
        return cls(db, fingerprint, fresh)

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> object | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return pickle.loads(row[0]) if row else None

    def put_meta(self, key: str, value: object) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, pickle.dumps(value, protocol=5)))

    # ------------------------------------------------------------------ parsed inputs

    def get_parsed(self, key: str) -> object | None:
        row = self._db.execute("SELECT value FROM parsed WHERE key=?", (key,)).fetchone()
        if row is None:
            self.misses["parsed"] += 1
            return None
        self.hits["parsed"] += 1
        self._used["parsed"].add(key)
        return pickle.loads(row[0])

    def put_parsed(self, key: str, value: object) -> None:
        self._used["parsed"].add(key)
        self._db.execute("INSERT OR REPLACE INTO parsed VALUES (?, ?)", (key, pickle.dumps(value, protocol=5)))

    # ------------------------------------------------------------------ scans

    def get_scans(self, keys: Sequence[str]) -> dict[str, object]:
        """The cached scans among ``keys`` (marshal-able values)."""
        found = {key: marshal.loads(value) for key, value in self._select("scans", "value", keys)}
        self.hits["scans"] += len(found)
        self.misses["scans"] += len(set(keys)) - len(found)
        return found

    def put_scans(self, items: Iterable[tuple[str, object]]) -> None:
        rows = [(key, marshal.dumps(value)) for key, value in items]
        self._used["scans"].update(key for key, _ in rows)
        self._db.executemany("INSERT OR REPLACE INTO scans VALUES (?, ?)", rows)

    # ------------------------------------------------------------------ document graphs

    def get_parts(self, keys: Sequence[str]) -> dict[str, tuple[GraphPart, int, int]]:
        """The cached parts among ``keys``, each with the offset and length of its N-Quads in
        ``SEGMENTS_NAME`` as ``segments_stamp`` found it."""
        return {key: GraphPart.unpacked(marshal.loads(value)) for key, value in self._select("parts", "part", keys)}

    def put_parts(self, items: Iterable[tuple[str, GraphPart, int, int]], stamp: tuple[int, int]) -> None:
        """Keep (key, part, offset, length) items, describing the segments file whose
        (size, mtime_ns) is ``stamp``."""
        rows = [(key, marshal.dumps(part.packed(offset, length))) for key, part, offset, length in items]
        self._used["parts"].update(key for key, _ in rows)
        self._db.executemany("INSERT OR REPLACE INTO parts VALUES (?, ?)", rows)
        self.put_meta("segments stamp", stamp)

    def segments_stamp(self) -> tuple[int, int] | None:
        """The (size, mtime_ns) of the segments file the parts describe."""
        stamp = self.get_meta("segments stamp")
        return tuple(stamp) if stamp else None

    # ------------------------------------------------------------------ graph segments

    def segment_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT graph, hash FROM segments"))

    def turtle_spans(self) -> tuple[tuple[int, int] | None, dict[str, tuple[int, int]]]:
        """Where each graph's Turtle is in the last build's ``graph.ttl`` (graph → (offset,
        length)), and the (size, mtime_ns) that file had then."""
        found = self.get_meta("turtle spans")
        return (tuple(found[0]), found[1]) if found else (None, {})

    def put_turtle_spans(self, stamp: tuple[int, int], spans: dict[str, tuple[int, int]]) -> None:
        self.put_meta("turtle spans", (stamp, spans))

    def segment_nquads(self, graph: str) -> bytes | None:
        row = self._db.execute("SELECT nquads FROM segments WHERE graph=?", (graph,)).fetchone()
        return row[0] if row and row[0] is not None else None

    def put_segments(self, rows: Iterable[tuple[str, str, bytes | None]], keep: Iterable[str]) -> None:
        """Keep the segments of the graphs in ``keep``, replaced by ``rows`` of (graph, hash,
        nquads-or-None) where given; drop the others."""
        kept = set(keep)
        gone = [(name,) for (name,) in self._db.execute("SELECT graph FROM segments") if name not in kept]
        self._db.executemany("DELETE FROM segments WHERE graph=?", gone)
        self._db.executemany("INSERT OR REPLACE INTO segments VALUES (?, ?, ?)", rows)

    def _select(self, table: str, column: str, keys: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """(key, ``column``) of the rows of ``table`` among ``keys``, which are marked used."""
        wanted = set(keys)
        used = self._used[table]
        if len(wanted) * 4 >= self._count(table):
            # Most of the table is wanted (a rebuild): one pass over it is several times
            # faster than looking each key up.
            rows = (row for row in self._db.execute(f"SELECT key, {column} FROM {table}") if row[0] in wanted)
        else:
            rows = (row for chunk in _chunks(sorted(wanted), 900)
                    for row in self._db.execute(f"SELECT key, {column} FROM {table} WHERE key IN ({','.join('?' * len(chunk))})", chunk))
        for key, value in rows:
            used.add(key)
            yield key, value

    def _count(self, table: str) -> int:
        return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # ------------------------------------------------------------------ end

    def commit(self) -> None:
        """Drop entries this build did not use (deleted or changed inputs) and save."""
        with self._db:
            for table, used in self._used.items():
                stale = [(key,) for (key,) in self._db.execute(f"SELECT key FROM {table}") if key not in used]
                self._db.executemany(f"DELETE FROM {table} WHERE key=?", stale)
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def save(self) -> None:
        """Save what was put since the last ``commit``, dropping nothing."""
        self._db.commit()

    def close(self) -> None:
        with closing(self._db):
            pass


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    return db


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
