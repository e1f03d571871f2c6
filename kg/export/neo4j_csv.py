"""CSV files for Neo4j's bulk loader, ``neo4j-admin database import full``, and the command.

One node file per label set (``nodes/Signal.csv``, header ``uri:ID,:LABEL,…``) and one
relationship file per type (``relationships/document.csv``, header ``:START_ID,:END_ID,:TYPE``),
with typed headers (``relevancy:int``, ``newsletterDate:date``, ``altLabel:string[]``). Strings
are always quoted (so leading spaces and empty strings survive), quotes doubled; an array
delimiter is chosen that no array value contains.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ExportError, UsageError
from kg.export.base import Dataset, ExportOptions, ExportResult, require_out
from kg.export.cypher import CONSTRAINT
from kg.export.property_graph import BASE_LABEL, URI_KEY, PgProperty, PropertyGraph, Value, project_property_graph
from kg.fsutil import atomic_dir

__all__ = [
    "ARRAY_DELIMITERS",
    "SCRIPT_NAME",
    "CsvLayout",
    "choose_array_delimiter",
    "export_neo4j_csv",
    "header_field",
    "import_command",
    "write_neo4j_csv",
]

# Printable ASCII first, so the command stays easy to type; the unit separator last.
ARRAY_DELIMITERS = (";", "|", "^", "~", "\x1f")
SCRIPT_NAME = "neo4j-admin-import.sh"


@dataclass(frozen=True)
class CsvLayout:
    """The files one export wrote and how ``neo4j-admin`` must read them.

    Attributes:
        nodes: (labels including ``Resource``, file relative to the folder), one per label set.
        relationships: (type, file relative to the folder), one per type.
        array_delimiter: the character between array elements (and between labels).
        multiline: some value holds a line break, so ``--multiline-fields=true`` is needed.
    """

    nodes: tuple[tuple[tuple[str, ...], str], ...]
    relationships: tuple[tuple[str, str], ...]
    array_delimiter: str
    multiline: bool


def header_field(prop: PgProperty) -> str:
    """The column header for ``prop``: the name, plus ``:type`` unless it is a plain string.

    >>> header_field(PgProperty("relevancy", "", "int"))
    'relevancy:int'
    >>> header_field(PgProperty("altLabel", "", "string", array=True))
    'altLabel:string[]'
    >>> header_field(PgProperty("label", "", "string"))
    'label'
    """
    if prop.kind == "string" and not prop.array:
        return prop.key
    return f"{prop.key}:{prop.kind}{'[]' if prop.array else ''}"


def choose_array_delimiter(graph: PropertyGraph) -> str:
    """The first of ``ARRAY_DELIMITERS`` that no string array element contains.

    Raises:
        ExportError: every candidate occurs in some value.
    """
    arrays = {p.key for p in graph.properties if p.array and p.kind == "string"}
    used: set[str] = set()
    for node in graph.nodes:
        for key, value in node.properties:
            if key in arrays:
                for item in value:
                    used.update(c for c in ARRAY_DELIMITERS if c in item)
    for candidate in ARRAY_DELIMITERS:
        if candidate not in used:
            return candidate
    raise ExportError(f"every array delimiter candidate {ARRAY_DELIMITERS!r} occurs in some array value")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _scalar(value: str | int | dt.date) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _field(value: Value | None, prop: PgProperty, delimiter: str) -> str:
    if value is None:
        return ""
    if prop.array:
        return _quote(delimiter.join(_scalar(v) for v in value))
    return _quote(value) if prop.kind == "string" else _scalar(value)


def _has_line_break(value: Value) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in items)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")


def _write_files(graph: PropertyGraph, folder: Path, delimiter: str) -> CsvLayout:
    props = {p.key: p for p in graph.properties}
    multiline = False
    node_files: list[tuple[tuple[str, ...], str]] = []
    for labels, members in graph.nodes_by_labels().items():
        keys = sorted({key for n in members for key, _ in n.properties})
        all_labels = (BASE_LABEL, *labels)
        lines = [",".join([f"{URI_KEY}:ID", ":LABEL", *(header_field(props[k]) for k in keys)])]
        for node in members:
            values = dict(node.properties)
            multiline = multiline or any(_has_line_break(v) for v in values.values())
            cells = [_quote(node.uri), delimiter.join(all_labels)]
            cells.extend(_field(values.get(k), props[k], delimiter) for k in keys)
            lines.append(",".join(cells))
        # "-" cannot occur in a label, and unlike "+" it means nothing in the file patterns
        # neo4j-admin accepts.
        name = f"nodes/{'-'.join(labels) or BASE_LABEL}.csv"
        _write_lines(folder / name, lines)
        node_files.append((all_labels, name))
    rel_files: list[tuple[str, str]] = []
    for rel_type, edges in graph.edges_by_type().items():
        lines = [":START_ID,:END_ID,:TYPE"]
        lines.extend(f"{_quote(e.start)},{_quote(e.end)},{rel_type}" for e in edges)
        name = f"relationships/{rel_type}.csv"
        _write_lines(folder / name, lines)
        rel_files.append((rel_type, name))
    return CsvLayout(tuple(node_files), tuple(rel_files), delimiter, multiline)


def _delimiter_option(delimiter: str) -> str:
    # neo4j-admin reads "U+XXXX" for characters a shell or terminal would mangle.
    shown = delimiter if delimiter.isprintable() else f"U+{ord(delimiter):04X}"
    return f"--array-delimiter={shown}"


def import_command(layout: CsvLayout, database: str, folder: str = ".") -> str:
    """The ``neo4j-admin database import full`` command that loads ``layout`` from ``folder``.

    Every option the files depend on is spelled out, defaults included, so the command does not
    change meaning with the Neo4j version's defaults.
    """
    base = folder.rstrip("/") or "/"
    args = [
        "neo4j-admin", "database", "import", "full",
        "--delimiter=,", _delimiter_option(layout.array_delimiter), '--quote="',
        "--id-type=string", "--trim-strings=false",
        f"--multiline-fields={'true' if layout.multiline else 'false'}",
    ]
    args.extend(f"--nodes={':'.join(labels)}={base}/{name}" for labels, name in layout.nodes)
    args.extend(f"--relationships={rel_type}={base}/{name}" for rel_type, name in layout.relationships)
    args.append(database)
    return " ".join(shlex.quote(arg) for arg in args)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_target(folder: Path) -> None:
    # The folder is replaced whole; refuse to replace one this export did not write.
    if folder.is_file() or (folder.is_dir() and any(folder.iterdir()) and not (folder / SCRIPT_NAME).is_file()):
        raise UsageError(f"{folder}: exists and is not a neo4j-csv export; choose a new or empty folder")


def write_neo4j_csv(graph: PropertyGraph, folder: Path, *, database: str = "neo4j") -> CsvLayout:
    """Write the CSV files and ``neo4j-admin-import.sh`` into ``folder``, replacing it whole.

    Raises:
        UsageError: ``folder`` holds something other than a previous export.
    """
    _check_target(folder)
    delimiter = choose_array_delimiter(graph)
    with atomic_dir(folder) as tmp:
        # The temporary folder is private (0700); neo4j-admin often runs as another user.
        tmp.chmod(0o777 & ~_umask())
        layout = _write_files(graph, tmp, delimiter)
        script = tmp / SCRIPT_NAME
        script.write_text(
            "#!/bin/sh\n"
            "# Load this folder into a new Neo4j 5 database (written by `kg export neo4j-csv`);\n"
            f"# then, with the database started, run: {CONSTRAINT};\n"
            'set -e\ncd "$(dirname "$0")"\n'
            f'{import_command(layout, database)} "$@"\n',
            encoding="utf-8",
        )
        script.chmod(0o755)
    return layout


def export_neo4j_csv(dataset: Dataset, options: ExportOptions) -> ExportResult:
    """``kg export neo4j-csv --out DIR``: the bulk-import files, and the command to load them."""
    folder = require_out(options, "neo4j-csv", "FOLDER")
    graph = project_property_graph(dataset)
    layout = write_neo4j_csv(graph, folder, database=options.database)
    # neo4j-admin splits --nodes values at "=" and ","; a folder name holding one is reached by cd.
    command = (
        f"cd {shlex.quote(str(folder))} && {import_command(layout, options.database)}"
        if any(c in str(folder) for c in ",=")
        else import_command(layout, options.database, str(folder))
    )
    return ExportResult(
        target="neo4j-csv",
        outputs=(folder,),
        counts=(("nodes", len(graph.nodes)), ("relationships", len(graph.edges)),
                ("files", len(layout.nodes) + len(layout.relationships))),
        notes=(
            command,
            f"then, with the database started: {CONSTRAINT};",
        ),
    )
