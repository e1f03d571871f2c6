"""The tabular export: parquet and CSV rows become typed nodes of their documents."""

import csv
from pathlib import Path

import pytest
import rdflib

from kg.errors import InputError
from kg.ingest.tabular import kind_of_table_file, read_tabular
from kg.namespaces import FS, RDF
from kg.pipeline import build
from kg.settings import Settings
from kg.types import RecordKind

SETTINGS = Settings(write_html=False, write_store=False, extract=False, validate=False)


def _csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_rows_attach_to_documents_by_src(tmp_path: Path):
    _csv(tmp_path / "mrg_tech.csv", [
        {"name": "Quantum sensors", "description": "Precise", "relevancy": "4.0", "src": "a" * 32},
        {"name": "Edge AI", "description": "Local", "relevancy": "", "src": "b" * 32},
    ])
    build([tmp_path / "mrg_tech.csv"], tmp_path / "out", SETTINGS)
    g = rdflib.Graph().parse(tmp_path / "out" / "graph.ttl")
    techs = list(g.subjects(RDF.type, FS.Technology))
    assert len(techs) == 2
    docs = {str(g.value(t, FS.document)).rsplit("/", 1)[1] for t in techs}
    assert docs == {"a" * 32, "b" * 32}
    for doc in g.subjects(RDF.type, FS.Document):
        assert str(g.value(doc, FS.sourceFormat)) == "tabular"


def test_csv_row_without_src_is_reported_with_its_line(tmp_path: Path):
    path = _csv(tmp_path / "seeds.csv", [
        {"name": "S", "description": "D", "change": "", "10-year": "", "driving-force": "F", "relevancy": "3", "src": ""},
        {"name": "T", "description": "E", "change": "", "10-year": "", "driving-force": "F", "relevancy": "3", "src": "c" * 32},
    ])
    batch = read_tabular(path, name="seeds.csv")
    assert [r.name for r in batch.records] == ["T"]
    (problem,) = batch.problems
    assert problem.line == 2 and problem.file == "seeds.csv"


def test_kind_told_from_file_name():
    assert kind_of_table_file(Path("seeds.parquet.gzip")) is RecordKind.SIGNAL
    assert kind_of_table_file(Path("mrg_issue.csv")) is RecordKind.ISSUE
    with pytest.raises(InputError, match="cannot tell which table"):
        kind_of_table_file(Path("rows.csv"))


def test_tabular_row_and_same_markdown_row_are_one_node(tmp_path: Path):
    doc_id = "0123456789abcdef0123456789abcdef"
    (tmp_path / f"{doc_id}.md").write_text(
        "# __T__, (from page [20240407](https://e.org/p).)\n\n## Concerns\n\n| name | description | relevancy |\n|:--|:--|--:|\n| Cost | Dear | 3 |\n",
        encoding="utf-8",
    )
    _csv(tmp_path / "mrg_concern.csv", [{"name": "Cost", "description": "Dear", "relevancy": "3.0", "src": doc_id}])
    build([tmp_path], tmp_path / "out", SETTINGS)
    g = rdflib.Graph().parse(tmp_path / "out" / "graph.ttl")
    assert len(list(g.subjects(RDF.type, FS.Concern))) == 1
    assert len(list(g.subjects(RDF.type, FS.Document))) == 1


@pytest.mark.shared
@pytest.mark.slow
def test_every_parquet_row_becomes_one_typed_node(shared: Path, tmp_path: Path):
    import pyarrow.parquet as pq
    import pyoxigraph as ox

    folder = shared / "data" / "futures-parquet"
    distinct = 0
    srcs: set[str] = set()
    for path in sorted(folder.glob("*.parquet.gzip")):
        rows = pq.read_table(path).to_pylist()
        distinct += len({tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows})
        srcs |= {r["src"] for r in rows}
    report = build([folder], tmp_path / "out", SETTINGS)
    assert report.rejected == 0
    store = ox.Store()
    store.bulk_load(path=str(tmp_path / "out" / "graph.ttl"), format=ox.RdfFormat.TURTLE)
    count = next(iter(store.query(
        "PREFIX fs: <https://w3id.org/foresight-kg/ontology#> SELECT (COUNT(?r) AS ?n) WHERE { "
        "VALUES ?c { fs:Signal fs:Concern fs:Issue fs:Behavior fs:Technology } ?r a ?c }"
    )))["n"].value
    assert int(count) == distinct == 97_665
    docs = next(iter(store.query("PREFIX fs: <https://w3id.org/foresight-kg/ontology#> SELECT (COUNT(?d) AS ?n) WHERE { ?d a fs:Document }")))["n"].value
    assert int(docs) == len(srcs)
