"""Median latency of every library query (kg/queries/*.rq) on the full real corpus: the Oxigraph
store ``kg query`` uses, side by side with rdflib's own SPARQL engine over the same graph in its
memory store, in the same run.

The corpus is ../shared/corpus plus ../shared/data/futures-parquet, built with
``kg.pipeline.build`` into a temporary folder (or ``--graph DIR``, a build to reuse). rdflib gets
graph.ttl plus the ontology graph the store adds to it, and a time cap per query (``--cap``):
a query still running at the cap is interrupted and reported as "> cap". Oxigraph gets the same
cap for its first run, in a child process.

Parameters are chosen from the data, so that each query has work to do: the document with the
most Closest links, the technology named by the most Technologies rows, the entity with the most
mentions.

Usage::

    .venv/bin/python benchmarks/bench_sparql.py [--runs 7] [--cap 60] [--graph DIR]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402
import rdflib  # noqa: E402

from kg.namespaces import PREFIXES  # noqa: E402
from kg.query import SparqlQuery, list_queries, open_graph, run_query  # noqa: E402
from kg.query.sparql import bind_params, to_rdflib  # noqa: E402
from kg.rdf.store import ONTOLOGY_GRAPH  # noqa: E402

SHARED = ROOT.parent / "shared"

CHOOSE = {
    "document": """
        SELECT ?value WHERE { ?d fs:relatedDocument ?r ; fs:documentId ?value }
        GROUP BY ?value ORDER BY DESC(COUNT(?r)) ?value LIMIT 1""",
    "technology": """
        SELECT ?value WHERE { ?row a fs:Technology ; rdfs:label ?value }
        GROUP BY ?value ORDER BY DESC(COUNT(?row)) ?value LIMIT 1""",
    "entity": """
        SELECT ?value WHERE {
          { SELECT ?e (COUNT(?m) AS ?n) WHERE { ?m oa:hasBody ?e } GROUP BY ?e ORDER BY DESC(?n) LIMIT 1 }
          OPTIONAL { ?e rdfs:label ?value }
        }""",
}
# Other parameter names a library query may take, and which chosen value stands in for them.
ALIASES = {"fact": "entity"}


class Capped(Exception):
    """rdflib ran past the cap."""


def _interrupt(signum, frame):
    raise Capped


def build_corpus(out: Path) -> float:
    from kg.pipeline import build
    from kg.settings import Settings

    started = time.perf_counter()
    build([SHARED / "corpus", SHARED / "data" / "futures-parquet"], out, Settings(write_html=False))
    return time.perf_counter() - started


def choose_params(store: ox.Store) -> dict[str, str]:
    chosen = {}
    for name, text in CHOOSE.items():
        rows = run_query(store, SparqlQuery(text)).values()
        chosen[name] = rows[0][0] if rows else ""
    for alias, name in ALIASES.items():
        chosen[alias] = chosen[name]
    return chosen


def _first_run(folder: str, query, params, conn) -> None:
    started = time.perf_counter()
    rows = len(run_query(open_graph(Path(folder)), query, params))
    conn.send((time.perf_counter() - started, rows))


def first_run_within(folder: Path, query, params, cap: float) -> tuple[float, int] | None:
    """Run once in a child process, killed at the cap: a pyoxigraph query cannot be interrupted
    from Python. Returns (seconds, rows), or None past the cap."""
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    child = context.Process(target=_first_run, args=(str(folder), query, params, theirs))
    child.start()
    try:
        return ours.recv() if ours.poll(cap) else None
    finally:
        child.kill()
        child.join()


def time_oxigraph(store, query, params, runs: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds (pyoxigraph runs the query in this thread, so CPU time shows
    what the machine's other load adds to the wall time), and the row count."""
    started = time.perf_counter()
    rows = len(run_query(store, query, params))  # warm-up
    if time.perf_counter() - started > 5:  # a slow query is timed twice, not --runs times
        runs = min(runs, 2)
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        run_query(store, query, params)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), rows


def time_rdflib(graph: rdflib.Graph, query, params, runs: int, cap: float) -> tuple[float | None, int | None]:
    bindings = {k: to_rdflib(v) for k, v in bind_params(query, params).items()}
    times, rows = [], None
    for _ in range(runs):
        signal.setitimer(signal.ITIMER_REAL, cap)
        started = time.perf_counter()
        try:
            rows = len(list(graph.query(query.text, initNs=PREFIXES, initBindings=bindings)))
        except Capped:
            return None, None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append(time.perf_counter() - started)
        if sum(times) > cap:  # a slow query is not worth repeating
            break
    return statistics.median(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (after one warm-up for Oxigraph)")
    parser.add_argument("--rdflib-runs", type=int, default=3, help="timed rdflib runs per query, while under the cap")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds an rdflib query may run")
    parser.add_argument("--graph", type=Path, help="an existing build of the corpus to reuse")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _interrupt)

    with tempfile.TemporaryDirectory(prefix="kg-bench-sparql-") as tmp:
        out = args.graph or Path(tmp)
        if args.graph is None:
            if not (SHARED / "corpus").is_dir():
                sys.exit(f"{SHARED} is absent: the benchmark needs the real corpus beside the repository")
            print(f"building {SHARED / 'corpus'} + {SHARED / 'data' / 'futures-parquet'} …", flush=True)
            print(f"  built in {build_corpus(out):.1f} s", flush=True)
        store = open_graph(out)
        print(f"store: {len(store):,} quads; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

        started = time.perf_counter()
        graph = rdflib.Graph()
        graph.parse(out / "graph.ttl", format="turtle")
        ontology = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(ONTOLOGY_GRAPH))
        graph.parse(data=ontology.decode(), format="nt")
        print(f"rdflib memory store: {len(graph):,} triples, loaded in {time.perf_counter() - started:.1f} s", flush=True)

        params = choose_params(store)
        print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items()), flush=True)
        print()
        head = f"{'query':31} {'rows':>7} {'oxigraph ms':>12} {'(cpu ms)':>9} {'rdflib ms':>12} {'speed-up':>9}"
        print(head)
        print("-" * len(head))
        for query in list_queries():
            if any(p.name not in params for p in query.params):
                print(f"{query.name:31} (skipped: no value for {', '.join(p.name for p in query.params if p.name not in params)})")
                continue
            wanted = {p.name: params[p.name] for p in query.params}
            if first_run_within(out, query, wanted, args.cap) is None:
                print(f"{query.name:31} {'':>7} {f'> {args.cap * 1000:,.0f}':>12} {'':>9} {'(rdflib not run)':>12}", flush=True)
                continue
            ox_s, ox_cpu, ox_rows = time_oxigraph(store, query, wanted, args.runs)
            rl_s, rl_rows = time_rdflib(graph, query, wanted, args.rdflib_runs, args.cap)
            if rl_s is None:
                rdflib_ms, speedup = f"> {args.cap * 1000:,.0f}", f"> {args.cap / ox_s:,.0f}×"
            else:
                rdflib_ms, speedup = f"{rl_s * 1000:,.1f}", f"{rl_s / ox_s:,.0f}×"
                if rl_rows != ox_rows:
                    speedup += f" (rdflib: {rl_rows} rows)"
            print(f"{query.name:31} {ox_rows:>7,} {ox_s * 1000:>12,.1f} {ox_cpu * 1000:>9,.1f} {rdflib_ms:>12} {speedup:>9}", flush=True)


if __name__ == "__main__":
    main()
