"""Atomic file writes: a temp file in the target's directory, then :func:`os.replace`.

A reader (or a rerun after a crash) sees either the old file or the complete new one, never half of one. Temp
files are named ``.<name>.<random>.tmp`` so that :func:`remove_stale_temp_files` can clean what a killed run left.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TMP_SUFFIX = ".tmp"


def _default_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


#: mkstemp creates files readable by the owner only; published reports get the usual mode.
FILE_MODE = _default_mode()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, FILE_MODE)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_paths(*targets: Path) -> Iterator[list[Path]]:
    """Temp paths for several files written together: none replaces its target unless all were written; they
    replace their targets last to first (give a data file before its metadata sidecar, and the sidecar lands
    first, so the data never appears without it)."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(target)) for target in targets]


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (flushed to disk before the rename)."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(target: Path, text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete temp files left by a killed run in ``directory``; return what was removed."""
    removed = []
    if directory.is_dir():
        for path in [*directory.glob(f".*{TMP_SUFFIX}"), *directory.glob(f".*{TMP_SUFFIX}.*")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
