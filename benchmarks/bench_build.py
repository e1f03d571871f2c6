"""Build the real corpus under ../shared/ and print seconds per stage, triples and peak memory.

Usage: .venv/bin/python benchmarks/bench_build.py [--with-rows] [--no-extract]

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


def child(paths: list[str], out: str, extract: bool) -> None:
    from kg.pipeline import build
    from kg.settings import Settings

    start = time.perf_counter()
    report = build([Path(p) for p in paths], Path(out), Settings(write_html=False, extract=extract))
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "peak_mb": peak_mb, "documents": report.documents, "records": report.records,
                      "triples": report.triples, "rejected": report.rejected, "timings": dict(report.timings)}))


def measure(label: str, paths: list[Path], extract: bool) -> None:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, __file__, "--child", out, *(["--no-extract"] if not extract else []), *map(str, paths)],
                             capture_output=True, text=True, check=True)
    data = json.loads(run.stdout.strip().splitlines()[-1])
    stages = " · ".join(f"{k} {v:.2f}s" for k, v in data["timings"].items())
    print(f"{label}: {data['wall']:.2f} s, {data['documents']} documents, {data['records']} records, "
          f"{data['triples']} triples, peak RSS {data['peak_mb']:.0f} MB, {data['rejected']} rejected\n    {stages}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--with-rows", action="store_true", help="also build the ~97,000 rows of the parquet export")
    parser.add_argument("--no-extract", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child[1:], args.child[0], not args.no_extract)
        return
    if not (SHARED / "corpus").is_dir():
        sys.exit(f"{SHARED} is absent: this benchmark measures the real corpus there")
    measure("markdown corpus (130 files)", [SHARED / "corpus"], not args.no_extract)
    if args.with_rows:
        measure("corpus + parquet rows", [SHARED / "corpus", SHARED / "data" / "futures-parquet"], not args.no_extract)


if __name__ == "__main__":
    main()
