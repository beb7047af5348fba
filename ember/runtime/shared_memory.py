"""Shared-memory storage for ember tensors.

A shared segment is an anonymous memory file (Linux ``memfd_create``; elsewhere a POSIX shm object
unlinked the moment it is created) mapped with ``MAP_SHARED``.  Because a segment never has a name
in ``/dev/shm``, no crash, SIGKILL or forgotten cleanup can leak one: the memory lives exactly as
long as some process maps it or holds its file descriptor.

Other processes reach a segment through its file descriptor, either passed over a Unix socket
(``multiprocessing.reduction.DupFd``, used by the Queue/Pipe reducers) or, between a DataLoader
worker and its parent, by opening ``/proc/<pid>/fd/<fd>`` (no round trip, never blocks).

A segment costs exactly one file descriptor: the memory is mapped with libc's ``mmap`` through
ctypes, because Python's ``mmap.mmap`` keeps a private duplicate of the descriptor (two per
segment, so a 700-tensor model ran out of descriptors under ``ulimit -n 1024``).
``SharedBuffer`` is a ctypes byte array over the mapping, so a NumPy array's ``.base`` chain tells
whether the array lives in shared memory (``is_shared``).
"""
from __future__ import annotations

import ctypes
import mmap
import os
import secrets
import weakref

import numpy as np

_PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value


class SharedBuffer:
    """A MAP_SHARED mapping of a whole memory file (the concrete classes are ctypes byte arrays of
    one size each, see ``from_fd``).

    ``fd`` stays open for the mapping's lifetime (closed, and the memory unmapped, when the buffer
    is garbage collected) so the segment can be handed to another process at any time.
    ``address`` is where the mapping starts in this process.
    """

    fd: int
    address: int

    @classmethod
    def from_fd(cls, fd: int, size: int | None = None) -> "SharedBuffer":
        """Map an fd this process owns; the buffer takes ownership of ``fd``."""
        if size is None:
            size = os.fstat(fd).st_size
        address = _libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
        if address in (None, _MAP_FAILED):
            err = ctypes.get_errno()
            raise OSError(err, f"mmap of a {size}-byte shared segment failed: {os.strerror(err)}")
        buf = _buffer_type(size).from_address(address)
        buf.fd, buf.address = fd, address
        weakref.finalize(buf, _release, address, size, fd).atexit = False
        return buf


_types: "dict[int, type]" = {}


def _buffer_type(size):
    # ctypes array types have a fixed length: one SharedBuffer subclass per segment size
    t = _types.get(size)
    if t is None:
        t = _types[size] = type("SharedBuffer", (ctypes.c_ubyte * size, SharedBuffer), {})
    return t


def _release(address, size, fd):
    _libc.munmap(address, size)
    os.close(fd)


