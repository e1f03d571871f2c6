"""notebooks/03-sparql.ipynb runs top to bottom and shows each library query's answer as a table."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03-sparql.ipynb"


@pytest.fixture(scope="module")
def executed():
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return notebook


def _outputs(notebook) -> list[dict]:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def test_the_notebook_runs_without_an_error(executed):
    assert [o for o in _outputs(executed) if o.get("output_type") == "error"] == []


def test_every_library_query_it_asks_shows_as_an_html_table(executed):
    asked = [c for c in executed.cells if c.cell_type == "code" and "load_query(" in c.source]
    assert len(asked) >= 7
    for cell in asked:
        assert any('<table class="kg-results">' in o.get("data", {}).get("text/html", "") for o in cell.outputs), cell.source


def test_the_tables_hold_the_example_corpus_answers(executed):
    html = "\n".join(o["data"]["text/html"] for o in _outputs(executed) if "text/html" in o.get("data", {}))
    assert "<td>2023-03</td><td>public sector IT</td><td>1</td>" in html
    assert "Legacy IT Systems and Scarce Skills Slow Digital Transformation in Government" in html
