"""The process that loads a new store for ``kg.rdf.store.StoreLoader``.

Run as ``python -m kg.rdf.loader FOLDER ONTOLOGY GRAPH``: it creates an Oxigraph store in
FOLDER, bulk-loads each N-Quads file whose name arrives on a line of standard input (and
deletes it), and on an empty line loads the ontology (Turtle) into GRAPH, flushes, prints
``ok`` and exits. It is started fresh rather than forked because RocksDB, once used in a
process, does not survive a fork: a forked child's store waits forever on threads it lost.
"""

from __future__ import annotations

import os
import sys

import pyoxigraph as ox


def main(argv: list[str]) -> int:
    folder, ontology, graph = argv
    # Behind the build's own stages, which this only has to finish alongside.
    os.nice(10)
    store = ox.Store(folder)
    for line in sys.stdin:
        name = line.rstrip("\n")
        if not name:
            break
        store.bulk_load(path=name, format=ox.RdfFormat.N_QUADS)
        os.unlink(name)
    else:
        return 1  # input closed without the end mark: the build gave up
    store.bulk_load(path=ontology, format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(graph))
    store.flush()
    del store
    print("ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
