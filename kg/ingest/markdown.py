"""Read one foresight summary (either format generation) into a ``ParsedDoc``.

Tables, lists and headings come from markdown-it's token stream, never from regexes over lines;
the only line-level look is counting a row's raw cells to report ragged rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from kg.errors import ParseError
from kg.ingest.decode import decode_bytes
from kg.ingest.language import LANGUAGE_NAMES, detect_language
from kg.text import clean_text
from kg.types import ClosestLink, ParsedDoc, Problem, Record, RecordKind, SourceDoc

__all__ = ["COLUMN_ALIASES", "SECTION_KINDS", "parse_document", "parse_text", "document_id"]

# Raw HTML stays text: a cell saying `<img onerror=…>` is data, escaped by every writer.
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")

SECTION_KINDS: dict[str, RecordKind] = {
    "signals": RecordKind.SIGNAL,
    "signal": RecordKind.SIGNAL,
    "concerns": RecordKind.CONCERN,
    "behaviors": RecordKind.BEHAVIOR,
    "behaviours": RecordKind.BEHAVIOR,
    "technologies": RecordKind.TECHNOLOGY,
    "issues": RecordKind.ISSUE,
}
_TEXT_SECTIONS = {"keywords", "themes", "other", "summary", "closest"}

COLUMN_ALIASES: dict[str, str] = {
    "name": "name",
    "signal": "name",
    "title": "name",
    "description": "description",
    "change": "change",
    "10-year": "ten_year",
    "10y-horizon": "ten_year",
    "10-year-horizon": "ten_year",
    "10-year-outlook": "ten_year",
    "ten-year": "ten_year",
    "10y": "ten_year",
    "driving-force": "driving_force",
    "driving-forces": "driving_force",
    "relevancy": "relevancy",
    "relevance": "relevancy",
    "src": "source_id",
}

_HEX_ID = re.compile(r"[0-9a-f]{32}")
_ISSUE_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})[a-z]?")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_TITLE_TAIL = re.compile(r",?\s*\(?\s*from(\s+page)?\s*\(?\s*$", re.IGNORECASE)
# Runs of whitespace are folded to one space before _TITLE_TAIL applies: on a long run its
# adjacent `\s*`s backtrack in cubic time (5,000 spaces in a title took minutes).
_SPACES = re.compile(r"\s+")
_LINE_END = re.compile(r"\r\n?|\n")
# markdown-it stops reading blocks nested this deep and silently drops what the container holds.
_MAX_NESTING = int(_MD.options["maxNesting"])
_CONTAINERS = frozenset({"blockquote_open", "bullet_list_open", "ordered_list_open", "list_item_open"})


def document_id(stem: str, data: bytes) -> str:
    """The file stem when it is a 32-hex source id, else the first 32 hex of the content's SHA-256.

    >>> document_id("0e850e13ca65ce51de13cd4e0ec85861", b"")
    '0e850e13ca65ce51de13cd4e0ec85861'
    >>> document_id("notes", b"abc")
    'ba7816bf8f01cfea414140de5dae2223'
    """
    if _HEX_ID.fullmatch(stem):
        return stem
    return hashlib.sha256(data).hexdigest()[:32]


def parse_document(path: Path, *, name: str | None = None) -> ParsedDoc:
    """Read and parse one markdown document.

    Args:
        path: the file.
        name: how reports and the graph name the file (default: ``path`` as given).

    Returns:
        The document, its rows and the warnings met while repairing them.

    Raises:
        ParseError: the file is empty, binary, not decodable, or has no recognisable section.
    """
    shown = name or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror}", file=shown) from exc
    text = decode_bytes(data, shown)
    return parse_text(text, file=shown, doc_id=document_id(path.stem, data), sha256=hashlib.sha256(data).hexdigest())


def parse_text(text: str, *, file: str, doc_id: str, sha256: str = "") -> ParsedDoc:
    """Parse a document already decoded to text. See ``parse_document``."""
    if not text.strip():
        raise ParseError("empty document", file=file)
    # The lines markdown-it numbers: split at line ends only (``str.splitlines`` also splits at
    # form feeds, vertical tabs, U+0085, U+2028…, which would shift every later line).
    lines = _LINE_END.split(text)
    tokens = _MD.parse(text)
    state = _DocState(file=file, doc_id=doc_id, lines=lines)
    state.walk(tokens)
    deep = next((t for t in tokens if t.type in _CONTAINERS and t.level >= _MAX_NESTING - 1), None)
    if deep is not None and deep.map:
        # The parser skips the rest of that container: for a list item, the rest of the document.
        first, last = deep.map[0] + 1, max(deep.map[1], deep.map[0] + 1)
        unread = f"line {first} is" if last == first else f"lines {first}-{last} are"
        state.warn(first, f"blockquotes or lists nested more than {_MAX_NESTING} levels deep: {unread} not read")
    if state.title is None and not state.sections_seen:
        raise ParseError(
            "no foresight summary found: no '# __Title__' line and none of the sections "
            "Keywords, Themes, Summary, Signals, Concerns, Behaviors, Technologies, Issues",
            file=file,
            line=1,
        )
    if state.title is None:
        state.warn(1, "no title line ('# __Title__, (from page [date](url).)'); the document has no title")
    summary = "\n\n".join(state.summary) or None
    language = detect_language(f"{state.title or ''}. {summary or ''}")
    if language not in (None, "en"):
        name = LANGUAGE_NAMES.get(language, language)
        state.warn(state.line_of.get("summary"), f"the document is in {name} ({language}), not English: its {name} text is "
                   "searched for known names only (gazetteers), not with the English name rules and barrier cues")
    doc = SourceDoc(
        doc_id=doc_id,
        file=file,
        sha256=sha256,
        format="legacy" if state.legacy else "current",
        title=state.title,
        newsletter_issue=state.issue,
        newsletter_date=parse_issue_date(state.issue),
        newsletter_url=state.issue_url,
        external_link=state.external_link,
        keywords=tuple(state.lists.get("keywords", ())),
        themes=tuple(state.lists.get("themes", ())),
        category=state.other.get("category"),
        doc_type=state.other.get("type"),
        summary=summary,
        closest=tuple(state.closest),
        language=language,
        line_of=tuple(sorted(state.line_of.items())),
    )
    return ParsedDoc(doc=doc, records=tuple(state.records), problems=tuple(state.problems))


def parse_issue_date(issue: str | None) -> dt.date | None:
    """The date a newsletter page id holds, if it holds a real one.

    >>> parse_issue_date("20250323d")
    datetime.date(2025, 3, 23)
    >>> parse_issue_date("5117.0") is None
    True
    """
    if not issue:
        return None
    match = _ISSUE_DATE.fullmatch(issue.strip())
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, link text kept, breaks as spaces."""
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


