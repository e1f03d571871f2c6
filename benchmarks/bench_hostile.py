"""Build each hostile input of the robustness suite beside the example corpus and print what
became of it, the wall time and the peak memory of its build.

Usage: .venv/bin/python benchmarks/bench_hostile.py [NAME ...]

Every build is ``kg build IN --out OUT --no-validate --no-html --quiet`` in a fresh child process
capped at 3 GB of address space; its peak RSS comes from ``os.wait4`` (that child's own rusage).
An input counts as handled when it was parsed (ok, or a warning naming file and line) or
rejected with an error naming its file (and line, where the fault has one), the good examples
were all built, and the build printed no traceback.
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

MEMORY_LIMIT = 3 * 1024**3
TIMEOUT = 900


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_build(folder: Path, out: Path) -> tuple[int, float, float, str]:
    """Build ``folder`` into ``out`` in a child process: exit code, seconds, peak MB, stderr."""
    log = out.parent / f"{out.name}.stderr"
    with open(log, "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "build", str(folder), "--out", str(out), "--no-validate", "--no-html", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT, preexec_fn=_limit,
        )
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except KeyboardInterrupt:
            child.kill()
            raise
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, wall, usage.ru_maxrss / 1024, log.read_text(encoding="utf-8", errors="replace")


def _size(paths: list[Path]) -> str:
    total = sum(p.stat().st_size for p in paths)
    for unit in ("B", "KB", "MB"):
        if total < 1024 or unit == "MB":
            return f"{total:.0f} {unit}" if unit == "B" else f"{total:.1f} {unit}"
        total /= 1024
    return ""


def judge(name: str, paths: list[Path], folder: Path, out: Path, code: int, stderr: str) -> tuple[str, str, bool]:
    """Outcome (ok/warning/rejected), its first problem, and whether the input was handled."""
    if "Traceback" in stderr or code not in (0, 1) or not (out / "report.json").exists():
        return "crashed", (stderr.strip().splitlines() or [f"exit {code}"])[-1][:90], False
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    mine = {f"{folder.name}/{p.relative_to(folder).as_posix()}" for p in paths}
    items = [i for i in report["inputs"] if i["file"] in mine]
    examples = [i for i in report["inputs"] if i["file"] not in mine]
    statuses = {i["status"] for i in items}
    outcome = "rejected" if "rejected" in statuses else "warning" if "warning" in statuses else "ok"
    problems = [p for i in items for p in i["problems"]]
    problems.sort(key=lambda p: p["severity"] != "error")
    first = ""
    if problems:
        p = problems[0]
        where = p["file"] + (f":{p['line']}" if p["line"] is not None else "")
        first = f"{where}: {p['message']}"
    handled = (
        len(items) == len(paths)
        and all(p["file"] in mine for p in problems)
        and all(i["status"] in ("ok", "warning") for i in examples)
        and report["documents"] >= len(examples)
        and (code == 1) == ("rejected" in statuses)
    )
    return outcome, first, handled


def main(names: list[str]) -> int:
    names = names or list(HOSTILE)
    rows = []
    tracebacks = 0
    largest = None
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        base = Path(tmp)
        folder = base / "in-baseline"
        shutil.copytree(EXAMPLES, folder)
        code, wall, peak, _ = run_build(folder, base / "out-baseline")
        print(f"baseline: the {len(list(EXAMPLES.glob('*.md')))} examples alone: exit {code}, {wall:.1f} s, {peak:.0f} MB peak RSS\n")
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
            outcome, first, handled = judge(name, paths, folder, out, code, stderr)
            size = _size(paths)
            flag = "" if handled else "  << NOT HANDLED"
            print(f"{name:22} {size:>9} {outcome:9} {wall:7.1f} {peak:8.0f}  {first[:110]}{flag}", flush=True)
            rows.append((name, handled))
            total = sum(p.stat().st_size for p in paths)
            if largest is None or total > largest[1]:
                largest = (name, total, wall, peak)
            shutil.rmtree(folder)
            shutil.rmtree(out, ignore_errors=True)
    handled = sum(1 for _, ok in rows if ok)
    print()
    if largest:
        print(f"largest input: {largest[0]} ({largest[1] / 1024**2:.1f} MB): {largest[2]:.1f} s, {largest[3]:.0f} MB peak RSS "
              f"(limit {MEMORY_LIMIT // 1024**3} GB address space)")
    print(f"{len(rows)} inputs tried, {handled} handled (parsed or rejected with file+line), {tracebacks} tracebacks")
    return 0 if handled == len(rows) and not tracebacks else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
