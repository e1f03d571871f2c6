"""The public API is a curated list; changing it is a deliberate act."""

import kg

EXPECTED = {
    "BuildReport", "BuiltGraph", "Entity", "EntityKind", "ExportError", "InputError", "KgError", "Mention",
    "OntologyError", "ParseError", "ParsedDoc", "Problem", "QueryError", "Record", "RecordKind", "Settings",
    "SourceDoc", "TextUnit", "UsageError", "__version__", "build", "build_graph", "extract_mentions", "open_store",
    "parse_document", "read_tabular", "resolve_entities", "text_units", "write_store", "write_turtle",
}


def test_public_api_is_pinned():
    assert set(kg.__all__) == EXPECTED


def test_every_public_name_exists():
    for name in kg.__all__:
        assert getattr(kg, name) is not None, name


def test_version_matches_distribution():
    from importlib.metadata import version

    assert kg.__version__ == version("foresight-kg")
