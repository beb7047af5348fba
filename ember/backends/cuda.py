"""torch.backends.cuda: ``matmul.allow_tf32`` (tied to ember.get_float32_matmul_precision, as in
PyTorch), the reduced-precision reduction flags, and the scaled-dot-product-attention switches."""
from __future__ import annotations

import contextlib

from .. import settings as _settings

__all__ = ["is_built", "matmul", "cufft_plan_cache", "preferred_linalg_library",
           "preferred_blas_library", "flash_sdp_enabled", "enable_flash_sdp",
           "mem_efficient_sdp_enabled", "enable_mem_efficient_sdp", "math_sdp_enabled",
           "enable_math_sdp", "cudnn_sdp_enabled", "enable_cudnn_sdp", "sdp_kernel"]


def is_built():
    """Whether ember can drive CUDA at all (its runtime finds a GPU)."""
    from .. import cuda
    return cuda.is_available()


class _Matmul:
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):
        return _settings.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        _settings.set_float32_matmul_precision("high" if value else "highest")


matmul = _Matmul()


class _PlanCache:
    size = 0
    max_size = 4096

    def clear(self):
        pass

    def __getitem__(self, device):
        return self


cufft_plan_cache = _PlanCache()
_linalg = {"library": "default", "blas": "default"}
_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def preferred_linalg_library(backend=None):
    if backend is not None:
        _linalg["library"] = str(backend).lower()
    return _linalg["library"]


def preferred_blas_library(backend=None):
    if backend is not None:
        _linalg["blas"] = str(backend).lower()
    return _linalg["blas"]


def _switch(kind):
    def enabled():
        return _sdp[kind]

    def enable(enabled: bool):
        _sdp[kind] = bool(enabled)
    return enabled, enable


flash_sdp_enabled, enable_flash_sdp = _switch("flash")
mem_efficient_sdp_enabled, enable_mem_efficient_sdp = _switch("mem_efficient")
math_sdp_enabled, enable_math_sdp = _switch("math")
cudnn_sdp_enabled, enable_cudnn_sdp = _switch("cudnn")


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    saved = dict(_sdp)
    _sdp.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _sdp.update(saved)
