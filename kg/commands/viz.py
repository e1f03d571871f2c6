"""``kg stats``, ``kg report`` and ``kg viz``: analysis tables, the plotted report, and views."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["register"]

GraphOption = Annotated[Path, typer.Option("--graph", "-g", help="A build folder (kg build … --out DIR).")]


def _load(graph: Path):
    from kg.analysis import load_projection
    from kg.rdf.store import open_store

    store = open_store(graph)
    return store, load_projection(store)


def register(app: typer.Typer) -> None:
    """Add ``stats``, ``report`` and ``viz`` to ``app``."""
    app.command()(stats)
    app.command()(report)
    app.command()(viz)


def stats(
    graph: GraphOption = Path("output"),
    top: Annotated[int, typer.Option(help="Rows per table.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of sampled betweenness and Louvain.")] = 42,
) -> None:
    """Print the graph's figures: kinds, most central nodes, communities, most cited, per month."""
    from kg.analysis import analyse_graph

    _, projection = _load(graph)
    figures = analyse_graph(projection, top=top, seed=seed)
    console = Console()
    for table in build_tables(figures):
        console.print(table)


def build_tables(figures) -> list[Table]:
    """The rich tables ``kg stats`` prints, from a ``GraphStats``."""
    overview = Table(title=f"{figures.nodes:,} nodes, {figures.edges:,} edges, {figures.community_count:,} communities")
    overview.add_column("kind")
    overview.add_column("nodes", justify="right")
    for kind, n in figures.kinds:
        overview.add_row(kind, f"{n:,}")
    sampled = (f" (betweenness estimated from {figures.betweenness_sampled} sampled sources)"
               if figures.betweenness_sampled else " (exact betweenness)")
    central = Table(title="Most central nodes" + sampled)
    for name, justify in (("label", "left"), ("kind", "left"), ("degree", "right"), ("betweenness", "right")):
        central.add_column(name, justify=justify)
    for label, kind, degree, betweenness in figures.central:
        central.add_row(_text(label), kind, f"{degree:.4f}", f"{betweenness:.4f}")
    cited = Table(title="Most cited across documents")
    for name, justify in (("kind", "left"), ("label", "left"), ("documents", "right"), ("nodes", "right")):
        cited.add_column(name, justify=justify)
    for term in figures.cited:
        cited.add_row(term.kind, _text(term.label), str(term.documents), str(term.nodes))
    months = Table(title="Per newsletter month")
    for name, justify in (("month", "left"), ("documents", "right"), ("signals", "right"), ("leading themes", "left")):
        months.add_column(name, justify=justify)
    for m in figures.months:
        months.add_row(m.month, str(m.documents), str(m.signals), _text("; ".join(f"{t} ({n})" for t, n in m.themes[:5])))
    communities = Table(title=f"Largest Louvain communities (of {figures.community_count:,})")
    for name, justify in (("#", "right"), ("nodes", "right"), ("kinds", "left"), ("best connected", "left")):
        communities.add_column(name, justify=justify)
    for c in figures.communities:
        communities.add_row(str(c.index), str(c.size), ", ".join(f"{k} {n}" for k, n in c.kinds[:4]), _text("; ".join(c.top)))
    return [overview, central, cited, months, communities]


def _text(value: str):
    from rich.text import Text

    # Labels come from documents: rich must print them, never read them as markup.
    return Text(value)


def report(
    graph: GraphOption = Path("output"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The HTML file (default DIR/report.html).")] = None,
    top: Annotated[int, typer.Option(help="Rows per table and bars per plot.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of sampled betweenness and Louvain.")] = 42,
) -> None:
    """Write a self-contained HTML report with plots (DIR/report.html)."""
    from kg.analysis import analyse_graph, write_report_html

    _, projection = _load(graph)
    path = write_report_html(analyse_graph(projection, top=top, seed=seed), out or graph / "report.html",
                             title=f"Knowledge graph report: {graph.resolve().name}")
    Console(stderr=True).print(f"wrote {path}", highlight=False, markup=False)


def viz(
    graph: GraphOption = Path("output"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The HTML file (default DIR/view.html).")] = None,
    focus: Annotated[str | None, typer.Option(help="Draw the neighbourhood of the node with this label.")] = None,
    depth: Annotated[int, typer.Option(help="Hops around --focus.")] = 1,
    types: Annotated[list[str] | None, typer.Option("--type", "-t", help="Keep only this kind (repeatable).")] = None,
    theme: Annotated[str | None, typer.Option(help="Keep the documents with this theme.")] = None,
    min_relevancy: Annotated[int | None, typer.Option(help="Drop nodes with a lower relevancy.")] = None,
    document: Annotated[str | None, typer.Option(help="Keep one document (id or unique prefix).")] = None,
    query: Annotated[Path | None, typer.Option(help="A SPARQL CONSTRUCT or SELECT file to draw.")] = None,
    limit: Annotated[int, typer.Option(help="Most nodes drawn; beyond it the most central are kept.")] = 2000,
    title: Annotated[str | None, typer.Option(help="The page heading.")] = None,
) -> None:
    """Write an interactive, self-contained HTML view of the graph (or of a part of it)."""
    from kg.viz import ViewOptions, write_view

    store, projection = _load(graph)
    options = ViewOptions(
        focus=focus, depth=depth, types=tuple(types or ()), theme=theme, min_relevancy=min_relevancy,
        document=document, query=query, limit=limit,
        title=title or f"Knowledge graph: {graph.resolve().name}" + (f" around {focus!r}" if focus else ""),
    )
    result = write_view(projection, options, out or graph / "view.html", store=store)
    Console(stderr=True).print(f"wrote {result.path}: {result.nodes:,} nodes, {result.edges:,} edges. {result.note}",
                               highlight=False, markup=False)