def _new_memory_fd(nbytes: int) -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ember_shm", os.MFD_CLOEXEC)
    else:  # POSIX without memfd: a named object that is unlinked at once, so it can never leak
        import _posixshmem
        name = f"/ember_{os.getpid()}_{secrets.token_hex(8)}"
        fd = _posixshmem.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        _posixshmem.shm_unlink(name)
    try:
        os.ftruncate(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create(nbytes: int) -> SharedBuffer:
    """A new zero-filled shared segment of at least ``nbytes`` bytes (rounded up to a page)."""
    size = max(_PAGE, -(-int(nbytes) // _PAGE) * _PAGE)
    return SharedBuffer.from_fd(_new_memory_fd(size), size)


# Segments mapped in this process, by memory-file identity, so a segment received twice (or sent
# back to its owner) maps once and tensors built from it alias, as they do in PyTorch.
_by_inode: "weakref.WeakValueDictionary[tuple, SharedBuffer]" = weakref.WeakValueDictionary()


def attach_fd(fd: int) -> SharedBuffer:
    """Map a segment whose fd this process now owns (e.g. received over a socket)."""
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    buf = _by_inode.get(key)
    if buf is not None:
        os.close(fd)
        return buf
    buf = SharedBuffer.from_fd(fd, st.st_size)
    _by_inode[key] = buf
    return buf


def attach_proc(pid: int, fd: int) -> SharedBuffer:
    """Map a segment held open as ``fd`` by process ``pid`` (Linux ``/proc``; same user)."""
    return attach_fd(os.open(f"/proc/{pid}/fd/{fd}", os.O_RDWR | os.O_CLOEXEC))


def proc_attach_supported() -> bool:
    return hasattr(os, "memfd_create") and os.path.isdir(f"/proc/{os.getpid()}/fd")


def shared_buffer_of(array: np.ndarray) -> SharedBuffer | None:
    """The SharedBuffer an array's memory lives in, or None."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    while isinstance(base, memoryview):
        base = base.obj
    return base if isinstance(base, SharedBuffer) else None


def byte_extent(array: np.ndarray) -> tuple[int, int]:
    """(low, high) byte offsets, relative to the array's data pointer, of the memory it spans."""
    if array.size == 0:
        return 0, 0
    low = high = 0
    for n, s in zip(array.shape, array.strides):
        if s < 0:
            low += (n - 1) * s
        else:
            high += (n - 1) * s
    return low, high + array.itemsize


def shared_copy(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` in a new shared segment, keeping its shape AND strides (so views and
    transposed tensors keep their layout)."""
    low, high = byte_extent(array)
    buf = create(high - low)
    out = np.ndarray(array.shape, array.dtype, buffer=buf, offset=-low, strides=array.strides)
    np.copyto(out, array, casting="no")
    return out


def _address(array):
    return array.__array_interface__["data"][0]


def _root(array):
    """The last ndarray of a base chain: the object every view of the same memory ends at."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _move_owner(owner):
    """Move a storage owner's array to shared memory; remember where it was, so views made
    before the move can be re-pointed into the new segment (see share_memory_).  The old memory
    is identified by its root array (weakly held), never by address alone: freed addresses get
    reused."""
    old = owner._data
    low, high = byte_extent(old)
    owner._data = shared_copy(old)
    owner._shm_moved_from = (weakref.ref(_root(old)), _address(old) + low, _address(old) + high,
                             _address(owner._data) + low)


def _repoint(view, owner):
    """Re-point ``view`` into ``owner``'s shared segment if it lies in the owner's old memory."""
    moved = getattr(owner, "_shm_moved_from", None)
    if moved is None:
        return False
    root, old_low, old_high, new_low = moved
    arr = view._data
    if root() is None or _root(arr) is not root():
        return False
    a_low, a_high = byte_extent(arr)
    addr = _address(arr)
    if not (old_low <= addr + a_low and addr + a_high <= old_high):
        return False
    buf = shared_buffer_of(owner._data)
    view._data = np.ndarray(arr.shape, arr.dtype, buffer=buf,
                            offset=new_low + (addr - old_low) - buf.address, strides=arr.strides)
    return True


def share_memory_(tensor):
    """Move ``tensor``'s storage into shared memory in place (PyTorch's Tensor.share_memory_).

    ember has no storage object between a tensor and its NumPy array, so "in place" means the
    tensor and the tensor owning its storage (if it is a view) get arrays of the same layout backed
    by a shared segment.  A view made before its owner moved is re-pointed into the owner's segment
    when it is itself shared (or sent through ember.multiprocessing); until then it still reads
    the old memory, unlike PyTorch, where every view shares one storage object.
    """
    if shared_buffer_of(tensor._data) is not None:
        return tensor
    owner = tensor._base
    if owner is None:
        _move_owner(tensor)
        return tensor
    if shared_buffer_of(owner._data) is None:
        _move_owner(owner)
    if not _repoint(tensor, owner):  # not inside its owner's memory: a copy of its own
        tensor._data = shared_copy(tensor._data)
    return tensor


def is_shared(tensor) -> bool:
    return shared_buffer_of(tensor._data) is not None
