"""Extraction as tasks on a Dask distributed cluster (``kg build --scheduler ADDRESS``).

The pipeline is not sent: each worker builds it once from its recipe (gazetteer, table terms,
model name) and keeps it for later tasks, so a task carries only its texts. Workers need
``foresight-kg`` installed, and the same version, as the machine that submits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spacy.language import Language

from kg.errors import UsageError
from kg.extract.mentions import Batch, BatchResult, scan_batches
from kg.extract.nlp import TableTerm, make_pipeline
from kg.gazetteer import Gazetteer

__all__ = ["PipelineRecipe", "Scanner"]


@dataclass(frozen=True)
class PipelineRecipe:
    """What a worker needs to build the same pipeline as the submitting machine."""

    gazetteer: Gazetteer
    terms: tuple[TableTerm, ...]
    spacy_model: str | None
    fingerprint: str

    def make(self) -> Language:
        return make_pipeline(self.gazetteer, self.terms, self.spacy_model)


_PIPELINES: dict[str, Language] = {}


def _scan_task(batches: Sequence[Batch], recipe: PipelineRecipe) -> list[BatchResult]:
    nlp = _PIPELINES.get(recipe.fingerprint)
    if nlp is None:
        _PIPELINES.clear()
        nlp = _PIPELINES[recipe.fingerprint] = recipe.make()
    return scan_batches(batches, nlp)


class Scanner:
    """Scans batches of text as tasks on the Dask scheduler at ``address``.

    Raises:
        UsageError: ``dask.distributed`` is not installed, or the scheduler cannot be reached.
    """

    def __init__(self, address: str, recipe: PipelineRecipe, *, chunk: int = 2000, timeout: float = 10) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise UsageError("--scheduler needs dask.distributed: pip install 'foresight-kg[scale]'") from exc
        try:
            self._client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler {address}: cannot reach a Dask scheduler there ({exc})") from exc
        self._recipe = recipe
        self._chunk = chunk
        self.tasks = 0

    def scan(self, batches: Sequence[Batch]) -> list[BatchResult]:
        recipe = self._client.scatter(self._recipe, broadcast=True)
        chunks = [list(batches[i:i + self._chunk]) for i in range(0, len(batches), self._chunk)]
        futures = self._client.map(_scan_task, chunks, recipe=recipe, pure=False)
        self.tasks += len(futures)
        return [result for part in self._client.gather(futures) for result in part]

    def close(self) -> None:
        self._client.close()
