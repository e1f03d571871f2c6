"""A build killed at any point (SIGKILL) leaves the previous outputs usable; the next build succeeds."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import EXAMPLES


def _build(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kg.cli", "build", str(EXAMPLES), "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> None:
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err


def _usable(out: Path, graph: bytes) -> None:
    assert (out / "graph.ttl").read_bytes() == graph
    store = ox.Store.read_only(str(out / "store"))
    assert bool(store.query("ASK { GRAPH ?g { ?s ?p ?o } }"))


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0])
def test_killed_build_leaves_previous_outputs_intact(tmp_path: Path, delay: float):
    out = tmp_path / "out"
    _finish(_build(out))
    graph = (out / "graph.ttl").read_bytes()
    victim = _build(out)
    time.sleep(delay)
    if victim.poll() is None:
        os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=60)
    # Same input, so a build that finished before the kill wrote the same bytes.
    _usable(out, graph)
    _finish(_build(out))
    _usable(out, graph)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
