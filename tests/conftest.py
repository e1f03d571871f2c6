"""Shared fixtures. Tests that need ../shared/, chromium or rapper skip with a reason where they
are absent; with KG_REQUIRE_ALL=1 (set by .ci/run) a missing requirement fails instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples" / "corpus"
SEED = SHARED / "seeds" / "000_885cdc6b36a90210.txt"
REQUIRE_ALL = os.environ.get("KG_REQUIRE_ALL") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) when ``condition`` is false."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared() -> Path:
    need((SHARED / "corpus").is_dir(), f"{SHARED} is absent (it ships beside the repository, not in it)")
    return SHARED


@pytest.fixture(scope="session")
def rapper() -> str:
    path = shutil.which("rapper")
    need(path is not None, "rapper (Debian package raptor2-utils) is not installed")
    return path


@pytest.fixture(scope="session")
def example_build(tmp_path_factory) -> Path:
    """The example corpus built once for the whole session."""
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("example-build")
    build([EXAMPLES], out)
    return out
