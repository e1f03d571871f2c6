"""Exports of a build to files, Neo4j, SPARQL stores and graph tools, looked up by name.

``kg export FORMAT --graph DIR --out PATH``. Every target reads the same build (``DIR/store``),
so a thing has one identifier everywhere: its IRI in RDF, ``uri`` in Neo4j, the node id in
GraphML and GEXF.

==========  =========================================  ====================
module      targets                                    writes
==========  =========================================  ====================
rdf         turtle, ntriples, nquads, trig, rdfxml     a file
jsonld      jsonld                                     a file
neo4j_csv   neo4j-csv                                  a folder + command
cypher      cypher                                     a cypher-shell file
neo4j       neo4j                                      a live Neo4j
sparql      sparql                                     a Graph Store endpoint
graphtools  graphml, gexf                              a file
==========  =========================================  ====================
"""

from __future__ import annotations

from pathlib import Path

from kg.errors import UsageError
from kg.export.base import Dataset, ExportOptions, ExportResult, Exporter, read_dataset
from kg.export.cypher import export_cypher
from kg.export.graphtools import export_gexf, export_graphml
from kg.export.jsonld import export_jsonld
from kg.export.neo4j import export_neo4j
from kg.export.neo4j_csv import export_neo4j_csv
from kg.export.rdf import export_rdf
from kg.export.sparql import export_sparql

__all__ = ["EXPORTERS", "Dataset", "ExportOptions", "ExportResult", "Exporter", "get_exporter", "read_dataset", "run_export"]

EXPORTERS: dict[str, Exporter] = {
    e.name: e
    for e in (
        Exporter("turtle", "Turtle, named graphs merged", export_rdf("turtle")),
        Exporter("ntriples", "N-Triples, named graphs merged", export_rdf("ntriples")),
        Exporter("nquads", "N-Quads, one named graph per document", export_rdf("nquads")),
        Exporter("trig", "TriG, one named graph per document", export_rdf("trig")),
        Exporter("jsonld", "JSON-LD with a compact @context, one @graph per document", export_jsonld),
        Exporter("rdfxml", "RDF/XML, named graphs merged", export_rdf("rdfxml")),
        Exporter("neo4j-csv", "CSV files for neo4j-admin database import (--out is a folder)", export_neo4j_csv),
        Exporter("cypher", "a cypher-shell script: MERGE in batches, values as parameters", export_cypher),
        Exporter("neo4j", "push into a running Neo4j (--uri, --user, --password-env)", export_neo4j),
        Exporter("sparql", "PUT into a SPARQL Graph Store endpoint (--endpoint)", export_sparql),
        Exporter("graphml", "GraphML for yEd, Cytoscape, Gephi", export_graphml),
        Exporter("gexf", "GEXF for Gephi", export_gexf),
    )
}


def get_exporter(name: str) -> Exporter:
    """The export target called ``name``.

    Raises:
        UsageError: no target has that name; the message lists those that do.
    """
    try:
        return EXPORTERS[name]
    except KeyError:
        raise UsageError(f"unknown export format {name!r}; valid formats: {', '.join(EXPORTERS)}") from None


def run_export(name: str, graph_dir: Path, options: ExportOptions = ExportOptions()) -> ExportResult:
    """Export the build in ``graph_dir`` as ``name``.

    Raises:
        UsageError: an unknown format, no store in ``graph_dir``, or a missing option.
        ExportError: the target refused or failed.
    """
    exporter = get_exporter(name)
    return exporter.run(read_dataset(graph_dir, include_ontology=options.include_ontology), options)
