"""ember: a PyTorch-compatible deep-learning framework.  `import ember as torch` works for the
features ember has.  This file only re-exports public names."""
from . import dtypes as _dtypes
from .dtypes import complex64, complex128, cfloat, cdouble  # noqa: F401
from .dtypes import (bfloat16, bool_ as bool, double, float, float16, float32, float64, half,  # noqa: F401
                     int, int8, int16, int32, int64, long, short, uint8, dtype, get_default_dtype,
                     set_default_dtype, promote_types)
from .runtime.device import device  # noqa: F401
from .frontend.tensor import Tensor, Size  # noqa: F401
from .frontend import methods as _methods  # noqa: F401  (attaches methods to Tensor)
from .frontend.functional import *  # noqa: F401,F403
from .frontend.functional import (abs, all, any, max, min, pow, round, sum, where,  # noqa: F401
                                  isclose, allclose, equal, scalar_tensor as _scalar_tensor)
from .frontend.shape_ops import *  # noqa: F401,F403
from .frontend.indexing import (gather, scatter, scatter_add, index_select, index_add,  # noqa: F401
                                index_fill, masked_select, take, take_along_dim, nonzero,
                                argwhere, sort, argsort, msort, topk, kthvalue, median, unique,
                                bincount, searchsorted, bucketize, index_put)
from .frontend.creation import (tensor, as_tensor, asarray, from_numpy, zeros, ones, empty,  # noqa: F401
                                full, zeros_like, ones_like, empty_like, full_like, arange,
                                linspace, logspace, eye, scalar_tensor, Generator, manual_seed,
                                seed, initial_seed, get_rng_state, set_rng_state, rand, randn,
                                randint, rand_like, randn_like, randint_like, randperm, normal,
                                bernoulli, multinomial, default_generator)
from .frontend.complex_ops import *  # noqa: F401,F403,E402
from .frontend.math_extra import *  # noqa: F401,F403
from .frontend.shape_extra import *  # noqa: F401,F403
from .frontend.reduce_extra import *  # noqa: F401,F403
from .frontend.index_extra import *  # noqa: F401,F403
from .frontend.blas_extra import *  # noqa: F401,F403
from .frontend.layouts import (memory_format, layout, contiguous_format,  # noqa: F401
                               preserve_format, channels_last, channels_last_3d, strided,
                               sparse_coo)
from .frontend.autograd import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled,  # noqa: F401
                                inference_mode)
from .frontend import autograd  # noqa: F401
from ._logging import set_logs  # noqa: F401
from .dtypes import result_type as _result_type_impl

__version__ = "0.1.0"
from .frontend.random_extra import empty_strided, resize_as_  # noqa: E402,F401
zero_ = Tensor.zero_


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    return _lazy("nn.functional").cdist(x1, x2, p, compute_mode)


def constant_pad_nd(input, pad, value=0):
    return _lazy("nn.functional").pad(input, pad, "constant", value)


def channel_shuffle(input, groups):
    return _lazy("nn.functional").channel_shuffle(input, groups)



fill_ = Tensor.fill_


def result_type(tensor1, tensor2):
    return _result_type_impl(tensor1, tensor2)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(input):
    return input.dtype.is_floating_point


def numel(input):
    return input.numel()


def can_cast(from_, to):
    return from_.category <= to.category


def is_storage(obj):
    return False


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    pass  # accepted for compatibility; ember's repr follows PyTorch's defaults


# --- PyTorch's process-wide switches, legacy constructors, extra submodules (issue 15, COMPAT) ---
from .settings import (set_num_threads, get_num_threads, set_num_interop_threads,  # noqa: F401,E402
                       get_num_interop_threads, set_float32_matmul_precision,
                       get_float32_matmul_precision, use_deterministic_algorithms,
                       are_deterministic_algorithms_enabled,
                       is_deterministic_algorithms_warn_only_enabled,
                       set_deterministic_debug_mode, get_deterministic_debug_mode)
from .legacy_tensors import (FloatTensor, DoubleTensor, HalfTensor,  # noqa: F401,E402
                             BFloat16Tensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor,
                             BoolTensor)
_COMPAT_SUBMODULES = ("accelerator", "backends", "onnx", "hub", "settings")
# --- end of the COMPAT block ---


def _lazy(name):
    import importlib
    return importlib.import_module("ember." + name)


def __getattr__(name):
    # subpackages that import heavier things load on first use: ember.nn, ember.optim, ...
    if name in ("nn", "optim", "utils", "multiprocessing", "jit", "ir", "cuda", "amp",
                "serialization", "testing", "compiler", "passes", "codegen", "profiler", "report",
                "distributed", "linalg", "fft", "special", "masked", "signal"):
        return _lazy(name)
    if name in _COMPAT_SUBMODULES:
        return _lazy(name)
    if name in ("save", "load"):
        return getattr(_lazy("serialization"), name)
    if name == "compile":
        return _lazy("compiler.compile").compile
    if name in ("autocast", "is_autocast_enabled", "get_autocast_dtype", "OutOfMemoryError"):
        return getattr(_lazy("amp") if name != "OutOfMemoryError" else _lazy("cuda"), name)
    raise AttributeError(f"module 'ember' has no attribute '{name}'")
