"""The full real corpus, end to end, and what it is measured against.

Usage:
    .venv/bin/python benchmarks/bench_build.py [--jobs N] [--scale N] [--no-rdflib] [--no-extract] [--validate]

Builds the 130 markdown documents and the ~97,000 parquet rows under ../shared/ and prints,
from the same run:

* wall time per stage (parse, extract, resolve, graph, write, store, html), triples and peak RSS
  of the build (each build in a fresh child process, so that its peak is its own);
* extraction against bare ``nlp.pipe`` over the same texts with the same pipeline;
* the graph stages against (a) a plain-rdflib build of the same triples (``Graph.add`` and
  Turtle; past ``--rdflib-cap`` seconds a lower bound is printed) and (b) the floor,
  pyoxigraph loading and serialising those triples;
* a rebuild after one changed document (the cache in the output folder), against the full build,
  then a build with nothing changed;
* with ``--scale N``, the same rows N times over as N times as many documents, against 1x;
* with ``--validate``, the SHACL validation of the full build (``kg validate`` of its folder),
  which the builds above leave out (``--no-validate``), as a user with a large corpus would.

The markdown corpus is copied to a temporary folder (one of its documents is edited there);
nothing under ../shared/ is written.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PARQUET = SHARED / "data" / "futures-parquet"
STAGES = ("parse", "extract", "resolve", "graph", "validate", "write", "store", "html")


# ----------------------------------------------------------------------------- child modes


def child_build(out: str, paths: list[str], jobs: int, extract: bool) -> dict:
    from kg.pipeline import build
    from kg.settings import Settings

    start = time.perf_counter()
    report = build([Path(p) for p in paths], Path(out), Settings(validate=False, extract=extract, jobs=jobs))
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    cpu = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
    return {"wall": wall, "cpu": cpu, "peak_mb": _peak_mb(), "child_peak_mb": children.ru_maxrss / 1024,
            "documents": report.documents, "records": report.records,
            "triples": report.triples, "rejected": report.rejected, "timings": dict(report.timings),
            "reused": [list(r) for r in report.reused], "up_to_date": report.up_to_date}


def child_bare(paths: list[str]) -> dict:
    """Bare ``nlp.pipe`` over exactly the texts extraction reads, with the same pipeline."""
    from kg.extract.mentions import _batches, table_terms, text_units
    from kg.extract.nlp import make_pipeline
    from kg.gazetteer import DEFAULT_GAZETTEERS, load_gazetteer
    from kg.pipeline import collect_documents, discover_inputs, read_inputs
    from kg.rdf.build import assign_record_iris, distinct_records

    docs, records, _ = collect_documents(read_inputs(discover_inputs([Path(p) for p in paths])))
    rows = distinct_records(records)
    texts = [text for text, _ in _batches(text_units(docs, rows, assign_record_iris(rows)))]
    nlp = make_pipeline(load_gazetteer(DEFAULT_GAZETTEERS), table_terms(rows))
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=256):
        pass
    return {"bare_pipe": time.perf_counter() - start, "texts": len(texts), "chars": sum(map(len, texts))}


def child_floor(ttl: str) -> dict:
    """The same triples at the pyoxigraph floor: loaded into a store and written as Turtle."""
    import pyoxigraph as ox

    triples = list(ox.parse(path=ttl, format=ox.RdfFormat.TURTLE))
    result: dict = {"triples": len(triples)}
    start = time.perf_counter()
    store = ox.Store()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    store.dump(format=ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph())
    result["floor_memory"] = time.perf_counter() - start
    del store
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        store = ox.Store(folder)
        store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        store.flush()
        store.dump(format=ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph())
        result["floor_disk"] = time.perf_counter() - start
        del store
    return result


def child_validate(out: str) -> dict:
    """``kg validate OUT``: the store loaded, then checked against the shapes."""
    from kg.rdf.validate import validate_path

    start = time.perf_counter()
    report = validate_path(Path(out))
    return {"wall": time.perf_counter() - start, "peak_mb": _peak_mb(), "conforms": report.conforms,
            "results": len(report.results), "triples": report.triples}


def child_rdflib(ttl: str) -> None:
    """The same triples built the plain-rdflib way; prints the time of each phase as it ends,
    so that the parent can report a lower bound when it has to stop waiting."""
    import pyoxigraph as ox
    import rdflib

    triples = list(ox.parse(path=ttl, format=ox.RdfFormat.TURTLE))

    def term(t):
        if isinstance(t, ox.NamedNode):
            return rdflib.URIRef(t.value)
        if isinstance(t, ox.Literal):
            plain = t.language or t.datatype.value.endswith("#string")
            return rdflib.Literal(t.value, lang=t.language, datatype=None if plain else rdflib.URIRef(t.datatype.value))
        return rdflib.BNode(t.value)

    converted = [(term(t.subject), term(t.predicate), term(t.object)) for t in triples]
    del triples
    start = time.perf_counter()
    graph = rdflib.Graph()
    for triple in converted:
        graph.add(triple)
    print(json.dumps({"add": time.perf_counter() - start}), flush=True)
    graph.serialize(format="turtle")
    print(json.dumps({"total": time.perf_counter() - start}), flush=True)


def time_rdflib(ttl: Path, cap: float) -> tuple[float, float | None]:
    """(seconds for Graph.add, seconds in all or None when past ``cap``)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", "rdflib", str(ttl)], stdout=subprocess.PIPE, text=True)
    add, total, start = None, None, time.perf_counter()
    try:
        proc.wait(timeout=cap)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for line in proc.stdout.read().splitlines():
        data = json.loads(line)
        add = data.get("add", add)
        total = data.get("total", total)
    return (add if add is not None else time.perf_counter() - start), total


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- parent


