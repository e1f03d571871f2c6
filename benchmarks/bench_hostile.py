"""Build each hostile input of the robustness suite beside the example corpus; print what became
of it, the wall time and the peak memory of its build.

Usage: .venv/bin/python benchmarks/bench_hostile.py [NAME ...]

Every build is ``kg build IN --out OUT --no-validate --no-html --quiet`` in a fresh child process
capped at 8 GB of address space (``RLIMIT_AS``); its peak RSS is that child's own, from
``os.wait4``. An input counts as handled when the build printed no traceback, every example was
built, and the input was either parsed (ok, or warnings naming file and line) or rejected with
an error naming its file and line; only a fault of the whole file (empty, an id already taken,
not parquet, a name telling no table) has no line to name.
A build taking longer than 60 s (the tests' budget for a build of small inputs) is flagged.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hostile import EXAMPLES, HOSTILE, write_all  # noqa: E402

MEMORY_LIMIT = 8 * 1024**3
# The budget tests/test_hostile.py gives a build of small inputs; a build past it is flagged.
BUDGET_SECONDS = 60
WHOLE_FILE = ("empty file", "already used by", "not a readable parquet file", "cannot tell which table")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_build(folder: Path, out: Path) -> tuple[int, float, float, str]:
    """Build ``folder`` into ``out`` in a child process: exit code, seconds, peak RSS in MB, stderr."""
    log = out.with_name(out.name + ".stderr")
    with open(log, "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "build", str(folder), "--out", str(out), "--no-validate", "--no-html", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, preexec_fn=_limit_memory,
        )
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:
            child.kill()
            raise
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, wall, usage.ru_maxrss / 1024, log.read_text(encoding="utf-8", errors="replace")


def judge(paths: list[Path], folder: Path, out: Path, code: int, stderr: str) -> tuple[str, str, bool]:
    """The input's outcome (ok/warning/rejected/crashed), its first problem, and whether it was handled."""
    if "Traceback" in stderr or code not in (0, 1) or not (out / "report.json").exists():
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
        return "crashed", last, False
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    mine = {f"{folder.name}/{p.relative_to(folder).as_posix()}" for p in paths}
    items = [i for i in report["inputs"] if i["file"] in mine]
    examples = [i for i in report["inputs"] if i["file"] not in mine]
    statuses = {i["status"] for i in items}
    outcome = "rejected" if "rejected" in statuses else "warning" if "warning" in statuses else "ok"
    problems = sorted((p for i in items for p in i["problems"]), key=lambda p: p["severity"] != "error")
    first = ""
    if problems:
        p = problems[0]
        first = p["file"] + (f":{p['line']}" if p["line"] is not None else "") + f": {p['message']}"
    located = all(p["file"] in mine and (p["line"] is not None or any(w in p["message"] for w in WHOLE_FILE))
                  for p in problems if p["severity"] == "error")
    handled = (
        len(items) == len(paths)
        and located
        and all(i["status"] in ("ok", "warning") for i in examples)
        and (code == 1) == ("rejected" in statuses)
    )
    return outcome, first, handled


def _size(paths: list[Path]) -> str:
    total = float(sum(p.stat().st_size for p in paths))
    if total < 1024:
        return f"{total:.0f} B"
    if total < 1024**2:
        return f"{total / 1024:.1f} KB"
    return f"{total / 1024**2:.1f} MB"


def main(names: list[str]) -> int:
    names = names or list(HOSTILE)
    handled = tracebacks = 0
    slow: list[str] = []
    largest: tuple[str, int, float, float] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        base = Path(tmp)
        folder = base / "in-baseline"
        shutil.copytree(EXAMPLES, folder)
        code, wall, peak, _ = run_build(folder, base / "out-baseline")
        print(f"baseline: the {len(list(EXAMPLES.glob('*.md')))} examples alone: exit {code}, {wall:.1f} s, {peak:.0f} MB peak RSS")
        print(f"each row: one hostile input built beside the examples, limit {MEMORY_LIMIT // 1024**3} GB address space\n")
        header = f"{'input':22} {'size':>9} {'outcome':9} {'wall s':>7} {'peak MB':>8}  first problem"
        print(header)
        print("-" * len(header))
        for name in names:
            folder = base / f"in-{name}"
            shutil.copytree(EXAMPLES, folder)
            paths = write_all(folder, (name,))[name]
            out = base / f"out-{name}"
            code, wall, peak, stderr = run_build(folder, out)
            tracebacks += "Traceback" in stderr
            outcome, first, ok = judge(paths, folder, out, code, stderr)
            handled += ok
            flag = "" if ok else "  << NOT HANDLED"
            if wall > BUDGET_SECONDS:
                slow.append(name)
                flag += f"  << over {BUDGET_SECONDS} s"
            print(f"{name:22} {_size(paths):>9} {outcome:9} {wall:7.1f} {peak:8.0f}  {first[:120]}{flag}", flush=True)
            total = sum(p.stat().st_size for p in paths)
            if largest is None or total > largest[1]:
                largest = (name, total, wall, peak)
            shutil.rmtree(folder)
            shutil.rmtree(out, ignore_errors=True)
    print()
    if largest is not None:
        print(f"largest input: {largest[0]} ({largest[1] / 1024**2:.1f} MB): {largest[2]:.1f} s, {largest[3]:.0f} MB peak RSS")
    print(f"{len(names)} inputs tried, {handled} handled (parsed or rejected with file+line), {tracebacks} tracebacks")
    print(f"{len(slow)} builds over {BUDGET_SECONDS} s" + (f": {', '.join(slow)}" if slow else ""))
    return 0 if handled == len(names) and not tracebacks and not slow else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
