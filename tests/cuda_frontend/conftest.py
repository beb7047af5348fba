"""CUDA tensors in the frontend, tested by running the same test on "cpu" and on "cuda".

Without a GPU (the default) "cuda" is ember's FakeRuntime, a GPU made of host memory, and the
eager GPU executor's Triton kernels run in Triton's interpreter (TRITON_INTERPRET=1: the
interpreter reads memory through data_ptr(), which for the fake runtime is host memory).  With
``EMBER_TEST_DEVICE=cuda`` (scripts/gpu_check.py --frontend) the same tests run on the real
driver runtime and compiled kernels, and skip when no GPU is present.

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


@pytest.fixture
def cuda_rt():
    """The CUDA runtime for one test: a fresh FakeRuntime (restored afterwards), or the real
    driver when EMBER_TEST_DEVICE=cuda (skipped without a GPU)."""
    if REAL_GPU:
        if not rt.is_available() or rt.runtime().name != "cuda-driver":
            pytest.skip("EMBER_TEST_DEVICE=cuda but no CUDA device is available")
        yield rt.runtime()
        return
    fake = rt.FakeRuntime(devices=2, capacity=256 << 20)
    prev = rt.install(fake)
    try:
        yield fake
    finally:
        rt.install(prev)


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Run the test on "cpu" and on "cuda" (see the module docstring)."""
    if request.param == "cuda":
        request.getfixturevalue("cuda_rt")
    return request.param
