"""Hostile inputs for the robustness suite (issue 9), shared by ``tests/test_hostile.py`` and
``benchmarks/bench_hostile.py``.

``HOSTILE`` maps a name to a function that writes that input into a folder and returns the paths
it wrote. Content is built from the example corpus (``examples/corpus/``) or is synthetic, and is
the same on every run: no randomness without a fixed seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["EXAMPLES", "HOSTILE", "NAMES", "TEN_MB", "TABLE_ROWS", "example_text", "write_all"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "corpus"
# A current-format example (Keywords, Themes, Other, Summary and five tables).
TEMPLATE = "ec39d07e862c313cec8e88471dd089e7.md"
TEN_MB = 10 * 1024 * 1024
TABLE_ROWS = 10_000
DEPTH = 10_000

# Names an attacker would try on the writers and the query layers: HTML/JS for the views,
# SPARQL and Turtle for the RDF outputs and the store, Cypher for the Neo4j export.
NAMES = (
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(document.cookie)>',
    "javascript:alert(1)",
    '} ; DROP ALL ; INSERT DATA { <http://e.org/a> <http://e.org/b> "c" } #',
    "?s ?p ?o . FILTER(true) } UNION { SELECT * WHERE { ?x ?y ?z }",
    "'}) MATCH (n) DETACH DELETE n //",
    '" OR 1=1 RETURN n; CREATE (x:Pwned {a: "b"}) //',
    '""" . @prefix evil: <http://evil.example/> . evil:a evil:b "c" .',
    "<http://e.org/s> a <http://e.org/C> ; _:b0 ^^xsd:integer @en",
)
# C0 and C1 controls, and the bidi controls that reorder how text is shown.
CONTROLS = "\x01\x02\x07\x08\x0b\x0c\x1b\x7f\x85\x9b"
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"

Writer = Callable[[Path], list[Path]]


def example_text(name: str = TEMPLATE) -> str:
    """The text of one example document."""
    return (EXAMPLES / name).read_text(encoding="utf-8")


