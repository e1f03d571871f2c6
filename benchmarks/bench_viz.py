"""Time-to-first-draw of graph views in Debian's chromium (headless, network off): ours against pyvis.

Usage::

    .venv/bin/python benchmarks/bench_viz.py [--sizes 500 2000 10000] [--tabular] [--graph DIR ...] [--shots /tmp/kg-viz-shots]

For each size a synthetic corpus is built through the real code (``build_graph`` → projection →
``write_view``) and drawn three ways: our view; pyvis with its defaults (``Network()``, which
fetches vis.js from a CDN, so offline it never draws); pyvis with ``cdn_resources="in_line"``.
Then the overview of the real corpus (``../shared/corpus``; with ``--tabular`` also its 120,000-row
parquet export). Time-to-first-draw is measured the same way for every page: from navigation
start to the first animation frame in which the network's canvas holds a painted pixel.
Screenshots of the seed document's view and of the corpus overview go to ``--shots``.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from kg.analysis import Projection, load_projection, project_quads  # noqa: E402
from kg.pipeline import build  # noqa: E402
from kg.rdf.build import build_graph  # noqa: E402
from kg.rdf.store import open_store  # noqa: E402
from kg.types import Record, RecordKind, SourceDoc  # noqa: E402
from kg.viz import ViewOptions, layout_view, select_view, write_view  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# Runs before any page script: polls each frame for the first painted pixel of the canvas.
FIRST_PAINT = """
window.__firstPaint = null;
(function poll() {
  const c = document.querySelector('canvas');
  if (c && c.width && c.height) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 16) if (d[i]) { window.__firstPaint = performance.now(); return; }
  }
  requestAnimationFrame(poll);
})();
"""


def synthetic_projection(nodes: int, seed: int = 1) -> Projection:
    """A corpus of made-up documents, built by ``build_graph``, with about ``nodes`` nodes."""
    rng = random.Random(seed)
    docs, records = [], []
    keywords = [f"keyword {i}" for i in range(max(20, nodes // 12))]
    themes = [f"theme {i}" for i in range(max(8, nodes // 40))]
    forces = [f"driving force {i}" for i in range(max(10, nodes // 15))]
    for d in range(max(2, nodes // 8)):
        doc_id = f"{d:032x}"
        docs.append(SourceDoc(
            doc_id=doc_id, file=f"synthetic/{doc_id}.md", sha256="", format="current", title=f"Document {d}",
            newsletter_date=dt.date(2023, 1, 1) + dt.timedelta(days=7 * (d % 100)),
            keywords=tuple(rng.sample(keywords, 3)), themes=tuple(rng.sample(themes, 2)), summary=f"Summary of {d}.",
        ))
        for r in range(6):
            kind = (RecordKind.SIGNAL, RecordKind.CONCERN, RecordKind.TECHNOLOGY)[r % 3]
            records.append(Record(
                doc_id=doc_id, kind=kind, file=f"synthetic/{doc_id}.md", line=20 + r, name=f"{kind.value} {d}.{r}",
                description=f"What {kind.value} {d}.{r} is.", relevancy=rng.randint(1, 5),
                driving_force=rng.choice(forces) if kind is RecordKind.SIGNAL else None,
            ))
    return project_quads(build_graph(docs, records).quads)


def _kill(proc: subprocess.Popen) -> None:
    """End the chromium we started and every process it started (its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Chromium:
    """Opens each page in a chromium of its own (headless, offline), killed if it overruns.

    A page busy in a long synchronous script (pyvis's physics stabilisation) blocks every
    DevTools call, so a timeout cannot be enforced from inside Playwright: a timer kills the
    browser process instead, and the blocked call then fails.
    """

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()

    def _launch(self, profile: Path) -> tuple[subprocess.Popen, object]:
        proc = subprocess.Popen(
            ["/usr/bin/chromium", "--headless", "--remote-debugging-port=0", f"--user-data-dir={profile}", *ARGS, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().split()) == 2):
            if time.monotonic() > deadline:
                _kill(proc)
                raise RuntimeError("chromium did not start")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        return proc, self._playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")

    def first_draw(self, path: Path, *, timeout: float = 120.0, shot: Path | None = None) -> tuple[str, int | None]:
        """(time to the first painted frame, or why there was none; nodes our page reports drawn)."""
        from playwright.sync_api import Error

        with tempfile.TemporaryDirectory(prefix="bench-chromium-", ignore_cleanup_errors=True) as profile:
            proc, browser = self._launch(Path(profile))
            timer = threading.Timer(timeout, _kill, (proc,))
            timer.start()
            blocked: list[str] = []
            painted, missing, drawn = None, False, None
            try:
                context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
                context.add_init_script(FIRST_PAINT)
                page = context.new_page()
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                           else (blocked.append(r.request.url), r.abort()))
                page.goto(path.resolve().as_uri(), timeout=timeout * 1000)
                while painted is None and not missing:
                    time.sleep(0.05)
                    painted = page.evaluate("window.__firstPaint")
                    missing = page.evaluate("typeof vis === 'undefined'")
                drawn = page.evaluate("window.KG_VIEW ? window.KG_VIEW.nodes : null")
                if shot is not None:
                    time.sleep(0.5)
                    page.screenshot(path=str(shot))
            except Error:
                pass  # killed by the timer: not drawn in time
            finally:
                timer.cancel()
                _kill(proc)
        remote = f", {len(blocked)} remote requests blocked" if blocked else ""
        if painted is not None:
            return f"{painted / 1000:.2f} s{remote}", drawn
        if missing:
            return f"FAILED: vis.js never loaded{remote}", drawn
        return f"not drawn in {timeout:.0f} s{remote}", drawn

    def close(self) -> None:
        self._playwright.stop()


