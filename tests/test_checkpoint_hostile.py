"""Hostile and damaged checkpoints: nothing in a file may change ember's state, run code, or
raise anything but CheckpointError; killed saves leave nothing behind for good."""
from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import ember
from ember.serialization import CheckpointError


def _zip(pkl, storages=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        for key, raw in storages:
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def _load(data, **kw):
    return ember.load(io.BytesIO(data), **kw)


P = pickle.PROTO + b"\x02"


def _str(s):
    b = s.encode()
    return pickle.BINUNICODE + len(b).to_bytes(4, "little") + b


def test_build_cannot_rename_a_dtype():
    pkl = (P + pickle.GLOBAL + b"torch\nfloat32\n" + pickle.EMPTY_DICT + _str("name") +
           _str("hacked") + pickle.SETITEM + pickle.BUILD + pickle.STOP)
    with pytest.raises(CheckpointError, match="set the state of"):
        _load(_zip(pkl))
    assert ember.float32.name == "float32" and repr(ember.float32) == "ember.float32"


def test_build_cannot_replace_a_class_attribute():
    before = ember.Size.__len__
    pkl = (P + pickle.GLOBAL + b"torch\nSize\n" + pickle.NONE + pickle.EMPTY_DICT +
           _str("__len__") + pickle.BININT1 + b"\x00" + pickle.SETITEM + pickle.TUPLE2 +
           pickle.BUILD + pickle.STOP)
    for weights_only in (True, None):
        with pytest.raises(CheckpointError):
            _load(_zip(pkl), weights_only=weights_only)
    assert ember.Size.__len__ is before and len(ember.Size([1, 2])) == 2


def test_build_on_the_ordereddict_class_is_refused():
    pkl = (P + pickle.GLOBAL + b"collections\nOrderedDict\n" + pickle.EMPTY_DICT + _str("x") +
           pickle.BININT1 + b"\x01" + pickle.SETITEM + pickle.BUILD + pickle.STOP)
    with pytest.raises(CheckpointError):
        _load(_zip(pkl))
    from collections import OrderedDict
    assert not hasattr(OrderedDict, "x")


def test_code_never_runs():
    pkl = (P + pickle.GLOBAL + b"os\nsystem\n" + _str("touch /tmp/ember_pwned") +
           pickle.TUPLE1 + pickle.REDUCE + pickle.STOP)
    with pytest.raises(CheckpointError, match="os.system|posix.system"):
        _load(_zip(pkl))


@pytest.mark.parametrize("pkl, what", [
    (P + b"\xff", "bad opcode"),
    (P + pickle.BINUNICODE + (2 ** 31 - 1).to_bytes(4, "little") + b"abc", "huge length"),
    (P + pickle.EMPTY_LIST + pickle.LONG4 + (2 ** 31 - 1).to_bytes(4, "little") + b"\x01",
     "huge long"),
    (P + pickle.MARK * 5 + pickle.STOP, "stray marks"),
    (P + pickle.BINGET + b"\x07" + pickle.STOP, "missing memo"),
    (P, "no STOP"),
])
def test_damaged_pickles(pkl, what):
    with pytest.raises(CheckpointError):
        _load(_zip(pkl))


def test_recursion_bomb_is_not_a_recursion_error():
    depth = 200_000
    pkl = P + pickle.EMPTY_LIST * depth + pickle.APPEND * (depth - 1) + pickle.STOP
    try:
        out = _load(_zip(pkl))
    except CheckpointError:
        return
    for _ in range(depth - 1):
        out = out[0]
    assert out == []


def _tensor_pickle(size, stride, offset=0):
    # ("storage", torch.FloatStorage, "0", "cpu", 4) rebuilt as a tensor of the given geometry
    def tup(xs):
        return pickle.MARK + b"".join(pickle.BININT + int(x).to_bytes(4, "little", signed=True)
                                      for x in xs) + pickle.TUPLE
    pid = (pickle.MARK + _str("storage") + pickle.GLOBAL + b"torch\nFloatStorage\n" + _str("0") +
           _str("cpu") + pickle.BININT1 + b"\x04" + pickle.TUPLE + pickle.BINPERSID)
    return (P + pickle.GLOBAL + b"torch._utils\n_rebuild_tensor_v2\n" + pickle.MARK + pid +
            pickle.BININT + offset.to_bytes(4, "little", signed=True) + tup(size) + tup(stride) +
            pickle.NEWFALSE + pickle.EMPTY_DICT + pickle.TUPLE + pickle.REDUCE + pickle.STOP)


@pytest.mark.parametrize("size, stride, offset", [
    ((2 ** 30, 2 ** 30), (1, 1), 0),       # far past the 4-element storage
    ((5,), (1,), 0), ((2,), (1,), 3), ((2,), (-1,), 0), ((1,), (1,), -1), ((2, 2), (1,), 0),
])
def test_tensor_outside_its_storage(size, stride, offset):
    data = _zip(_tensor_pickle(size, stride, offset), [("0", np.ones(4, np.float32).tobytes())])
    with pytest.raises(CheckpointError):
        _load(data)


def test_good_hand_made_tensor_loads():
    data = _zip(_tensor_pickle((2, 2), (1, 2)), [("0", np.arange(4, dtype=np.float32).tobytes())])
    np.testing.assert_array_equal(_load(data).numpy(), [[0, 2], [1, 3]])


def test_storage_of_a_wrong_byte_count():
    data = _zip(_tensor_pickle((1,), (1,)), [("0", b"\x00" * 7)])
    with pytest.raises(CheckpointError, match="whole number"):
        _load(data)


def test_zip_bomb_entry_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", P + pickle.NONE + pickle.STOP)
        z.writestr("archive/data/0", b"\x00" * (32 << 20))
    pkl = _tensor_pickle((1,), (1,))
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.getinfo("archive/data/0").compress_size < (1 << 18)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        zout.writestr("archive/data.pkl", pkl)
        zout.writestr(zin.getinfo("archive/data/0"), zin.read("archive/data/0"))
    with pytest.raises(CheckpointError, match="zip bomb"):
        _load(out.getvalue())


# --- fuzzing (bounded: CI runs a fixed number of examples) ----------------------------------------
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


def _good_bytes():
    buf = io.BytesIO()
    base = ember.arange(6.0).reshape(2, 3)
    ember.save({"w": base, "v": base[1], "p": ember.nn.Parameter(ember.ones(2)), "n": 3,
                "s": "x", "t": (1.5, None), "b": b"\x01", "i": ember.tensor([1, 2])}, buf)
    return buf.getvalue()


GOOD = _good_bytes()
with zipfile.ZipFile(io.BytesIO(GOOD)) as _z:
    GOOD_PKL = _z.read("archive/data.pkl")


def _unchanged():
    assert ember.float32.name == "float32" and len(ember.Size([1, 2, 3])) == 3
    assert ember.int64.name == "int64"


def _only_checkpoint_errors(data):
    try:
        ember.load(io.BytesIO(data))
    except CheckpointError:
        pass
    _unchanged()


FUZZ = hypothesis.settings(max_examples=150, deadline=None, derandomize=True,
                           suppress_health_check=list(hypothesis.HealthCheck))


def _mutations(base, most):
    """(byte overwrites, kept length) for ``base``: a damaged copy, possibly truncated."""
    flips = st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)),
                     min_size=1, max_size=most)
    return st.tuples(flips, st.integers(1, len(base))).map(lambda fk: _apply(base, *fk))


