"""Every error foresight-kg raises on purpose derives from ``KgError``.

::

    KgError
     ├── InputError          a file or value the user gave cannot be used (file, line, value)
     │    └── ParseError     a document cannot be read as a foresight summary
     ├── UsageError          a command-line or settings value is wrong (exit code 2)
     ├── OntologyError       the ontology or a gazetteer is inconsistent with the code
     ├── QueryError          a SPARQL query is malformed or fails
     └── ExportError         an export target refused or failed

Messages name the file, the line and the offending value, so that the message alone is enough
to find and fix the cause.
"""

from __future__ import annotations

__all__ = ["ExportError", "InputError", "KgError", "OntologyError", "ParseError", "QueryError", "UsageError"]


class KgError(Exception):
    """Root of every deliberate foresight-kg error."""


class InputError(KgError):
    """An input file or value cannot be used.

    Attributes:
        file: the input file, as the user named it (or ``None``).
        line: the 1-based line, where one applies.
        reason: what is wrong, without the location.
    """

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.reason = reason
        where = file or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {reason}")


class ParseError(InputError):
    """A document cannot be read as a foresight summary."""


class UsageError(KgError):
    """A command-line option or setting has a wrong value."""


class OntologyError(KgError):
    """The ontology, a gazetteer or the generated namespace disagree."""


class QueryError(KgError):
    """A SPARQL query is malformed or failed while running."""


class ExportError(KgError):
    """An export could not be written or pushed."""
