"""`kg build` as a user runs it: exit status, report.json, one clear line per bad input."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES

GOOD = (EXAMPLES / "ec39d07e862c313cec8e88471dd089e7.md").read_text(encoding="utf-8")


def kg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_build_examples_exits_zero_and_writes_outputs(tmp_path: Path):
    run = kg("build", str(EXAMPLES), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    for name in ("graph.ttl", "graph.html", "report.json", "store"):
        assert (tmp_path / "out" / name).exists(), name
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rejected"] == 0 and report["documents"] == 6
    assert {i["status"] for i in report["inputs"]} <= {"ok", "warning"}


def test_bad_inputs_rejected_good_ones_built(tmp_path: Path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "good.md").write_text(GOOD, encoding="utf-8")
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "binary.md").write_bytes(b"\x00\x01\x02PNG")
    (corpus / "latin1.md").write_bytes("# __Caf\u00e9__\n".encode("latin-1"))
    (corpus / "prose.md").write_text("hello\nworld\n", encoding="utf-8")
    run = kg("build", str(corpus), "--out", str(tmp_path / "out"))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    for name in ("empty.md", "binary.md", "latin1.md:1", "prose.md"):
        assert f"in/{name}" in run.stderr, name
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    status = {i["file"]: i["status"] for i in report["inputs"]}
    assert status["in/good.md"] == "ok"
    assert sorted(f for f, s in status.items() if s == "rejected") == ["in/binary.md", "in/empty.md", "in/latin1.md", "in/prose.md"]
    assert report["documents"] == 1 and report["records"] > 20

    # Run again with nothing changed: nothing is built, and the bad inputs are still reported.
    again = kg("build", str(corpus), "--out", str(tmp_path / "out"))
    assert again.returncode == 1 and "is up to date" in again.stderr
    for name in ("empty.md", "binary.md", "latin1.md:1", "prose.md"):
        assert f"in/{name}" in again.stderr, name


def test_missing_path_is_a_usage_error(tmp_path: Path):
    run = kg("build", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "no such file or folder" in run.stderr and "Traceback" not in run.stderr


def test_unknown_option_is_a_usage_error(tmp_path: Path):
    run = kg("build", str(EXAMPLES), "--frobnicate")
    assert run.returncode == 2


def test_outputs_replaced_atomically_leave_no_temporary_files(tmp_path: Path):
    out = tmp_path / "out"
    assert kg("build", str(EXAMPLES), "--out", str(out)).returncode == 0
    assert kg("build", str(EXAMPLES), "--out", str(out)).returncode == 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def _main_exit(monkeypatch, capfd, error: BaseException, tmp_path: Path) -> tuple[int, str]:
    import pytest

    import kg.cli
    import kg.pipeline

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(kg.pipeline, "build", fail)
    monkeypatch.setattr(sys, "argv", ["kg", "build", str(EXAMPLES), "--out", str(tmp_path / "out"), "-q"])
    with pytest.raises(SystemExit) as exit_:
        kg.cli.main()
    captured = capfd.readouterr()
    return exit_.value.code, " ".join((captured.out + captured.err).split())


def test_a_bug_exits_3_with_one_line_and_the_traceback_in_a_file(monkeypatch, capfd, tmp_path: Path):
    code, out = _main_exit(monkeypatch, capfd, RuntimeError("boom"), tmp_path)
    assert code == 3 and "Traceback" not in out and "RuntimeError: boom" in out
    log = Path(out.split("traceback in ", 1)[1].split(";", 1)[0].strip())
    assert "Traceback" in log.read_text(encoding="utf-8") and "boom" in log.read_text(encoding="utf-8")
    log.unlink()


def test_out_of_memory_exits_3_without_a_traceback(monkeypatch, capfd, tmp_path: Path):
    code, out = _main_exit(monkeypatch, capfd, MemoryError(), tmp_path)
    assert code == 3 and "out of memory" in out and "Traceback" not in out


def test_a_second_build_into_a_folder_in_use_waits_for_it(tmp_path: Path):
    """While another build holds the output folder, ``kg build`` says it waits, writes nothing,
    and builds once the folder is free."""
    import fcntl
    import os
    import threading

    out = tmp_path / "out"
    out.mkdir()
    held = os.open(out, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # as a build in progress holds it
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "build", str(EXAMPLES), "--out", str(out), "-q"],
                            stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(300, proc.kill)
    watchdog.start()
    try:
        first = proc.stderr.readline()
        assert "waiting for another build into" in first, first
        assert not any(out.iterdir()), "nothing is written while the folder is held"
        os.close(held)
        assert proc.wait() == 0, proc.stderr.read()
    finally:
        watchdog.cancel()
        proc.kill()
    assert (out / "graph.ttl").is_file() and (out / "store").is_dir()


def test_an_output_folder_that_is_a_file_is_a_usage_error(tmp_path: Path):
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    run = kg("build", str(EXAMPLES), "--out", str(tmp_path / "out"))
    assert run.returncode == 2 and "not a folder" in run.stderr


def test_a_disk_that_fills_during_a_build_is_one_clear_line_and_leaves_the_last_outputs_whole(tmp_path: Path):
    """A real write failure: the build runs with a file-size limit (RLIMIT_FSIZE), so writing
    its segments file fails with EFBIG as a full disk fails with ENOSPC."""
    import resource

    out = tmp_path / "out"
    assert kg("build", str(EXAMPLES), "--out", str(out), "-q").returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith("cache")}

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))

    run = subprocess.run([sys.executable, "-m", "kg.cli", "build", str(EXAMPLES), "--out", str(out), "-q", "--clean"],
                         capture_output=True, text=True, timeout=300, preexec_fn=small_files)
    assert run.returncode == 3, run.stderr
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr
    assert f"error: File too large: {out}" in run.stderr and "Free some disk space" in run.stderr
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    for name, data in before.items():
        assert (out / name).read_bytes() == data, f"{name} is not the last build's"
    assert kg("build", str(EXAMPLES), "--out", str(out), "-q").returncode == 0


def test_temporary_files_a_killed_build_left_are_removed_by_the_next(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".graph.ttl.k1ll3d.tmp").write_bytes(b"half a file")
    (out / ".store.k1ll3d.tmp").mkdir()
    (out / ".store.k1ll3d.tmp" / "000001.sst").write_bytes(b"half a store")
    (out / ".notes").write_text("the user's own", encoding="utf-8")
    assert kg("build", str(EXAMPLES), "--out", str(out), "-q").returncode == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".notes"]
