"""``--scheduler``: extraction as tasks on a Dask cluster (a LocalCluster started here, with
worker processes), giving the same bytes as a local build."""

from __future__ import annotations

import pytest

from kg.errors import UsageError
from kg.pipeline import build
from kg.settings import Settings

from conftest import EXAMPLES, need

try:
    import distributed
except ImportError:  # the [scale] extra; CI installs it with [test]
    distributed = None


@pytest.fixture(autouse=True)
def _needs_dask() -> None:
    need(distributed is not None, "dask.distributed is not installed (pip install 'foresight-kg[scale]')")


def _pipelines_built() -> int:
    from kg.extract import dask_scan as remote

    return len(remote._PIPELINES)


@pytest.mark.slow
def test_cluster_build_matches_local_build(tmp_path):
    local = tmp_path / "local"
    build([EXAMPLES], local, Settings(write_html=False, validate=False, cache=False))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = tmp_path / "remote"
        build([EXAMPLES], remote, Settings(write_html=False, validate=False, cache=False, scheduler=cluster.scheduler_address))
        built = client.run(_pipelines_built)
    assert sum(built.values()) >= 1, f"no worker made the pipeline, so no task ran there: {built}"
    assert (remote / "graph.ttl").read_bytes() == (local / "graph.ttl").read_bytes()
    assert (remote / "merges.csv").read_bytes() == (local / "merges.csv").read_bytes()


def test_unreachable_scheduler_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot reach a Dask scheduler"):
        build([EXAMPLES], tmp_path / "out", Settings(write_html=False, validate=False, cache=False,
                                                       scheduler="tcp://127.0.0.1:9"))
