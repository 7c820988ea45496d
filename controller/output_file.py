"""A file written where a user says (`-o`): never through a link planted at that path, and
any failure to write it is one line, not a traceback.

The file is opened with O_NOFOLLOW rather than written beside it and renamed over it: a
rename would replace a device or pipe given as the output (`-o /dev/null` run as root would
leave a regular file in its place) and would drop an existing file's owner and mode. A file
with other hard links is refused before it is truncated, since writing it would change what
the other name shows too. A write that fails half-way leaves a partial file, and says so;
a partial plan cannot be applied, its seal no longer matches.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from controller.errors import PlumbError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
OTHER = "remove it or give another file name"


def write_output(path: str | Path, text: str) -> None:
    """Write `text` to `path`, created or replaced; PlumbError in one line if it cannot be."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o666)
    except OSError as err:
        raise PlumbError(_refused(path, err)) from None
    regular = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            found = os.fstat(out.fileno())
            regular = stat.S_ISREG(found.st_mode)
            if regular and found.st_nlink > 1:
                raise PlumbError(
                    f"{path} has other hard links, and writing it would change them too; {OTHER}"
                )
            if regular:
                out.truncate(0)
            out.write(text)
    except OSError as err:
        why = err.strerror or type(err).__name__
        left = " (it may be left incomplete)" if regular else ""
        raise PlumbError(f"cannot write {path}: {why}{left}; give another file name") from None


def _refused(path: str | Path, err: OSError) -> str:
    if err.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
        return (
            f"{path} is a symbolic link; plumb does not write through one (it would overwrite "
            f"what the link points to): {OTHER}"
        )
    if err.errno == errno.EISDIR:
        return f"{path} is a folder; give a file name"
    return f"cannot write {path}: {err.strerror or type(err).__name__}; give another file name"
