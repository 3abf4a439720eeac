"""Atomic output files: write to a temporary file in the target's folder, then rename over the target.

A failure (disk full, ``ulimit -f``, Ctrl-C, an exception while rendering) never destroys or half-writes a previous
result: the target is either the old file or the complete new one. Every file fsgeo writes goes through
:func:`atomic_path` or :func:`write_text` / :func:`write_bytes`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fsgeo.errors import OutputError

__all__ = ["check_writable", "atomic_path", "write_text", "write_bytes"]


def check_writable(path) -> Path:
    """Fail early, before any computation, when ``path`` cannot be written.

    The parent folder must exist and be a writable folder, and ``path`` must not be a folder. Returns ``path`` as a
    :class:`~pathlib.Path`; raises :class:`~fsgeo.errors.OutputError` naming the file otherwise.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, not a file")
    if not parent.exists():
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: file is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Context manager yielding a temporary path beside ``path``; on success it is renamed over ``path``.

    For writers that want a file name (GeoPackage, Parquet, folium). The temporary file keeps ``path``'s ending
    (``suffix``) so drivers that choose a format by extension still work. On any error the temporary file is removed,
    ``path`` is left as it was, and an ``OSError`` is re-raised as :class:`~fsgeo.errors.OutputError` naming ``path``.
    """
    path = check_writable(path)
    suffix = "".join(path.suffixes[-2:]) if suffix is None else suffix
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as GDAL refuse to "create" a file that already exists
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"{path}: the writer produced no file")
        mode = 0o666 & ~_umask()
        os.chmod(tmp, mode if not path.exists() else (path.stat().st_mode & 0o777))
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"{path}: could not be written ({exc.strerror or exc}); any previous file is unchanged") \
            from exc
    except BaseException:
        _remove(tmp)
        raise


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default, ``\\n`` line endings as given)."""
    return write_bytes(path, text.encode(encoding))


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        if tmp.is_dir():
            import shutil

            shutil.rmtree(tmp)
        else:
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
