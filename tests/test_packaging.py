"""A wheel (``pip install foresight-kg``, not ``-e``) carries everything a build reads.

Dask workers and users outside a checkout install the package this way; before, the wheel
left out ``ontology/`` (the ontology, the shapes, the gazetteers) and could not build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kg.pipeline import build
from kg.settings import Settings

from conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built offline from a copy of the project (the build leaves files beside its source)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("kg", "ontology"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
                   check=True, capture_output=True, text=True)
    (found,) = out.glob("foresight_kg-*.whl")
    return found


def test_wheel_holds_the_ontology_shapes_gazetteers_and_extraction_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        assert f"kg/_ontology/{path.name}" in names, path.name
    for path in sorted((ROOT / "kg" / "extract" / "data").iterdir()):
        assert f"kg/extract/data/{path.name}" in names, path.name
    assert {n for n in names if n.startswith("kg/queries/")} == {f"kg/queries/{p.name}" for p in (ROOT / "kg" / "queries").glob("*.rq")}


def test_installed_wheel_builds_the_examples_as_a_checkout_does(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, text=True)
    # The installed copy comes first on the path; the dependencies come from this environment.
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import kg.gen_namespace as g; print(g.ONTOLOGY_DIR)"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where) == site / "kg" / "_ontology"

    run = subprocess.run([sys.executable, "-m", "kg.cli", "build", str(EXAMPLES), "--out", str(tmp_path / "out"),
                          "--no-html"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    build([EXAMPLES], tmp_path / "here", Settings(write_html=False))
    assert (tmp_path / "out" / "graph.ttl").read_bytes() == (tmp_path / "here" / "graph.ttl").read_bytes()
    assert (tmp_path / "out" / "validation.txt").read_text().startswith("Conforms: yes")
    provenance = (tmp_path / "out" / "provenance.ttl").read_text()
    for name in ("ontology/foresight.ttl", "ontology/shapes.ttl", "ontology/gazetteer-uk.ttl"):
        assert f'"{name}"' in provenance  # named as from a checkout, not by the site-packages path