def pyvis_page(projection: Projection, path: Path, **network_args) -> float:
    """Write the same graph with pyvis's own API and template; return the Python-side seconds."""
    from pyvis.network import Network

    started = time.perf_counter()
    net = Network(**network_args)
    graph = projection.graph
    for node, info in graph.nodes(data="info"):
        net.add_node(node, label=info.label[:40], title=info.label, group=info.kind)
    for s, o, rel in graph.edges(data="relation"):
        net.add_edge(s, o, title=rel)
    # pyvis copies its lib/ folder into the working directory: write from the page's folder.
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        net.write_html(path.name)
    finally:
        os.chdir(here)
    return time.perf_counter() - started


def ours(projection: Projection, path: Path, limit: int) -> tuple[float, float]:
    """Write our view; return (Python-side seconds, of which layout seconds)."""
    started = time.perf_counter()
    result = write_view(projection, ViewOptions(limit=limit, title=path.stem), path)
    return time.perf_counter() - started, result.layout_seconds


def spring_seconds(graph) -> str:
    """networkx's spring_layout on ``graph``, for comparison (it needs scipy above 500 nodes)."""
    import networkx as nx

    try:
        started = time.perf_counter()
        nx.spring_layout(graph, seed=0)
        return f"{time.perf_counter() - started:.2f} s"
    except ImportError as exc:
        return f"not run ({exc.name} is not installed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[500, 2000, 10000])
    parser.add_argument("--graph", type=Path, nargs="*", default=[], help="also the overview of these build folders")
    parser.add_argument("--tabular", action="store_true", help="also the overview of corpus + parquet export (~120k nodes)")
    parser.add_argument("--spring", action="store_true", help="also time networkx spring_layout at every size")
    parser.add_argument("--skip-corpus", action="store_true", help="skip the seed and ../shared/corpus builds")
    parser.add_argument("--shots", type=Path, default=Path("/tmp/kg-viz-shots"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-viz-"))
    chromium = Chromium()
    print(f"{'graph':<34} {'nodes':>7} {'edges':>7}  {'ours: python':>12} {'layout':>7}  {'ours: first draw':<18}"
          f" {'pyvis default':<48} {'pyvis in_line':<40} {'pyvis python':>12}")
    for size in args.sizes:
        projection = synthetic_projection(size)
        path = work / f"ours-{size}.html"
        seconds, layout = ours(projection, path, size)
        first, drawn = chromium.first_draw(path)
        selection = select_view(projection, ViewOptions(limit=size))
        sub = projection.graph.subgraph([info.iri for info in selection.nodes])
        small = Projection(sub.copy(), projection.titles)
        default_s = pyvis_page(small, work / f"pyvis-default-{size}.html")
        default, _ = chromium.first_draw(work / f"pyvis-default-{size}.html")
        inline_s = pyvis_page(small, work / f"pyvis-inline-{size}.html", cdn_resources="in_line")
        inline, _ = chromium.first_draw(work / f"pyvis-inline-{size}.html")
        print(f"{'synthetic ' + str(size):<34} {drawn or 0:>7,} {small.graph.number_of_edges():>7,}  {seconds:>10.2f} s {layout:>5.2f} s"
              f"  {first:<18} {default:<48} {inline:<40} {max(default_s, inline_s):>10.2f} s",
              flush=True)
        import igraph  # noqa: F401  (the import is not layout time)

        started = time.perf_counter()
        layout_view(selection, physics_up_to=0)
        ours_layout = time.perf_counter() - started
        spring = "skipped (--spring to run it)"
        if args.spring or size <= 2000:
            spring = spring_seconds(sub)
        print(f"{'':<34} layout of {size:,} nodes: igraph Fruchterman-Reingold {ours_layout:.2f} s, "
              f"networkx spring_layout {spring}", flush=True)
    if (SHARED / "corpus").is_dir() and not args.skip_corpus:
        args.shots.mkdir(parents=True, exist_ok=True)
        seed = work / "seed"
        build([SHARED / "seeds" / "000_885cdc6b36a90210.txt"], seed)
        first, drawn = chromium.first_draw(seed / "graph.html", shot=args.shots / "seed-view.png")
        print(f"{'seed document (graph.html)':<34} {drawn or 0:>7,} {'':>7}  {'':>12} {'':>7}  {first:<18}")
        inputs = [SHARED / "corpus"] + ([SHARED / "data" / "futures-parquet"] if args.tabular else [])
        for name, paths in (("corpus overview", inputs[:1]), ("corpus + parquet overview", inputs[1:] and inputs)):
            if not paths:
                continue
            out = work / name.replace(" ", "-")
            started = time.perf_counter()
            build(paths, out)
            built = time.perf_counter() - started
            started = time.perf_counter()
            projection = load_projection(open_store(out))
            loaded = time.perf_counter() - started
            path = out / "overview.html"
            seconds, layout = ours(projection, path, 2000)
            shot = args.shots / "corpus-overview.png" if name == "corpus overview" else None
            first, drawn = chromium.first_draw(path, shot=shot)
            print(f"{name + f' of {projection.graph.number_of_nodes():,}':<34} {drawn or 0:>7,} {'':>7}  {seconds:>10.2f} s {layout:>5.2f} s"
                  f"  {first:<18} (build {built:.1f} s, store → projection {loaded:.1f} s)", flush=True)
        print(f"screenshots in {args.shots}")
    for folder in args.graph:
        started = time.perf_counter()
        projection = load_projection(open_store(folder))
        loaded = time.perf_counter() - started
        path = work / f"overview-{folder.name}.html"
        seconds, layout = ours(projection, path, 2000)
        first, drawn = chromium.first_draw(path)
        print(f"{f'{folder} overview of {projection.graph.number_of_nodes():,}':<34} {drawn or 0:>7,} {'':>7}  {seconds:>10.2f} s"
              f" {layout:>5.2f} s  {first:<18} (store → projection {loaded:.1f} s)", flush=True)
    chromium.close()


if __name__ == "__main__":
    main()
