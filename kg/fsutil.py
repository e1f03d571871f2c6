"""Atomic file and folder replacement: a reader sees the old output or the new, never half."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_dir", "atomic_write", "hold_folder", "naming", "open_beside", "replace_with", "write_bytes_atomic", "write_text_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp/mkdtemp create 0600/0700; outputs get the modes an ordinary file or folder would.
_FILE_MODE = 0o666 & ~_umask()
_DIR_MODE = 0o777 & ~_umask()


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """Give an ``OSError`` raised in the block without a file name (a full disk on ``write``)
    the name ``path``, so that the message says where."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync and rename it over ``path``."""
    with naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": "\n"})) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def open_beside(path: Path) -> tuple[IO[bytes], Path]:
    """A new temporary file beside ``path``, open for writing and reading; ``replace_with``
    puts it in place of ``path``, the caller removes it otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    return os.fdopen(fd, "w+b"), Path(tmp)


def replace_with(handle: IO[bytes], tmp: Path, path: Path) -> None:
    """Flush and fsync ``handle`` (the file at ``tmp``, from ``open_beside``) and rename it
    over ``path``; the handle stays open."""
    handle.flush()
    os.fsync(handle.fileno())
    os.chmod(tmp, _FILE_MODE)
    os.replace(tmp, path)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; on success swap it in for ``path``.

    The old folder is moved aside first and removed only after the new one is in place, so a
    crash leaves either the old folder or the new one (plus a stray ``.old``/``.tmp`` folder
    the next run removes).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stray in path.parent.glob(f".{path.name}.*.tmp"):
        shutil.rmtree(stray, ignore_errors=True)
    old = path.parent / f".{path.name}.old"
    if old.exists() and not path.exists():
        old.rename(path)  # a crash between the two renames below: put the old one back
    shutil.rmtree(old, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, _DIR_MODE)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def hold_folder(folder: Path, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold ``folder`` (made if missing) against other holders, in any process, for the block;
    if another holds it, call ``waiting`` and wait for it to let go.

    The lock is ``flock`` on the folder itself, so no lock file is left behind, and it goes
    with the process if that dies. Forked children share it until they exit. Where there is
    no ``flock`` (Windows, or a network file system without locks), nothing is held.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # no locks here (ENOLCK, EINVAL): go on unheld, as before locks were taken
        yield
    finally:
        os.close(fd)
