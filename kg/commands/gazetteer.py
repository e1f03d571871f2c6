"""``kg gazetteer``: build gazetteer Turtle from the GOV.UK organisations register.

``import FILE`` converts a saved API dump; ``fetch`` reads the live API page by page. Both
write atomically and exit 0 when every record was used, 1 when some were skipped (the file
is still written), 2 on a usage error.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kg.errors import UsageError
from kg.gazetteer import FETCH_RETRIES, FETCH_TIMEOUT, GOVUK_API_URL, ImportReport, fetch_govuk, import_govuk

__all__ = ["register"]

DEFAULT_OUT = Path("ontology/gazetteer-govuk.ttl")
_console = Console(stderr=True)

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="The gazetteer's date, YYYY-MM-DD (default: a date in the file name, else today)."),
]
Out = Annotated[Path, typer.Option("--out", "-o", help="Turtle file to write.")]
Strict = Annotated[bool, typer.Option("--strict", help="Stop at the first bad record instead of skipping it.")]


def _parse_date(value: str | None) -> _dt.date | None:
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from exc


def _finish(report: ImportReport, quiet: bool) -> None:
    for problem in report.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        _console.print(f"[{colour}]{escape(str(problem))}[/{colour}]", highlight=False, soft_wrap=True)
    if not quiet:
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        _console.print(
            f"wrote {report.bodies} organisations{skipped} to {escape(str(report.out))} "
            f"(source {escape(report.source)}, as of {report.issued.isoformat()})",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(1 if report.skipped else 0)


def import_command(
    file: Annotated[Path, typer.Argument(help="GOV.UK organisations JSON: a list of records, one API page, or a list of pages.")],
    out: Out = DEFAULT_OUT,
    as_of: AsOf = None,
    strict: Strict = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
) -> None:
    """Convert a saved GOV.UK organisations API dump into gazetteer Turtle."""
    report = import_govuk(file, out, _parse_date(as_of), "raise" if strict else "skip")
    _finish(report, quiet)


def fetch_command(
    url: Annotated[str, typer.Option("--url", help="First page of the organisations API.")] = GOVUK_API_URL,
    out: Out = DEFAULT_OUT,
    as_of: AsOf = None,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for each request.")] = FETCH_TIMEOUT,
    retries: Annotated[int, typer.Option(help="Further tries of a request that fails with 5xx or a network error.")] = FETCH_RETRIES,
    strict: Strict = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line.")] = False,
) -> None:
    """Read the live GOV.UK organisations API (every page) and write gazetteer Turtle."""
    report = fetch_govuk(out, url, _parse_date(as_of), timeout=timeout, retries=retries, on_error="raise" if strict else "skip")
    _finish(report, quiet)


def register(app: typer.Typer) -> None:
    """Add the ``gazetteer`` sub-app (``import``, ``fetch``) to ``app``."""
    sub = typer.Typer(no_args_is_help=True, help="Build gazetteers of known organisations from GOV.UK.")
    sub.command("import")(import_command)
    sub.command("fetch")(fetch_command)
    app.add_typer(sub, name="gazetteer")