class _DocState:
    """Walks the token stream once, section by section."""

    def __init__(self, *, file: str, doc_id: str, lines: list[str]) -> None:
        self.file = file
        self.doc_id = doc_id
        self.lines = lines
        self.title: str | None = None
        self.issue: str | None = None
        self.issue_url: str | None = None
        self.legacy = False
        self.external_link: str | None = None
        self.section: str | None = None
        self.section_line = 0
        self.sections_seen: set[str] = set()
        self.lists: dict[str, list[str]] = {}
        self.other: dict[str, str] = {}
        self.summary: list[str] = []
        self.closest: list[ClosestLink] = []
        self.records: list[Record] = []
        self.problems: list[Problem] = []
        self.line_of: dict[str, int] = {}

    def warn(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message, "warning"))

    def walk(self, tokens: list[Token]) -> None:
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            line = tok.map[0] + 1 if tok.map else None
            if tok.type == "heading_open":
                inline = tokens[i + 1]
                if tok.tag == "h1" and self.title is None and self.section is None:
                    self._title(inline, line or 1)
                elif tok.tag == "h2":
                    self._enter_section(clean_text(inline_text(inline)), line or 1)
                i += 3
                continue
            if tok.type == "table_open":
                end = _closing(tokens, i, "table_close")
                self._table(tokens[i:end + 1], line or 1)
                i = end + 1
                continue
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                end = _closing(tokens, i, tok.type.replace("_open", "_close"))
                self._list(tokens[i:end + 1], line or 1)
                i = end + 1
                continue
            if tok.type == "paragraph_open":
                self._paragraph(tokens[i + 1], line or 1)
                i += 3
                continue
            i += 1

    def _title(self, inline: Token, line: int) -> None:
        children = inline.children or []
        strong: list[str] = []
        before_link: list[str] = []
        in_strong = False
        seen_strong = False
        link_href = None
        link_text: list[str] = []
        in_link = False
        for child in children:
            if child.type == "strong_open" and not seen_strong:
                in_strong = True
            elif child.type == "strong_close" and in_strong:
                in_strong, seen_strong = False, True
            elif child.type == "link_open" and link_href is None:
                link_href = str(child.attrs.get("href", ""))
                in_link = True
            elif child.type == "link_close":
                in_link = False
            elif child.type in ("text", "code_inline"):
                if in_link:
                    link_text.append(child.content)
                elif in_strong:
                    strong.append(child.content)
                elif link_href is None:
                    before_link.append(child.content)
        if strong:
            title = "".join(strong)
        else:
            title = _TITLE_TAIL.sub("", _SPACES.sub(" ", "".join(before_link)))
        self.title = clean_text(title) or None
        self.line_of["title"] = line
        raw_rest = inline.content
        self.legacy = bool(re.search(r"from\s*\(\s*\[", raw_rest)) and "from page" not in raw_rest
        if link_href is not None:
            self.issue = "".join(link_text).strip() or None
            self.issue_url = link_href or None
            if self.issue and parse_issue_date(self.issue) is None:
                self.warn(line, f"newsletter page id {self.issue!r} is not a date; kept as written")
        else:
            self.warn(line, "title line has no newsletter page link ('(from page [YYYYMMDD](url).)')")

    def _enter_section(self, heading: str, line: int) -> None:
        key = heading.strip().rstrip(":").lower()
        self.section = key
        self.section_line = line
        if key in SECTION_KINDS or key in _TEXT_SECTIONS:
            self.sections_seen.add(key)
            self.line_of.setdefault(key, line)
        else:
            self.warn(line, f"unknown section {heading!r}; its content is not used")

    def _paragraph(self, inline: Token, line: int) -> None:
        if self.section is None or self.external_link is None:
            for child in inline.children or ():
                if child.type == "link_open":
                    href = str(child.attrs.get("href", ""))
                    if "external link" in inline_text(inline).lower() and self.external_link is None:
                        self.external_link = href or None
                        self.line_of.setdefault("external_link", line)
                        return
        if self.section == "summary":
            text = clean_text(inline_text(inline))
            if text:
                self.summary.append(text)
                self.line_of.setdefault("summary_text", line)

    def _list(self, tokens: list[Token], line: int) -> None:
        items: list[tuple[str, Token | None, int]] = []
        depth = 0
        current: tuple[str, Token | None, int] | None = None
        for tok in tokens:
            if tok.type == "list_item_open":
                depth += 1
                if depth == 1:
                    current = ("", None, (tok.map[0] + 1) if tok.map else line)
            elif tok.type == "list_item_close":
                if depth == 1 and current is not None:
                    items.append(current)
                    current = None
                depth -= 1
            elif tok.type == "inline" and depth >= 1 and current is not None and current[1] is None:
                current = (inline_text(tok), tok, current[2])
        section = self.section
        if section in ("keywords", "themes"):
            self.lists.setdefault(section, []).extend(self._labels(items, line))
        elif section == "other":
            for text, _, item_line in items:
                key, sep, value = clean_text(text).partition(":")
                if sep and value.strip():
                    field = key.strip().lower()
                    if field in ("category", "type"):
                        self.other[field] = value.strip()
                    else:
                        self.warn(item_line, f"unknown field {key.strip()!r} in Other; not used")
        elif section == "closest":
            for _, inline, item_line in items:
                link = _first_link(inline)
                if link is None:
                    self.warn(item_line, "Closest entry without a link; skipped")
                    continue
                href, title = link
                target = href.strip().rsplit("/", 1)[-1].removesuffix(".md")
                if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", target):
                    self.warn(item_line, f"Closest link target {href!r} is not a document id; skipped")
                    continue
                self.closest.append(ClosestLink(clean_text(title), target, item_line))
        elif section in SECTION_KINDS:
            self.warn(line, f"a list in section {self.section!r} where a table was expected; not used")

    def _labels(self, items: list[tuple[str, Token | None, int]], line: int) -> list[str]:
        texts = [t for t, _, _ in items]
        # The source pipeline sometimes wrote a comma-separated string one character per bullet.
        # Markdown reads some of those characters as markup (`* -` opens a nested list, `*  ` is
        # an empty item for a space), so the characters are taken from each item's source line.
        short = sum(1 for t in texts if len(t.strip()) <= 1)
        if len(texts) >= 4 and short / len(texts) >= 0.8:
            joined = "".join(self._bullet_char(item_line, text) for text, _, item_line in items)
            self.warn(line, f"{self.section} list was split one character per bullet; rejoined as {joined[:60]!r}")
            parts = re.split(r"[,;]", joined)
        else:
            parts = texts
        labels = []
        for part in parts:
            label = clean_text(part)
            if label:
                labels.append(label)
        return labels

    def _bullet_char(self, line: int, text: str) -> str:
        raw = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        match = re.match(r"\s*[*+-](?: (.*))?$", raw)
        if match is None:
            return text or " "
        rest = match.group(1)
        return " " if rest is None or rest == "" or rest.isspace() else rest.strip()

    def _table(self, tokens: list[Token], line: int) -> None:
        kind = SECTION_KINDS.get(self.section or "")
        if kind is None:
            self.warn(line, f"table under section {self.section!r}, which holds no records; not used")
            return
        header: list[str] = []
        rows: list[tuple[int, list[str]]] = []
        row: list[str] | None = None
        row_line = line
        in_head = False
        for tok in tokens:
            if tok.type == "thead_open":
                in_head = True
            elif tok.type == "thead_close":
                in_head = False
            elif tok.type == "tr_open":
                row = []
                row_line = (tok.map[0] + 1) if tok.map else row_line
            elif tok.type == "inline" and row is not None:
                row.append(inline_text(tok))
            elif tok.type == "tr_close" and row is not None:
                if in_head:
                    header = row
                else:
                    rows.append((row_line, row))
                row = None
        columns: list[str | None] = []
        for cell in header:
            key = re.sub(r"[\s_]+", "-", clean_text(cell).lower())
            column = COLUMN_ALIASES.get(key)
            if column is None:
                self.warn(line, f"unknown column {clean_text(cell)!r} in {self.section} table; kept as 'other cell'")
            columns.append(column)
        for row_line, cells in rows:
            self._check_ragged(row_line, len(header))
            record = self._record(kind, row_line, header, columns, cells)
            if record is not None:
                self.records.append(record)

    def _check_ragged(self, row_line: int, width: int) -> None:
        raw = self.lines[row_line - 1].strip() if row_line - 1 < len(self.lines) else ""
        inner = raw[1:] if raw.startswith("|") else raw
        if inner.endswith("|") and not inner.endswith("\\|"):
            inner = inner[:-1]
        found = len(_UNESCAPED_PIPE.split(inner)) if raw else 0
        if found > width:
            extra = _UNESCAPED_PIPE.split(inner)[width:]
            lost = " | ".join(c.strip() for c in extra if c.strip())
            self.warn(row_line, f"row has {found} cells, header has {width}; extra cells dropped: {lost[:120]!r}")
        elif found < width:
            self.warn(row_line, f"row has {found} cells, header has {width}; missing cells left empty")

    def _record(
        self, kind: RecordKind, line: int, header: list[str], columns: list[str | None], cells: list[str]
    ) -> Record | None:
        values: dict[str, str] = {}
        other: list[tuple[str, str]] = []
        for head, column, cell in zip(header, columns, cells):
            value = clean_text(cell)
            if not value:
                continue
            if column is None:
                other.append((clean_text(head), value))
            elif column not in values:
                values[column] = value
        if not values and not other:
            self.warn(line, "empty table row; skipped")
            return None
        relevancy = None
        if "relevancy" in values:
            relevancy = parse_relevancy(values.pop("relevancy"), self, line)
        return Record(doc_id=self.doc_id, kind=kind, file=self.file, line=line, relevancy=relevancy, other=tuple(other), **values)


