"""What an operating-system error means, in one paragraph that names the path.

Every file nnzoo reads or writes can fail for reasons that are the machine's, not nnzoo's: a
folder it may not write to, a read-only or full disk, a name longer than the file system
allows, a file where a folder was expected. :func:`explain` turns such an ``OSError`` into an
:class:`NnzooError` (exit status 2 on the command line) that says which path, what happened and
what to do, instead of a traceback:

    Cannot write 'runs/x/metrics.json': the file system is read-only. Choose an --out folder
    on a writable disk.
"""

from __future__ import annotations

import errno
import os

from nnzoo.errors import NnzooError

# errno -> (what happened, what to do)
MEANINGS = {
    errno.EACCES: ("permission denied", ("check the permissions of the path and the folders "
                                         "above it (`ls -ld`), or choose another path")),
    errno.EPERM: ("the operation is not permitted", "check the path's owner and permissions"),
    errno.EROFS: ("the file system is read-only",
                  "choose a path on a writable disk (for a run, another --out folder)"),
    errno.ENOSPC: ("the disk is full (no space is left on the device)",
                   "free some space or choose another disk; files already written were kept whole"),
    errno.EDQUOT: ("the disk quota is exhausted", "free some space or choose another disk"),
    errno.EFBIG: ("the disk is full, or the file size limit was reached (`ulimit -f`)",
                  "free some space or raise the limit"),
    errno.ENAMETOOLONG: (("the name is too long (a file or folder name may have at most 255 "
                          "bytes, a whole path 4,096)"), "choose a shorter name"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.EISDIR: ("it is a folder, not a file", "give the path of a file"),
    errno.ENOENT: ("it does not exist", "check the path"),
    errno.ELOOP: ("it leads through too many symbolic links (a loop?)", "check the links"),
    errno.EEXIST: ("it already exists", "choose another name"),
    errno.EMFILE: ("too many files are open", "raise the limit (`ulimit -n`)"),
    errno.EIO: ("the device reported an input/output error", "check the disk"),
}


def describe(err: OSError) -> tuple[str, str]:
    """(what happened, what to do) for ``err``."""
    code = getattr(err, "errno", None)
    if code in MEANINGS:
        return MEANINGS[code]
    reason = os.strerror(code) if code else (getattr(err, "strerror", None) or str(err))
    return reason[:1].lower() + reason[1:], "check the path"


def explain(err: OSError, doing: str = "use", path=None) -> NnzooError:
    """An NnzooError saying that nnzoo could not ``doing`` (read, write, make...) ``path``
    (default: the path the error names) and why."""
    path = path if path is not None else getattr(err, "filename", None)
    what, advice = describe(err)
    where = f" {os.fsdecode(path)!r}" if path is not None else ""
    other = getattr(err, "filename2", None)
    also = f" (and {os.fsdecode(other)!r})" if other else ""
    return NnzooError(f"Cannot {doing}{where}{also}: {what}. {advice[:1].upper() + advice[1:]}.")
