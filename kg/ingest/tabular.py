"""Read the source pipeline's tabular export (parquet or CSV) into ``Record``s.

Each file holds one kind of row, told by its name (``seeds`` = signals, ``mrg_concern``,
``mrg_issue``, ``mrg_behav``, ``mrg_tech``, or the plain plural); each row names its document
in ``src``.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError
from kg.ingest.decode import decode_bytes
from kg.ingest.markdown import COLUMN_ALIASES, parse_relevancy
from kg.text import clean_text
from kg.types import Problem, Record, RecordKind

__all__ = ["TABULAR_SUFFIXES", "TabularBatch", "is_tabular", "kind_of_table_file", "read_tabular"]

TABULAR_SUFFIXES = (".parquet", ".parquet.gzip", ".parquet.gz", ".csv")

_KIND_PATTERNS: tuple[tuple[str, RecordKind], ...] = (
    (r"seed|signal", RecordKind.SIGNAL),
    (r"concern", RecordKind.CONCERN),
    (r"behav", RecordKind.BEHAVIOR),
    (r"tech", RecordKind.TECHNOLOGY),
    (r"issue", RecordKind.ISSUE),
)
_DOC_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


@dataclass(frozen=True, slots=True)
class TabularBatch:
    """Rows read from one tabular file.

    Attributes:
        records: every usable row.
        problems: rows left out, with their row number and why.
    """

    records: tuple[Record, ...]
    problems: tuple[Problem, ...]


def is_tabular(path: Path) -> bool:
    """True when ``path`` names a parquet or CSV export file."""
    return path.name.lower().endswith(TABULAR_SUFFIXES)


def kind_of_table_file(path: Path) -> RecordKind:
    """Tell which table a file holds from its name.

    >>> kind_of_table_file(Path("mrg_behav.parquet.gzip"))
    <RecordKind.BEHAVIOR: 'behavior'>

    Raises:
        InputError: the name matches no kind.
    """
    stem = path.name.lower()
    for pattern, kind in _KIND_PATTERNS:
        if re.search(pattern, stem):
            return kind
    raise InputError(
        "cannot tell which table this export holds from its name; name it after one of "
        "seeds/signals, concerns, behaviors, technologies, issues",
        file=path.name,
    )


def read_tabular(path: Path, *, name: str | None = None) -> TabularBatch:
    """Read one parquet or CSV export file.

    Args:
        path: the file.
        name: how reports and the graph name it (default: ``path`` as given).

    Raises:
        InputError: the file cannot be read, its kind cannot be told, or it lacks ``src``.
    """
    shown = name or str(path)
    try:
        kind = kind_of_table_file(path)
    except InputError as exc:
        raise InputError(exc.reason, file=shown) from exc
    if path.name.lower().endswith(".csv"):
        rows, first_line = _csv_rows(path, shown), 2
    else:
        rows, first_line = _parquet_rows(path, shown), 1
    records: list[Record] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        line = index + first_line
        record = _record(kind, shown, line, row, problems)
        if record is not None:
            records.append(record)
    return TabularBatch(tuple(records), tuple(problems))


@functools.lru_cache(maxsize=1024)
def _column(head: object) -> str | None:
    return COLUMN_ALIASES.get(re.sub(r"[\s_]+", "-", str(head).strip().lower()))


def _record(kind: RecordKind, file: str, line: int, row: dict, problems: list[Problem]) -> Record | None:
    values: dict[str, str] = {}
    other: list[tuple[str, str]] = []
    relevancy_raw = None
    src = None
    for head, raw in row.items():
        if raw is None or (isinstance(raw, float) and math.isnan(raw)):
            continue
        value = clean_text(str(raw))
        if not value:
            continue
        column = _column(head)
        if column == "source_id":
            src = value
        elif column == "relevancy":
            relevancy_raw = value
        elif column is None:
            other.append((clean_text(str(head)), value))
        else:
            values.setdefault(column, value)
    if src is None or not _DOC_ID.fullmatch(src):
        problems.append(Problem(file, line, f"row has no usable src document id ({src!r}); skipped"))
        return None
    relevancy = None
    if relevancy_raw is not None:
        relevancy = parse_relevancy(relevancy_raw)
        if relevancy is None:
            problems.append(Problem(file, line, f"relevancy {relevancy_raw!r} is not an integer from 0 to 5; left out", "warning"))
    if not values and not other:
        problems.append(Problem(file, line, "row has no cells besides src; skipped", "warning"))
        return None
    return Record(doc_id=src, kind=kind, file=file, line=line, relevancy=relevancy, other=tuple(other), **values)


def _parquet_rows(path: Path, shown: str) -> Iterator[dict]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
        raise InputError("reading parquet needs pyarrow: pip install pyarrow", file=shown) from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise InputError(f"not a readable parquet file: {exc}", file=shown) from exc
    if "src" not in table.column_names:
        raise InputError(f"no 'src' column (columns: {', '.join(table.column_names)})", file=shown)
    for batch in table.to_batches(max_chunksize=10_000):
        yield from batch.to_pylist()


def _csv_rows(path: Path, shown: str) -> Iterable[dict]:
    # Decoded whole, as a document is, so that bad bytes anywhere are an error naming their line
    # before any row is used, not an exception escaping mid-file.
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read CSV: {exc.strerror}", file=shown) from exc
    reader = csv.DictReader(io.StringIO(decode_bytes(data, shown), newline=""))
    try:
        if reader.fieldnames is None or "src" not in reader.fieldnames:
            raise InputError(f"no 'src' column (header: {reader.fieldnames})", file=shown, line=1)
        yield from reader
    except csv.Error as exc:  # e.g. a cell past the csv module's field size limit
        raise InputError(f"cannot read CSV: {exc}", file=shown, line=reader.reader.line_num) from exc
