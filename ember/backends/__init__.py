"""ember.backends: torch.backends' switches.  ember computes on the CPU with NumPy/Numba (and on
CUDA through its own runtime), so these report what a CPU-only PyTorch reports and record what a
program sets (reading a switch back gives what was set); none changes ember's results."""
from . import cpu, cuda, cudnn, mha, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: F401

__all__ = ["cpu", "cuda", "cudnn", "mha", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