def _apply(base, flips, keep):
    data = bytearray(base)
    for at, value in flips:
        data[at] = value
    return bytes(data[:keep])


@FUZZ
@hypothesis.given(_mutations(GOOD, 8))
def test_fuzz_flipped_bytes_and_truncation_of_a_whole_file(data):
    _only_checkpoint_errors(data)


@FUZZ
@hypothesis.given(_mutations(GOOD_PKL, 6))
def test_fuzz_mutated_pickle_in_a_valid_zip(pkl):
    with zipfile.ZipFile(io.BytesIO(GOOD)) as z:
        storages = [(n.rsplit("/", 1)[1], z.read(n)) for n in z.namelist() if "/data/" in n]
    _only_checkpoint_errors(_zip(pkl, storages))


@FUZZ
@hypothesis.given(st.binary(max_size=300))
def test_fuzz_random_pickles(pkl):
    _only_checkpoint_errors(_zip(P + pkl))


# --- killed saves ---------------------------------------------------------------------------------
_CHILD = textwrap.dedent("""
    import sys, time
    from ember.serialization import atomic
    if sys.argv[2] == "named":
        atomic._anonymous = lambda directory: None
    def write(f):
        f.write(b"x" * 100000)
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
    atomic.atomic_write(sys.argv[1], write)
""")


@pytest.mark.parametrize("mode", ["anonymous", "named"])
def test_killed_save_leaves_nothing_for_good(tmp_path, mode):
    path = tmp_path / "model.pt"
    ember.save({"w": ember.ones(2)}, path)
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), mode],
                             stdout=subprocess.PIPE, cwd=os.getcwd())
    assert child.stdout.readline().strip() == b"writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    left = sorted(p.name for p in tmp_path.iterdir())
    if mode == "anonymous":
        assert left == ["model.pt"]          # the data never had a name
    else:
        assert len(left) == 2                # the dead writer's named temporary file...
    ember.save({"w": ember.zeros(2)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]   # ...removed now
    assert ember.load(path)["w"].tolist() == [0.0, 0.0]


def test_concurrent_save_keeps_a_live_writers_file(tmp_path):
    from ember.serialization import atomic
    path = tmp_path / "m.pt"
    tmp = tmp_path / ".m.pt.live.tmp"
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY)
    import fcntl
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        atomic.atomic_write(path, lambda f: f.write(b"1"))
        assert tmp.exists()
    finally:
        os.close(fd)
    atomic.atomic_write(path, lambda f: f.write(b"2"))
    assert not tmp.exists() and path.read_bytes() == b"2"
