import datetime as dt
from pathlib import Path

import pytest

from kg.errors import ParseError
from kg.ingest.markdown import parse_document, parse_text
from kg.types import RecordKind

from conftest import EXAMPLES, SEED, need


def _parse(text: str, name: str = "doc.md"):
    return parse_text(text, file=name, doc_id="d" * 32)


CURRENT = """# __A Title__, (from page [20240407](https://example.org/p/20240407).)

__[External link](https://example.org/source)__

## Keywords

* AI
* public sector

## Themes

* policy

## Other

* Category: politics
* Type: news

## Summary

The governmentâ€™s plan.

## Signals

| name | description | change | 10-year | driving-force | relevancy |
|:--|:--|:--|:--|:--|--:|
| S1 | D1 | C1 | T1 | F1 | 4.0 |
| S2 | D2 \\| with pipe | C2 | T2 | F2 | 3 |
"""

LEGACY = """# __Old Title__, from ([20221228](https://example.org/p/20221228).)

__[External link](https://example.org/old)__

## Summary

Old summary.

## Keywords

* k1

## Themes

* t1

## Signals

| Signal | Change | 10y horizon | Driving force |
|:--|:--|:--|:--|
| Sig | From a to b | Later | Force |

## Closest

* [Other doc](0123456789abcdef0123456789abcdef)
"""


def test_seed_counts_and_cells():
    need(SEED.is_file(), f"{SEED} is absent")
    parsed = parse_document(SEED)
    kinds = [r.kind for r in parsed.records]
    assert [kinds.count(k) for k in (RecordKind.SIGNAL, RecordKind.CONCERN, RecordKind.BEHAVIOR, RecordKind.TECHNOLOGY, RecordKind.ISSUE)] == [5, 6, 7, 5, 7]
    assert len(parsed.doc.keywords) == 8 and len(parsed.doc.themes) == 5
    assert "government’s setup" in parsed.doc.summary
    signal = parsed.records[0]
    assert signal.name == "Government AI Strategy Development"
    assert signal.change and signal.ten_year and signal.driving_force and signal.relevancy == 4
    tech = [r for r in parsed.records if r.kind is RecordKind.TECHNOLOGY][0]
    assert tech.name is None and tech.source_id == "953521f099a7344b89a76fbdefbbc71c" and tech.relevancy == 5
    assert parsed.doc.category == "politics" and parsed.doc.doc_type == "research article"
    assert parsed.doc.newsletter_date == dt.date(2024, 4, 7)


def test_current_format_header_fields():
    doc = _parse(CURRENT).doc
    assert doc.title == "A Title"
    assert doc.newsletter_issue == "20240407" and doc.newsletter_url == "https://example.org/p/20240407"
    assert doc.external_link == "https://example.org/source"
    assert doc.keywords == ("AI", "public sector") and doc.themes == ("policy",)
    assert doc.format == "current"


def test_mojibake_repaired():
    assert _parse(CURRENT).doc.summary == "The government’s plan."


def test_float_relevancy_read_as_integer():
    assert _parse(CURRENT).records[0].relevancy == 4


def test_escaped_pipe_stays_in_cell():
    assert _parse(CURRENT).records[1].description == "D2 | with pipe"


def test_records_remember_their_line():
    records = _parse(CURRENT).records
    lines = CURRENT.splitlines()
    assert [lines[r.line - 1][:5] for r in records] == ["| S1 ", "| S2 "]


def test_legacy_format():
    parsed = _parse(LEGACY)
    assert parsed.doc.format == "legacy"
    assert parsed.doc.title == "Old Title"
    (signal,) = parsed.records
    assert (signal.name, signal.change, signal.ten_year, signal.driving_force) == ("Sig", "From a to b", "Later", "Force")
    assert [(c.title, c.doc_id) for c in parsed.doc.closest] == [("Other doc", "0123456789abcdef0123456789abcdef")]


def test_odd_issue_ids_kept_raw_without_date():
    text = CURRENT.replace("[20240407]", "[5117.0]")
    doc = _parse(text).doc
    assert doc.newsletter_issue == "5117.0" and doc.newsletter_date is None
    assert _parse(CURRENT.replace("[20240407]", "[20250323d]")).doc.newsletter_date == dt.date(2025, 3, 23)


def test_split_keyword_list_rejoined():
    spelled = "\n".join(f"* {c}" if c != " " else "*  " for c in "post-quantum, NIST")
    text = CURRENT.replace("* AI\n* public sector", spelled)
    parsed = _parse(text)
    assert parsed.doc.keywords == ("post-quantum", "NIST")
    assert any("split one character per bullet" in p.message for p in parsed.problems)


def test_ragged_row_reported_with_line():
    text = CURRENT.replace("| S2 | D2 \\| with pipe | C2 | T2 | F2 | 3 |", "| S2 | D2 | C2 | T2 | F2 | 3 | lost |")
    parsed = _parse(text)
    (problem,) = [p for p in parsed.problems if "cells" in p.message]
    assert text.splitlines()[problem.line - 1].startswith("| S2 ") and "'lost'" in problem.message


def test_unknown_header_kept_as_other_cell():
    text = CURRENT.replace("| relevancy |", "| weirdness |", 1)
    parsed = _parse(text)
    assert parsed.records[0].other == (("weirdness", "4.0"),)
    assert any("unknown column 'weirdness'" in p.message for p in parsed.problems)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"   \n\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
        (b"# __T__\n\nok\n\xff\xfe bad", "invalid UTF-8"),
        (b"just some prose\nwith no sections\n", "no foresight summary found"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, data: bytes, message: str):
    path = tmp_path / "bad.md"
    path.write_bytes(data)
    with pytest.raises(ParseError) as info:
        parse_document(path, name="bad.md")
    assert message in str(info.value)
    assert str(info.value).startswith("bad.md")


def test_invalid_utf8_error_names_line(tmp_path: Path):
    path = tmp_path / "bad.md"
    path.write_bytes(b"# __T__\n\nline two\n\xff here")
    with pytest.raises(ParseError) as info:
        parse_document(path, name="bad.md")
    assert info.value.line == 4


def test_utf16_with_bom_and_crlf(tmp_path: Path):
    path = tmp_path / "u16.md"
    path.write_bytes(CURRENT.replace("\n", "\r\n").encode("utf-16"))
    parsed = parse_document(path)
    assert parsed.doc.title == "A Title" and len(parsed.records) == 2


def test_example_corpus_parses_cleanly():
    for path in sorted(EXAMPLES.glob("*.md")):
        parsed = parse_document(path)
        assert parsed.doc.title and parsed.records, path
        assert not [p for p in parsed.problems if p.severity == "error"]


FRENCH = CURRENT.replace(
    "The governmentâ€™s plan.",
    "Le Cobol, un langage de programmation créé en 1959, est en voie d'extinction et les banques manquent de développeurs.",
)


def test_french_document_detected_and_reported():
    parsed = _parse(FRENCH)
    assert parsed.doc.language == "fr"
    assert any("French (fr)" in p.message for p in parsed.problems)
    assert _parse(CURRENT.replace("The governmentâ€™s plan.", "The government must finalise its plan for the adoption of AI by June.")).doc.language == "en"