def run_child(*args: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"child {args[:2]} failed:\n{proc.stderr[-3000:]}")
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    found["process_wall"] = time.perf_counter() - start  # with the interpreter's start and the imports
    return found


def show_build(label: str, data: dict) -> None:
    stages = " · ".join(f"{k} {data['timings'][k]:.1f}" for k in STAGES if k in data["timings"])
    print(f"{label}: {data['wall']:.1f} s wall, peak RSS {data['peak_mb']:.0f} MB (largest worker {data['child_peak_mb']:.0f} MB); "
          f"{data['documents']:,} documents, "
          f"{data['records']:,} rows, {data['triples']:,} triples, {data['rejected']} rejected")
    print(f"    seconds: {stages}")
    print(f"    CPU {data['cpu']:.0f} s in all processes (the build, its extraction workers, the store's loader and "
          f"writers, the view): {data['cpu'] / data['wall']:.2f} cores busy on average; 'store' is the wait at the end")


def scale_rows(times: int, folder: Path) -> Path:
    """The parquet rows ``times`` over: copy k of document ``src`` becomes document ``src-xk``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    for path in sorted(PARQUET.glob("*.parquet*")):
        table = pq.read_table(path)
        copies = [table]
        for k in range(1, times):
            src = pc.binary_join_element_wise(pc.cast(table["src"], pa.string()), pa.scalar(f"-x{k}"), "")
            copies.append(table.set_column(table.schema.get_field_index("src"), "src", src))
        pq.write_table(pa.concat_tables(copies), folder / path.name.replace(".gzip", ""))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scale", type=int, default=0, help="also build the rows N times over (10 for the issue's 10x)")
    parser.add_argument("--no-rdflib", action="store_true", help="skip the plain-rdflib build (minutes at this size)")
    parser.add_argument("--rdflib-cap", type=float, default=900, help="seconds to wait for rdflib before reporting a lower bound")
    parser.add_argument("--no-extract", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="only the --scale comparison")
    parser.add_argument("--validate", action="store_true", help="also time SHACL validation of the full build (minutes)")
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "build":
            out, jobs, extract, *paths = rest
            print(json.dumps(child_build(out, paths, int(jobs), extract == "1")))
        elif mode == "bare":
            print(json.dumps(child_bare(rest)))
        elif mode == "validate":
            print(json.dumps(child_validate(rest[0])))
        elif mode == "floor":
            print(json.dumps(child_floor(rest[0])))
        elif mode == "rdflib":
            child_rdflib(rest[0])
        return
    if not (SHARED / "corpus").is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark measures the real corpus there")
    extract = "0" if args.no_extract else "1"
    with tempfile.TemporaryDirectory(prefix="kg-bench-build-") as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        shutil.copytree(SHARED / "corpus", corpus)
        out = tmp / "out"
        if args.only_scale:
            return scale_up(args, tmp, extract)
        full = run_child("build", str(out), str(args.jobs), extract, str(corpus), str(PARQUET))
        show_build(f"full corpus, --jobs {args.jobs}, first build", full)

        if extract == "1":
            bare = run_child("bare", str(corpus), str(PARQUET))
            ratio = full["timings"]["extract"] / bare["bare_pipe"]
            print(f"    extraction {full['timings']['extract']:.1f} s vs bare nlp.pipe {bare['bare_pipe']:.1f} s over the same "
                  f"{bare['texts']:,} texts ({bare['chars'] / 1e6:.1f} M characters), one process: {ratio:.2f}x")

        compare = run_child("floor", str(out / "graph.ttl"))
        ours = full["timings"]["graph"] + full["timings"]["write"]
        ours_store = ours + full["timings"].get("store", 0)
        print(f"    same {compare['triples']:,} triples: pyoxigraph floor {compare['floor_memory']:.1f} s in memory, "
              f"{compare['floor_disk']:.1f} s on disk (load + Turtle)")
        print(f"    graph + write {ours:.1f} s = {ours / compare['floor_memory']:.2f}x the in-memory floor; "
              f"graph + write + store wait {ours_store:.1f} s = {ours_store / compare['floor_disk']:.2f}x the on-disk floor")
        if not args.no_rdflib:
            add, total = time_rdflib(out / "graph.ttl", args.rdflib_cap)
            if total is None:
                print(f"    plain rdflib: Graph.add of the triples {add:.0f} s; with its Turtle writer not done in {args.rdflib_cap:.0f} s: "
                      f"ours end to end is more than {args.rdflib_cap / full['wall']:.1f}x faster")
            else:
                print(f"    plain rdflib (Graph.add {add:.0f} s + Turtle) {total:.0f} s for the graph stages alone: "
                      f"ours end to end is {total / full['wall']:.1f}x faster, graph + write {total / ours:.1f}x")

        if args.validate:
            checked = run_child("validate", str(out))
            print(f"    SHACL validation of the full build ({checked['triples']:,} triples): {checked['wall']:.1f} s, "
                  f"peak RSS {checked['peak_mb']:,.0f} MB, conforms: {checked['conforms']} ({checked['results']} results)")

        documents = sorted(corpus.rglob("*.md"))
        target = documents[len(documents) // 2]
        text = target.read_text(encoding="utf-8")
        target.write_text(text.replace("## Summary\n", "## Summary\n\nThe Cabinet Office reviewed this report. ", 1), encoding="utf-8")
        again = run_child("build", str(out), str(args.jobs), extract, str(corpus), str(PARQUET))
        show_build(f"one document changed ({target.name}), rebuilt with the cache", again)
        print(f"    {again['wall'] / full['wall'] * 100:.1f} % of the full build; reused {again['reused']}")
        same = run_child("build", str(out), str(args.jobs), extract, str(corpus), str(PARQUET))
        print(f"nothing changed, built again: {same['wall']:.2f} s in the build, {same['process_wall']:.1f} s with the "
              f"interpreter and imports = {same['process_wall'] / full['wall'] * 100:.1f} % of the full build; "
              f"up to date: {same['up_to_date']}")

        if args.scale > 1:
            scale_up(args, tmp, extract)


def scale_up(args, tmp: Path, extract: str) -> None:
    """The parquet rows alone at 1x and at ``args.scale`` x, stage by stage."""
    rows = scale_rows(args.scale, tmp / f"rows-x{args.scale}")
    one = run_child("build", str(tmp / "x1"), str(args.jobs), extract, str(PARQUET))
    show_build("rows only, 1x", one)
    big = run_child("build", str(tmp / f"x{args.scale}"), str(args.jobs), extract, str(rows))
    show_build(f"rows only, {args.scale}x", big)
    if big["records"] < (args.scale - 0.5) * one["records"]:
        sys.exit(f"the {args.scale}x build read {big['records']:,} rows, not {args.scale}x {one['records']:,}: scale-up broken")
    print(f"    {args.scale}x the rows cost {big['wall'] / one['wall']:.1f}x the time and "
          f"{big['peak_mb'] / one['peak_mb']:.1f}x the peak memory")
    for stage in STAGES:
        if stage in one["timings"] and one["timings"][stage] > 0.5:
            print(f"      {stage}: {big['timings'][stage] / one['timings'][stage]:.1f}x")


if __name__ == "__main__":
    main()
