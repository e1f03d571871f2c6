"""The ontology as a web page: ``ontology/foresight.ttl`` rendered by pyLODE (OntPub profile).

pyLODE lists every class and property with its label, definition (``skos:definition``),
justification (``rdfs:comment``), example (``skos:example``), alignments (``rdfs:subClassOf``,
``rdfs:subPropertyOf``), domain and range, and the ontology's version. The page is
self-contained: its stylesheet is inlined and it loads nothing from the network.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import sys
import types
from collections.abc import Iterator
from pathlib import Path

from kg.errors import OntologyError, UsageError
from kg.fsutil import write_text_atomic
from kg.gen_namespace import ONTOLOGY_FILE

__all__ = ["render_ontology_docs", "write_ontology_docs"]


def render_ontology_docs(ontology: Path = ONTOLOGY_FILE) -> str:
    """The HTML documentation of the ontology in ``ontology``.

    Raises:
        UsageError: pyLODE is not installed (the message says how to install it).
        OntologyError: pyLODE cannot document the file (it names the file and pyLODE's reason).
    """
    with _quiet_logging():
        ontpub = _import_ontpub()
        try:
            return ontpub(ontology, sort_subjects=True).make_html()
        except Exception as exc:  # pyLODE raises PylodeError, rdflib parser errors, KeyError…
            raise OntologyError(f"{ontology}: pyLODE cannot document it: {exc}") from exc


def write_ontology_docs(path: Path, ontology: Path = ONTOLOGY_FILE) -> Path:
    """Write the documentation page to ``path`` atomically.

    Raises:
        UsageError, OntologyError: as ``render_ontology_docs``.
    """
    write_text_atomic(path, render_ontology_docs(ontology))
    return path


def _import_ontpub():
    # pyLODE 3.4.1 reads its version from a pyproject.toml it expects in site-packages, which an
    # installed wheel lacks (RDFLib/pyLODE#260, fixed after 3.4.1); give it the version first.
    if "pylode.version" not in sys.modules:
        try:
            version = importlib.metadata.version("pylode")
        except importlib.metadata.PackageNotFoundError as exc:
            raise UsageError("pyLODE is not installed: pip install 'pylode>=3.2'") from exc
        shim = types.ModuleType("pylode.version")
        shim.__version__ = version
        sys.modules["pylode.version"] = shim
    try:
        from pylode import OntPub
    except ImportError as exc:
        raise UsageError(f"pyLODE cannot be imported ({exc}): pip install 'pylode>=3.2'") from exc
    return OntPub


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """Leave the root logger as it was: importing pyLODE calls ``logging.basicConfig(level=DEBUG)``
    (its supermodel profile) and logs at INFO while it renders."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    if not handlers:
        # basicConfig does nothing to a logger that has a handler.
        root.addHandler(logging.NullHandler())
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