def parse_relevancy(raw: str, state: _DocState | None = None, line: int = 0) -> int | None:
    """Read a relevancy cell: ``4``, ``4.0`` → 4; anything else outside 0–5 → ``None`` with a warning."""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if value == value and value.is_integer() and 0 <= value <= 5:
        return int(value)
    if state is not None:
        state.warn(line, f"relevancy {raw!r} is not an integer from 0 to 5; left out")
    return None


def _closing(tokens: list[Token], start: int, close_type: str) -> int:
    depth = 0
    open_type = tokens[start].type
    for j in range(start, len(tokens)):
        if tokens[j].type == open_type:
            depth += 1
        elif tokens[j].type == close_type:
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def _first_link(inline: Token | None) -> tuple[str, str] | None:
    if inline is None:
        return None
    href = None
    text: list[str] = []
    for child in inline.children or ():
        if child.type == "link_open" and href is None:
            href = str(child.attrs.get("href", ""))
        elif child.type == "link_close" and href is not None:
            return href, "".join(text)
        elif href is not None and child.type in ("text", "code_inline"):
            text.append(child.content)
    return (href, "".join(text)) if href is not None else None


def iter_markdown_files(root: Path) -> Iterator[Path]:
    """Every ``.md``/``.markdown``/``.txt`` file under ``root``, sorted."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".md", ".markdown", ".txt"):
            yield path
