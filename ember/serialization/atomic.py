"""Atomic file replacement: the data goes to a temporary file in the target's directory, is
fsync'ed, then moved over the target with os.replace, so a crash mid-write leaves the old file.

A killed save must not leave its temporary file behind for good.  On Linux the temporary file is
anonymous (``O_TMPFILE``): it has no name until the data is complete, so a kill frees it.  It is
then linked under a temporary name and renamed over the target at once.  Where O_TMPFILE is not
available (other systems, some filesystems) the temporary file is named
``.<name>.<random>.tmp`` and held under an exclusive ``flock`` while it is written; the next save
of the same path removes every such file whose lock is free (its writer is gone)."""
from __future__ import annotations

import fcntl
import glob
import os
import tempfile


def _default_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path, write):
    """Call write(f) on a temporary binary file, then atomically move it to `path`."""
    path = os.path.abspath(os.fsdecode(path))
    directory, base = os.path.split(path)
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        mode = _default_mode()
    _remove_stale(directory, base)
    fd = _anonymous(directory)
    tmp = None
    if fd is None:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    # held until the rename: a concurrent save's _remove_stale leaves this file alone
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
            if tmp is None:
                tmp = _link(f.fileno(), directory, base)
            os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    _fsync_directory(directory)


def _anonymous(directory):
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    except OSError:   # the filesystem does not support it
        return None


def _link(fd, directory, base):
    """Give the anonymous file a temporary name next to the target (rename needs a name)."""
    # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N; os.link calls linkat (not link) only when
    # given a dir fd, and only linkat follows the /proc link to the anonymous file
    dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        for _ in range(100):
            name = f".{base}.{os.urandom(6).hex()}.tmp"
            try:
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dir_fd, follow_symlinks=True)
                return os.path.join(directory, name)
            except FileExistsError:
                continue
    finally:
        os.close(dir_fd)
    raise FileExistsError(f"ember.save: no free temporary name next to {base!r}")


def _remove_stale(directory, base):
    """Remove temporary files of earlier saves of this path whose writer died (lock free)."""
    for tmp in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(base)}.*.tmp")):
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:   # a live save holds it
            os.close(fd)
            continue
        try:
            os.unlink(tmp)
        except OSError:
            pass
        finally:
            os.close(fd)


def _fsync_directory(directory):
    # makes the rename itself durable; not possible on every platform/filesystem
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
