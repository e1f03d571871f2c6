"""Build the real corpus under ../shared/ and print seconds per stage, triples and peak memory.

Usage: .venv/bin/python benchmarks/bench_build.py [--with-rows] [--no-extract] [--jobs N] [--versus]

Each build runs in a fresh child process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def child(paths: list[str], out: str, extract: bool, jobs: int) -> None:
    from kg.pipeline import build
    from kg.settings import Settings

    start = time.perf_counter()
    report = build([Path(p) for p in paths], Path(out), Settings(write_html=False, validate=False, extract=extract, jobs=jobs))
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "peak_mb": peak_mb, "documents": report.documents, "records": report.records,
                      "triples": report.triples, "rejected": report.rejected, "timings": dict(report.timings)}))


def compare(ttl: Path) -> str:
    """The same triples built (a) the plain-rdflib way and (b) at the pyoxigraph floor."""
    import pyoxigraph as ox
    import rdflib

    triples = list(ox.parse(path=str(ttl), format=ox.RdfFormat.TURTLE))
    start = time.perf_counter()
    ox.serialize(triples, format=ox.RdfFormat.TURTLE)
    store = ox.Store()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    floor = time.perf_counter() - start
    def to_rdflib(term):
        if isinstance(term, ox.NamedNode):
            return rdflib.URIRef(term.value)
        if isinstance(term, ox.Literal):
            return rdflib.Literal(term.value, lang=term.language, datatype=None if term.language or term.datatype.value.endswith("#string") else rdflib.URIRef(term.datatype.value))
        return rdflib.BNode(term.value)
    converted = [(to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)) for t in triples]
    start = time.perf_counter()
    graph = rdflib.Graph()
    for triple in converted:
        graph.add(triple)
    graph.serialize(format="turtle")
    plain = time.perf_counter() - start
    return f"    same {len(triples)} triples: plain rdflib (Graph.add + Turtle) {plain:.1f} s; pyoxigraph floor (serialise + store) {floor:.1f} s"


def measure(label: str, paths: list[Path], extract: bool, jobs: int = 1, versus: bool = False) -> None:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, __file__, "--jobs", str(jobs), *(["--no-extract"] if not extract else []), "--child", out, *map(str, paths)],
                             capture_output=True, text=True, check=True)
        extra = compare(Path(out) / "graph.ttl") if versus else ""
    data = json.loads(run.stdout.strip().splitlines()[-1])
    stages = " · ".join(f"{k} {v:.2f}s" for k, v in data["timings"].items())
    print(f"{label}: {data['wall']:.2f} s, {data['documents']} documents, {data['records']} records, "
          f"{data['triples']} triples, peak RSS {data['peak_mb']:.0f} MB, {data['rejected']} rejected\n    {stages}")
    if extra:
        print(extra)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--with-rows", action="store_true", help="also build the ~97,000 rows of the parquet export")
    parser.add_argument("--no-extract", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--versus", action="store_true", help="also time plain rdflib and the pyoxigraph floor on the same triples")
    args = parser.parse_args()
    if args.child:
        child(args.child[1:], args.child[0], not args.no_extract, args.jobs)
        return
    if not (SHARED / "corpus").is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark measures the real corpus there")
    measure(f"markdown corpus (130 files), --jobs {args.jobs}", [SHARED / "corpus"], not args.no_extract, args.jobs, args.versus)
    if args.with_rows:
        measure(f"corpus + parquet rows, --jobs {args.jobs}", [SHARED / "corpus", SHARED / "data" / "futures-parquet"],
                not args.no_extract, args.jobs, args.versus)


if __name__ == "__main__":
    main()
