"""Atomic output: write to a temporary name beside the target, rename on success.

A failed or interrupted stage therefore never leaves a partial output file behind, which is
what both users and Snakemake's incomplete-output checks rely on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    The folder is created if needed. On any exception the temporary file is removed and
    ``path`` is left as it was. An :class:`OSError` that names no file, or the temporary one
    (a full disk, as writers report it), is raised again naming ``path``.
    """
    target = Path(path)
    try:
        make_folder(target.parent)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as err:
        raise naming(err, target) from err
    # mkstemp makes the file private (0600); give it the mode an ordinary open() would
    os.fchmod(fd, 0o666 & ~_current_umask())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise naming(err, target, tmp) from err
        raise


def make_folder(folder: str | Path) -> None:
    """``mkdir -p``; a file in the folder's place is a NotADirectoryError naming it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # exist_ok: what exists is not a folder
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


def naming(err: OSError, target: str | Path, tmp: str | Path | None = None) -> OSError:
    """``err``, or a copy naming ``target`` when it names no file or only the temporary one."""
    if err.filename is not None and (tmp is None or str(err.filename) != str(tmp)):
        return err
    # OSError(errno, ...) is the errno's subclass (PermissionError for EACCES, ...)
    return OSError(err.errno, err.strerror or str(err), str(target))


@contextlib.contextmanager
def atomic_outputs(paths: list[str | Path]) -> Iterator[list[Path]]:
    """Like :func:`atomic_output` for several files that appear together or not at all.

    A writer that fails without naming a file should raise :func:`naming` of its target: all
    the temporary files are still open here, so this function cannot tell which one failed.
    """
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_output(p)) for p in paths]
