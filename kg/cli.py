"""The ``kg`` command line: build, and (per later modules) query, viz, export, validate, serve."""

from __future__ import annotations

import errno
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kg.errors import KgError, UsageError
from kg.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Build and explore foresight knowledge graphs.")
console = Console(stderr=True)
out_console = Console()


@app.callback()
def _root() -> None:
    """Build and explore foresight knowledge graphs."""


@app.command()
def build(
    paths: Annotated[list[Path], typer.Argument(help="Markdown documents, tabular export files, or folders (read recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("output"),
    no_store: Annotated[bool, typer.Option("--no-store", help="Skip the embedded Oxigraph store.")] = False,
    no_html: Annotated[bool, typer.Option("--no-html", help="Skip graph.html and ontology.html.")] = False,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="Skip the SHACL check (validation.txt).")] = False,
    view_limit: Annotated[int, typer.Option(help="Most nodes drawn in graph.html.")] = 2000,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Processes for entity extraction.")] = 1,
    no_extract: Annotated[bool, typer.Option("--no-extract", help="Tables, keywords and themes only: no entities from text.")] = False,
    spacy_model: Annotated[str | None, typer.Option(help="An installed trained spaCy pipeline (name or path) whose ORG entities join the rules.")] = None,
    gazetteer: Annotated[list[Path] | None, typer.Option(help="Gazetteer Turtle file (repeatable); default: the shipped UK and world gazetteers.")] = None,
    overrides: Annotated[Path | None, typer.Option(help="CSV of forced/forbidden merges: action,name,other.")] = None,
    clean: Annotated[bool, typer.Option("--clean", help="Ignore what earlier builds into OUT cached; rebuild everything.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither use nor keep OUT/cache.sqlite.")] = False,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (tcp://host:8786) to run extraction on.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Build the knowledge graph of PATHS into OUT (graph.ttl, store/, graph.html, ontology.html,
    merges.csv, validation.txt, report.json, provenance.ttl).

    A second build into the same OUT reuses OUT/cache.sqlite: only new or changed inputs are
    read again, and the outputs are the same bytes as a clean build's. When no input, setting
    or output changed since, it builds nothing and says OUT is up to date.

    Exit status: 0 when every input was used, 1 when some were rejected (everything else is
    still built), 2 on a usage error, 3 when the build failed (out of memory or disk, or a bug).
    """
    from kg.pipeline import build as run_build

    settings = Settings(
        write_store=not no_store, write_html=not no_html, validate=not no_validate, view_limit=view_limit, jobs=jobs, extract=not no_extract,
        spacy_model=spacy_model, gazetteers=tuple(gazetteer) if gazetteer else None, overrides=overrides,
        cache=not no_cache, clean=clean, scheduler=scheduler,
    )
    show = not quiet and console.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not show, transient=True) as bar:
        task = bar.add_task("reading", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        report = run_build(paths, out, settings, progress)
    for item in report.inputs:
        for problem in item.problems:
            if problem.severity == "error":
                console.print(f"[red]{_esc(str(problem))}[/red]", highlight=False, soft_wrap=True)
    if not quiet:
        if report.up_to_date:
            console.print(f"{_esc(str(out))} is up to date: no input, setting or output changed since its last build "
                          "(--clean builds it again).", highlight=False, soft_wrap=True)
        warnings = sum(1 for i in report.inputs for p in i.problems if p.severity == "warning")
        table = Table(title=f"{out}: up to date" if report.up_to_date else f"Built {out}", show_header=False)
        table.add_row("inputs", f"{len(report.inputs)} ({report.rejected} rejected, {warnings} warnings: see report.json)")
        table.add_row("documents", str(report.documents))
        table.add_row("records", str(report.records))
        for cls, n in report.nodes_by_class:
            table.add_row(f"  {cls}", str(n))
        table.add_row("nodes", str(report.nodes))
        table.add_row("triples", str(report.triples))
        if not report.up_to_date:  # the last build's, otherwise
            table.add_row("seconds", " · ".join(f"{k} {v:.2f}" for k, v in report.timings))
        console.print(table)
    raise typer.Exit(1 if report.rejected else 0)


def _register_commands() -> None:
    import importlib

    from kg.commands import COMMAND_MODULES

    for name in COMMAND_MODULES:
        importlib.import_module(f"kg.commands.{name}").register(app)


_register_commands()


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def main() -> None:
    """Entry point: run the app, turning a ``KgError`` into one line and an exit status.

    Click itself reports its usage errors (exit 2); a ``UsageError`` also exits 2, any other
    ``KgError`` 1, and neither shows a traceback. Running out of memory or disk, a folder
    kg may not write, or a fault in kg itself, exits 3 with one line (for a fault, the
    traceback goes to a file named in that line). Outputs are written atomically, so each is
    whole: the previous one or the new one.
    """
    try:
        app()
    except UsageError as exc:
        console.print(f"[red]error:[/red] {_esc(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KgError as exc:
        console.print(f"[red]error:[/red] {_esc(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except (OSError, sqlite3.OperationalError) as exc:
        hint = _environment_hint(exc)
        if hint is None:
            _report_bug(exc)
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        console.print(f"[red]error:[/red] {_esc(reason + where)}. {hint}", highlight=False, soft_wrap=True)
        sys.exit(3)
    except MemoryError:
        console.print("[red]error:[/red] out of memory; the previous outputs are untouched. Build fewer inputs at once, "
                      "or leave out --jobs, the view (--no-html) or validation (--no-validate).", highlight=False, soft_wrap=True)
        sys.exit(3)
    except Exception as exc:  # noqa: BLE001 (a bug: one line here, the traceback in a file)
        _report_bug(exc)


def _report_bug(exc: BaseException) -> NoReturn:
    log = _write_traceback()
    console.print(f"[red]internal error:[/red] {type(exc).__name__}: {_esc(str(exc)[:300])} (traceback in {log}; "
                  "please report it)", highlight=False, soft_wrap=True)
    sys.exit(3)


_OUT_OF_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}
_WHOLE = "Files kg writes are replaced whole, so each is its last version or the new one."


def _environment_hint(exc: BaseException) -> str | None:
    """What to do about a failure of the machine rather than of kg (a full disk, a file one
    may not write), or ``None`` for any other error."""
    if isinstance(exc, sqlite3.OperationalError):
        # What SQLite says when a write of the build cache fails; it names no file.
        if "disk" in str(exc) or "readonly" in str(exc):
            return f"The build cache (cache.sqlite) could not be written: is the disk full, or the folder read-only? {_WHOLE}"
        return None
    if exc.errno in _OUT_OF_ROOM:
        return f"Free some disk space and run it again (the README's \"Large corpora\" says how much a build needs). {_WHOLE}"
    if exc.errno in _NOT_ALLOWED:
        return f"Check who may read and write there. {_WHOLE}"
    return None


def _write_traceback() -> str:
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile("w", prefix="kg-error-", suffix=".txt", delete=False, encoding="utf-8") as handle:
        traceback.print_exc(file=handle)
    return handle.name


if __name__ == "__main__":
    main()