def _put(folder: Path, name: str, data: bytes | str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return [path]


# Non-ASCII prose the parser keeps as it is (no mojibake for the repair step to change).
UNICODE_SENTENCE = ("Caf\u00e9 owners in Z\u00fcrich and \u0141\u00f3d\u017a call the na\u00efve fa\u00e7ade "
                    "\u201cquoted\u201d \u2013 r\u00e9sum\u00e9 \u2713 \u65e5\u672c\u8a9e \u05e2\u05d1\u05e8\u05d9\u05ea.")


def _sentences() -> list[str]:
    """Every sentence of the examples' Summary sections, the prose the big inputs repeat; but
    not the deliberate mojibake of one example, which the parser repairs rather than keeps."""
    found: list[str] = []
    for path in sorted(EXAMPLES.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
        found.extend(s.strip() for s in re.split(r"(?<=\.)\s+", summary) if len(s.strip()) > 20 and "\u00e2\u20ac" not in s)
    return found + [UNICODE_SENTENCE]


def _doc(title: str, *, summary: str = "A short synthetic summary.", body: str = "", keywords=("synthetic",)) -> str:
    """A small current-format document."""
    bullets = "\n".join(f"* {k}" for k in keywords)
    return (
        f"# __{title}__, (from page [20240407](https://example.org/p/20240407).)\n\n"
        "__[External link](https://example.org/source)__\n\n"
        f"## Keywords\n\n{bullets}\n\n## Themes\n\n* robustness\n\n## Summary\n\n{summary}\n\n{body}"
    )


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


# --- bytes that are not a UTF-8 markdown document -------------------------------------------

def empty(folder: Path) -> list[Path]:
    """A file of zero bytes."""
    return _put(folder, "empty.md", b"")


def blank(folder: Path) -> list[Path]:
    """Only whitespace and line ends."""
    return _put(folder, "blank.md", b" \n\t\r\n  \n")


def binary(folder: Path) -> list[Path]:
    """A PNG header and 64 KB of random bytes under a .md name."""
    noise = random.Random(9).randbytes(64 * 1024)
    return _put(folder, "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + noise)


def nul_late(folder: Path) -> list[Path]:
    """A good document with a NUL byte in a table row past the first 8 KB (where the binary
    sniff looks): markdown reads NUL as U+FFFD."""
    data = example_text().encode("utf-8")
    assert len(data) > 8192 and data.rstrip().endswith(b"|")
    return _put(folder, "nul-late.md", data.rstrip() + b"\n| NUL \x00 byte | A row holding a NUL byte | 3 |\n")


def invalid_utf8(folder: Path) -> list[Path]:
    """A good document with two bytes that are not UTF-8 in the middle of its Summary."""
    data = example_text().encode("utf-8")
    at = data.index(b"## Summary") + len(b"## Summary\n\n")
    return _put(folder, "invalid-utf8.md", data[:at] + b"Caf\xe9 \xff\xfe " + data[at:])


def latin1(folder: Path) -> list[Path]:
    """A document saved as Latin-1 (its accented letters are not UTF-8)."""
    text = _doc("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e", summary="D\u00e9j\u00e0 vu, na\u00efve fa\u00e7ade.")
    return _put(folder, "latin1.md", text.encode("latin-1"))


def utf16_bom(folder: Path) -> list[Path]:
    """A good document as UTF-16 little-endian with its BOM and CRLF line ends."""
    return _put(folder, "utf16-le-bom.md", example_text().replace("\n", "\r\n").encode("utf-16"))


def utf16_be_bom(folder: Path) -> list[Path]:
    """A good document as UTF-16 big-endian with its BOM."""
    return _put(folder, "utf16-be-bom.md", b"\xfe\xff" + example_text().encode("utf-16-be"))


def utf16_no_bom(folder: Path) -> list[Path]:
    """UTF-16 without a BOM: NUL bytes from the first character on."""
    return _put(folder, "utf16-no-bom.md", example_text().encode("utf-16-le"))


def utf16_truncated(folder: Path) -> list[Path]:
    """UTF-16 with a BOM whose last code unit is cut in half."""
    return _put(folder, "utf16-truncated.md", example_text().encode("utf-16")[:-1])


def utf8_bom(folder: Path) -> list[Path]:
    """A good document with a UTF-8 BOM."""
    return _put(folder, "utf8-bom.md", b"\xef\xbb\xbf" + example_text().encode("utf-8"))


def utf32_bom(folder: Path) -> list[Path]:
    """A good document as UTF-32 with its BOM."""
    return _put(folder, "utf32-bom.md", example_text().encode("utf-32"))


def crlf(folder: Path) -> list[Path]:
    """A good document with Windows line ends."""
    return _put(folder, "crlf.md", example_text().replace("\n", "\r\n"))


def cr_only(folder: Path) -> list[Path]:
    """A good document with classic Mac line ends (CR alone)."""
    return _put(folder, "cr-only.md", example_text().replace("\n", "\r"))


def prose(folder: Path) -> list[Path]:
    """Text with no title and no known section: not a foresight summary."""
    return _put(folder, "prose.md", " ".join(_sentences()[:5]) + "\n")


# --- size ----------------------------------------------------------------------------------

def big_document(folder: Path) -> list[Path]:
    """A 10 MB document: the template with its Summary grown to 10 MB of example sentences."""
    text = example_text()
    head, rest = text.split("## Summary\n\n", 1)
    _, tail = rest.split("\n\n", 1)
    sentences = _sentences()
    room = TEN_MB - len((head + tail).encode("utf-8")) - 4
    parts: list[str] = []
    size, i = 0, 0
    while True:
        # A paragraph break every 40 sentences, as a long summary would have.
        piece = sentences[i % len(sentences)] + ("\n\n" if i % 40 == 39 else " ")
        if size + len(piece.encode("utf-8")) > room:
            break
        parts.append(piece)
        size += len(piece.encode("utf-8"))
        i += 1
    summary = "".join(parts).strip()
    data = f"{head}## Summary\n\n{summary}\n\n{tail}".encode("utf-8")
    data += b" " * (TEN_MB - len(data) - 1) + b"\n"
    return _put(folder, "big-10mb.md", data)


def table_10k(folder: Path) -> list[Path]:
    """A Signals table of 10,000 distinct rows."""
    sentences = _sentences()
    rows = [
        f"| Signal {i:05d} | {_cell(sentences[i % len(sentences)])} | From A{i} to B{i} | C{i} | Force {i % 97} | {i % 6} |"
        for i in range(TABLE_ROWS)
    ]
    table = "| name | description | change | 10-year | driving-force | relevancy |\n|:--|:--|:--|:--|:--|--:|\n" + "\n".join(rows)
    return _put(folder, "table-10k.md", _doc("Ten thousand signals", body=f"## Signals\n\n{table}\n"))


def long_title(folder: Path) -> list[Path]:
    """A title line holding a 1 MB run of spaces (slow regexes backtrack on such runs)."""
    text = example_text()
    first, rest = text.split("\n", 1)
    first = first.replace("National Audit", "National" + " " * (1024 * 1024) + "Audit", 1)
    return _put(folder, "long-title.md", first + "\n" + rest)


def long_word(folder: Path) -> list[Path]:
    """A Summary holding one 1 MB 'word' of letters, dots and hyphens, and no spaces."""
    text = example_text()
    word = ("ab.cd-EF" * (1024 * 1024 // 8))
    return _put(folder, "long-word.md", text.replace("## Summary\n\n", f"## Summary\n\n{word}\n\n", 1))


# --- markdown structure --------------------------------------------------------------------

def _nested(folder: Path, name: str, body: str) -> list[Path]:
    return _put(folder, name, _doc(f"Deep {name}", body=f"## Summary\n\nAfter the intro.\n\n{body}\n\n## Signals\n\n"
                                   "| name | description |\n|:--|:--|\n| Still read | The table after the deep part |\n"))


def deep_blockquote(folder: Path) -> list[Path]:
    """10,000 levels of ``>`` blockquotes on one line."""
    return _nested(folder, "deep-blockquote.md", ">" * DEPTH + " deep text")


def deep_list(folder: Path) -> list[Path]:
    """10,000 levels of nested bullet lists (``* * * …``) on one line."""
    return _nested(folder, "deep-list.md", "* " * DEPTH + "deep item")


def deep_ordered(folder: Path) -> list[Path]:
    """10,000 levels of nested ordered lists (``1. 1. …``) on one line."""
    return _nested(folder, "deep-ordered.md", "1. " * DEPTH + "deep item")


def deep_brackets(folder: Path) -> list[Path]:
    """10,000 nested, unmatched and chained ``[``, ``](`` and ``![`` in a Summary."""
    lines = ["[" * DEPTH + "x" + "]" * DEPTH, "[" * DEPTH, "[a](" * DEPTH, "![" * DEPTH]
    return _nested(folder, "deep-brackets.md", "\n\n".join(lines))


def deep_backticks(folder: Path) -> list[Path]:
    """A 10,000-backtick run, and code spans opened by runs of every length up to 999."""
    lines = ["`" * DEPTH + " x " + "``" * (DEPTH // 2), " ".join("`" * i for i in range(1, 1000))]
    return _nested(folder, "deep-backticks.md", "\n\n".join(lines))


def deep_emphasis(folder: Path) -> list[Path]:
    """10,000 ``*`` and ``_`` markers, nested and interleaved."""
    lines = ["*" * DEPTH + "x" + "_" * DEPTH, "*a _b " * DEPTH, "**_" * DEPTH + "x"]
    return _nested(folder, "deep-emphasis.md", "\n\n".join(lines))


def deep_entities(folder: Path) -> list[Path]:
    """10,000 ``<``, ``&``, ``&#`` and backslashes."""
    lines = ["<" * DEPTH, "&" * DEPTH + "&#" * DEPTH, "\\" * DEPTH]
    return _nested(folder, "deep-entities.md", "\n\n".join(lines))


def ragged(folder: Path) -> list[Path]:
    """A table whose rows have too many and too few cells, with escaped pipes in cells."""
    table = (
        "| name | description | relevancy |\n|:--|:--|--:|\n"
        "| Too many | cells here | 3 | lost one | lost two |\n"
        "| Too few |\n"
        "| Escaped \\| pipe | a \\| b \\| c | 2 |\n"
        "| Trailing backslash \\\\ | ends in a backslash \\\\| 1 |\n"
        "|  |  |  |\n"
    )
    return _put(folder, "ragged.md", _doc("Ragged rows", body=f"## Concerns\n\n{table}"))


def unknown_headers(folder: Path) -> list[Path]:
    """Unknown sections, unknown table columns, a table under a text section, a list where a
    table belongs, an unknown field in Other."""
    body = (
        "## Other\n\n* Category: tech\n* Colour: blue\n\n"
        "## Gossip\n\nNot a section we know.\n\n"
        "## Signals\n\n| name | weirdness | 🙂 | relevancy |\n|:--|:--|:--|--:|\n| Odd | very | yes | seven |\n\n"
        "## Keywords\n\n| a | b |\n|--|--|\n| 1 | 2 |\n\n"
        "## Concerns\n\n* a list, not a table\n"
    )
    return _put(folder, "unknown-headers.md", _doc("Unknown headers", body=body))


# --- identity ------------------------------------------------------------------------------

def duplicate_same_bytes(folder: Path) -> list[Path]:
    """The same bytes saved under two names: one document, merged with a warning."""
    text = _doc("Saved twice", summary="The same document saved under two names.")
    return _put(folder, "dup-copy-a.md", text) + _put(folder, "dup-copy-b.md", text)


def duplicate_same_id(folder: Path) -> list[Path]:
    """Two files with the same 32-hex id (their stem) in two folders, with other content."""
    stem = "0123456789abcdef0123456789abcdef"
    first = _put(folder / "dup-id-a", f"{stem}.md", _doc("First of two", summary="The first file with this id."))
    second = _put(folder / "dup-id-b", f"{stem}.md", _doc("Second of two", summary="Another file with the same id."))
    return first + second


# --- names ---------------------------------------------------------------------------------

def hostile_names(folder: Path) -> list[Path]:
    """HTML/JS, SPARQL, Cypher and Turtle fragments as title, keywords, themes and row names."""
    rows = "\n".join(f"| {_cell(n)} | {_cell(n[::-1])} | {i % 6} |" for i, n in enumerate(NAMES))
    text = _doc(
        NAMES[0].replace("_", " "),
        summary=" ".join(NAMES),
        keywords=NAMES,
        body=f"## Signals\n\n| name | description | relevancy |\n|:--|:--|--:|\n{rows}\n",
    )
    return _put(folder, "hostile-names.md", text)


def hostile_filename(folder: Path) -> list[Path]:
    """A good document whose file name is HTML, SPARQL and Turtle."""
    return _put(folder, "x\"><img src=x onerror=alert(1)> } ; DROP ALL #'.md", _doc("Odd file name"))


def hostile_links(folder: Path) -> list[Path]:
    """Links the graph must not turn into bad IRIs: javascript:, spaces, bad percent escapes."""
    text = (
        "# __Odd links__, (from page [20240407](https://example.org/%zz/<a>{b}|c^d`e).)\n\n"
        "__[External link](javascript:alert(1))__\n\n"
        "## Summary\n\nSee [this](http://[::1) and <https://e.org/\"x\"> and [that](<a b c>).\n\n"
        "## Closest\n\n* [Bad target](../../etc/passwd)\n* [Script](<javascript:alert(1)>)\n* [Fine](0123456789abcdef0123456789abcdee)\n"
    )
    return _put(folder, "hostile-links.md", text)


def controls(folder: Path) -> list[Path]:
    """Control characters and right-to-left marks in the title, keywords, cells and Summary."""
    odd = f"Ctl{CONTROLS}rtl{BIDI}end"
    rows = f"| {odd} | \u202eevil\u202c {CONTROLS} | 2 |\n| \u200fRTL mark\u200f | \u2067isolate\u2069 | 1 |\n"
    text = _doc(f"Title {odd}", summary=f"Summary {odd} \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627.",
                keywords=(odd, "\u202eevil", "plain"), body=f"## Concerns\n\n| name | description | relevancy |\n|:--|:--|--:|\n{rows}")
    return _put(folder, "controls-rtl.md", text)


# --- tabular exports -----------------------------------------------------------------------

def bad_parquet(folder: Path) -> list[Path]:
    """Random bytes under a parquet name."""
    return _put(folder, "seeds.parquet", random.Random(7).randbytes(4096))


def csv_invalid_utf8(folder: Path) -> list[Path]:
    """A CSV export whose bytes are not UTF-8 in its last row, past the first 64 KB."""
    rows = b"".join(b"abc,Row %d,fine\n" % i for i in range(5000))
    data = b"src,name,description\n" + rows + b"abc,Thr\xff\xfee,bad bytes\n"
    return _put(folder, "concerns-invalid-utf8.csv", data)


def csv_huge_cell(folder: Path) -> list[Path]:
    """A CSV export with a 200 KB cell (past the csv module's default field limit)."""
    data = "src,name,description\nabc,Big,\"" + "word " * 40_000 + "\"\nabc,Small,fine\n"
    return _put(folder, "issues-huge-cell.csv", data)


def csv_unnamed(folder: Path) -> list[Path]:
    """A CSV export whose name does not tell which table it holds."""
    return _put(folder, "export.csv", "src,name\nabc,One\n")


HOSTILE: dict[str, Writer] = {
    "empty": empty,
    "blank": blank,
    "binary": binary,
    "nul-late": nul_late,
    "invalid-utf8": invalid_utf8,
    "latin1": latin1,
    "utf16-le-bom": utf16_bom,
    "utf16-be-bom": utf16_be_bom,
    "utf16-no-bom": utf16_no_bom,
    "utf16-truncated": utf16_truncated,
    "utf8-bom": utf8_bom,
    "utf32-bom": utf32_bom,
    "crlf": crlf,
    "cr-only": cr_only,
    "prose": prose,
    "big-10mb": big_document,
    "table-10k": table_10k,
    "long-title": long_title,
    "long-word": long_word,
    "deep-blockquote": deep_blockquote,
    "deep-list": deep_list,
    "deep-ordered": deep_ordered,
    "deep-brackets": deep_brackets,
    "deep-backticks": deep_backticks,
    "deep-emphasis": deep_emphasis,
    "deep-entities": deep_entities,
    "ragged": ragged,
    "unknown-headers": unknown_headers,
    "duplicate-same-bytes": duplicate_same_bytes,
    "duplicate-same-id": duplicate_same_id,
    "hostile-names": hostile_names,
    "hostile-filename": hostile_filename,
    "hostile-links": hostile_links,
    "controls-rtl": controls,
    "bad-parquet": bad_parquet,
    "csv-invalid-utf8": csv_invalid_utf8,
    "csv-huge-cell": csv_huge_cell,
    "csv-unnamed": csv_unnamed,
}


def write_all(folder: Path, names: tuple[str, ...] | None = None) -> dict[str, list[Path]]:
    """Write every hostile input (or those named) into ``folder``; name → paths written."""
    return {name: HOSTILE[name](folder) for name in names or tuple(HOSTILE)}
