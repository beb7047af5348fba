"""The eager GPU executor, device buffers, arenas and ember.compile on CUDA tensors.

Without a GPU (the default) the device is ember's FakeRuntime (a GPU made of host memory) and the
Triton kernels run in Triton's interpreter (TRITON_INTERPRET=1: it reads memory through
data_ptr(), which for the fake runtime is host memory).  With ``EMBER_TEST_DEVICE=cuda`` the same
tests run on the real driver runtime with compiled kernels (run this directory alone then:
``EMBER_TEST_DEVICE=cuda pytest tests/cuda_exec``), and skip when no GPU is present; checks that
only make sense on the fake device (its copy log, the interpreter) skip there.

TRITON_INTERPRET must be set before triton is first imported; ember imports triton only when a
kernel is built, so setting it here is early enough.
"""
import os
import tempfile

import pytest

REAL_GPU = os.environ.get("EMBER_TEST_DEVICE") == "cuda"
if not REAL_GPU:
    os.environ["TRITON_INTERPRET"] = "1"
    os.environ.setdefault("EMBER_TRITON_CACHE", os.path.join(tempfile.gettempdir(),
                                                             f"ember-triton-test-{os.getuid()}"))

from ember.runtime import cuda as rt  # noqa: E402

fake_only = pytest.mark.skipif(REAL_GPU, reason="checks FakeRuntime / interpreter internals")


def _runtime():
    if REAL_GPU:
        if not rt.is_available() or rt.runtime().name != "cuda-driver":
            pytest.skip("EMBER_TEST_DEVICE=cuda but no CUDA device is available")
        return rt.runtime(), None
    return rt.FakeRuntime(capacity=256 << 20), True


@pytest.fixture(scope="module")
def gpu_module():
    """One runtime per test module (compiled kernels are shared across its tests anyway)."""
    got, fake = _runtime()
    prev = rt.install(got) if fake else None
    yield got
    if fake:
        rt.install(prev)


@pytest.fixture
def gpu():
    """A fresh runtime for one test (a new FakeRuntime: clean allocator counters)."""
    got, fake = _runtime()
    prev = rt.install(got) if fake else None
    yield got
    if fake:
        rt.install(prev)
