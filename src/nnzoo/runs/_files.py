"""Durable file writes: a temporary name, fsync, rename, and fsync of the folder.

A reader of the folder sees either the old file or the new one, never half of one, even after a
power cut or ``kill -9``. Temporary files are named ``.NAME.XXXX.tmp``, so that the next writer
of the folder can tell them apart and remove what a killed writer left (:func:`remove_stale`).
"""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes its files 0600; a run's files get the permissions any new file gets here, so
# others on a shared machine can read them where the umask says so.
FILE_MODE = 0o666 & ~_umask()


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform whose folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def write_durably(path: Path, write) -> None:
    """Call ``write(temp_path)`` to fill a temporary file beside ``path``, then make it ``path``.

    On any failure (a full disk, a signal) the temporary file is removed and ``path`` is left
    as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)  # whatever mode the writer (safetensors) gave it
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """``path`` gets ``data``, whole or not at all."""

    def write(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)

    write_durably(path, write)


def remove_stale(folder: Path) -> list[str]:
    """Remove the temporary files a killed writer left in ``folder``; their names."""
    removed = []
    for path in folder.glob(f".*{TEMP_SUFFIX}"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def finite_json(value):
    """``value`` with every NaN or infinity replaced by None, so that the JSON written is JSON
    (``json.dumps`` would write a bare ``NaN``, which no strict reader accepts)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "tolist"):
        return finite_json(value.tolist())
    return repr(value)


def dumps(obj) -> str:
    """Strict JSON of ``obj`` (non-finite numbers as null), indented, ending in a newline."""
    return json.dumps(finite_json(obj), indent=2, default=_jsonable, allow_nan=False) + "\n"


@contextmanager
def utf8_path(path):
    """``path`` as a string safetensors can open: safetensors takes UTF-8 paths only, so a
    path that is not (a folder named in another encoding) is opened here and passed as
    ``/proc/self/fd/N``, the same file under a name that is."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        if not os.path.isdir("/proc/self/fd"):  # pragma: no cover - not Linux
            raise OSError(errno.EILSEQ, "the path is not valid UTF-8", text) from None
        fd = os.open(path, os.O_RDONLY)
        try:
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    yield text
