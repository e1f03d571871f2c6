"""Views opened in Debian's chromium (headless, network off): what they draw and what they never run."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import SEED, need
from kg.analysis import load_projection
from kg.rdf.store import open_store
from kg.viz import ViewOptions, write_view

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAYLOAD = "<img src=x onerror=alert(1)>"
HOSTILE = f"""# __Payload {PAYLOAD} report__, (from page [20240407](https://kghosh.substack.com/p/20240407).)

## Keywords

* injection {PAYLOAD}

## Themes

* security

## Summary

A summary with {PAYLOAD} and <script>alert(2)</script> in it.

## Signals

| name | description | change | 10-year | driving-force | relevancy |
|:--|:--|:--|:--|:--|--:|
| {PAYLOAD} | Text <b onmouseover=alert(3)>bold</b> {PAYLOAD} | more | later | force | 4 |
"""


@pytest.fixture(scope="module")
def browser() -> Iterator:
    need(Path(CHROMIUM).exists() or shutil.which("chromium") is not None, "Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@dataclass
class Opened:
    """A view open in chromium, with every request it tried beyond the file and every dialog."""

    page: object
    attempts: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def view(self, key: str):
        return self.page.evaluate(f"window.KG_VIEW.{key}")


def open_offline(browser, path: Path, *, bypass_csp: bool = False, timeout: float = 60) -> Opened:
    """Open ``path`` with the network off; return once vis-network has drawn it."""
    context = browser.new_context(offline=True, bypass_csp=bypass_csp, viewport={"width": 1280, "height": 800})
    opened = Opened(context.new_page())

    def route(r) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            opened.attempts.append(r.request.url)
            r.abort()

    opened.page.route("**/*", route)
    opened.page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
    opened.page.on("pageerror", lambda e: opened.errors.append(str(e)))
    opened.page.goto(path.resolve().as_uri())
    deadline = time.monotonic() + timeout
    # Polled from Python: the page's CSP forbids the eval Playwright's wait_for_function needs.
    while not opened.page.evaluate("Boolean(window.KG_VIEW && window.KG_VIEW.drawn)"):
        assert time.monotonic() < deadline and not opened.errors, f"not drawn: {opened.errors}"
        time.sleep(0.05)
    return opened


def test_build_view_draws_every_node_offline(browser, example_build: Path):
    opened = open_offline(browser, example_build / "graph.html")
    expected = load_projection(open_store(example_build)).graph.number_of_nodes()
    assert opened.view("nodes") == expected and opened.attempts == [] and opened.errors == []


def test_large_view_draws_its_precomputed_layout_without_physics(browser, example_build: Path, tmp_path: Path):
    path = tmp_path / "big.html"
    write_view(load_projection(open_store(example_build)), ViewOptions(limit=150), path, physics_up_to=100)
    opened = open_offline(browser, path)
    assert (opened.view("nodes"), opened.view("physics"), opened.attempts) == (150, False, [])


@pytest.fixture(scope="module")
def hostile_view(tmp_path_factory) -> Path:
    from kg.pipeline import build

    folder = tmp_path_factory.mktemp("hostile")
    (folder / "in").mkdir()
    (folder / "in" / "0123456789abcdef0123456789abcdef.md").write_text(HOSTILE, encoding="utf-8")
    build([folder / "in"], folder / "out")
    return folder / "out" / "graph.html"


def _hover_payload_node(opened: Opened) -> str:
    """Hover the node labelled with the payload and return the tooltip's text."""
    index = opened.page.evaluate(
        f"JSON.parse(document.getElementById('kg-data').textContent).details.findIndex(d => d.label === {PAYLOAD!r})"
    )
    x, y = opened.page.evaluate(
        f"(() => {{ const n = KG_VIEW.network; const p = n.canvasToDOM(n.getPosition({index}));"
        " const r = document.getElementById('net').getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; })()"
    )
    opened.page.mouse.move(x, y)
    opened.page.wait_for_selector("#tip", state="visible", timeout=5000)
    return opened.page.inner_text("#tip")


def test_payload_in_a_document_shows_as_text_and_runs_nothing(browser, hostile_view: Path):
    opened = open_offline(browser, hostile_view)
    tooltip = _hover_payload_node(opened)
    assert PAYLOAD in tooltip and "Text <b onmouseover=alert(3)>bold</b>" in tooltip
    assert opened.dialogs == [] and opened.page.evaluate("document.querySelectorAll('img, [onerror], [onmouseover]').length") == 0


def test_payload_runs_nothing_even_without_the_csp(browser, hostile_view: Path):
    opened = open_offline(browser, hostile_view, bypass_csp=True)
    opened.page.fill("#find", "payload")
    opened.page.press("#find", "Enter")
    panel = opened.page.inner_text("#panel")
    _hover_payload_node(opened)
    assert f"Payload {PAYLOAD} report" in panel and "<script>alert(2)</script>" in panel
    assert opened.dialogs == [] and opened.page.evaluate("document.querySelectorAll('img, [onerror], [onmouseover]').length") == 0


@pytest.mark.shared
def test_seed_document_view_draws_offline(browser, shared: Path, tmp_path: Path):
    from kg.pipeline import build

    build([SEED], tmp_path)
    opened = open_offline(browser, tmp_path / "graph.html")
    expected = load_projection(open_store(tmp_path)).graph.number_of_nodes()
    assert opened.view("nodes") == expected and opened.attempts == []
