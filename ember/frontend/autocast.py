"""Autocast's op policy (PyTorch's autocast_mode.cpp lists) and the hook the frontend calls.

Frontend functions whose PyTorch counterpart autocast handles start with

    if _AMP.on and "matmul" in _AMP.ops:
        return _AMP.call("matmul", matmul, input, other)

``_AMP.on`` is one attribute read when autocast is off.  When on, ``call`` looks the op up for the
device type of its tensor arguments and

* LOWER: casts floating arguments (not float64) to the autocast dtype (matmuls, convs, linear);
* FP32: casts floating arguments (not float64) to float32 (losses, and on CUDA reductions,
  softmax, exp/log/pow, norms);
* PROMOTE: casts floating arguments to the widest floating dtype among them (cat, stack, ...);
* KEEP: PyTorch runs its own kernel for the op, which autocast leaves alone: no cast;

then runs the function with autocast excluded, as PyTorch's autocast kernel does (a composite
like attention does not re-cast inside).  The hook only fires for ops in ``AMP.ops`` (those with
an entry for an enabled device type), so an op without one runs with autocast still on and its
parts are autocast, like PyTorch's CompositeImplicit ops.

This module imports nothing from the frontend at import time: functional.py imports it.
"""
from __future__ import annotations

LOWER, FP32, PROMOTE, KEEP, BANNED = "lower", "fp32", "promote", "keep", "banned"

_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
           "kl_div", "binary_cross_entropy_with_logits", "poisson_nll_loss",
           "margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "multi_margin_loss",
           "multilabel_margin_loss", "ctc_loss")

_CPU = {}
_CPU.update(dict.fromkeys((
    "matmul", "mm", "bmm", "addmm", "addbmm", "baddbmm", "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "prelu",
    "scaled_dot_product_attention"), LOWER))
_CPU.update(dict.fromkeys(_LOSSES + (
    "binary_cross_entropy", "prod", "cdist", "trace", "max_pool3d", "adaptive_avg_pool3d",
    "avg_pool3d", "grid_sample", "quantile", "nanquantile", "inverse", "pinverse", "cholesky"),
    FP32))
_CPU.update(dict.fromkeys(("cat", "stack", "index_copy"), PROMOTE))
_CPU.update(dict.fromkeys(("mv", "dot", "bilinear"), KEEP))

_CUDA = {}
_CUDA.update(dict.fromkeys((
    "matmul", "mm", "bmm", "mv", "addmm", "addmv", "addr", "addbmm", "baddbmm", "einsum",
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "prelu", "chain_matmul", "multi_dot", "scaled_dot_product_attention",
    "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"), LOWER))
_CUDA.update(dict.fromkeys(_LOSSES + (
    "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
    "reciprocal", "rsqrt", "sinh", "tan", "pow", "softplus", "layer_norm", "group_norm",
    "norm", "cosine_similarity", "dist", "pdist", "cdist", "renorm", "logsumexp", "prod",
    "cumprod", "cumsum", "sum", "softmax", "log_softmax", "gaussian_nll_loss",
    "multilabel_soft_margin_loss", "interpolate"), FP32))
_CUDA.update(dict.fromkeys(("addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot",
                            "grid_sample", "index_put", "scatter_add", "tensordot", "cat",
                            "stack"), PROMOTE))
_CUDA["binary_cross_entropy"] = BANNED

POLICY = {"cpu": _CPU, "cuda": _CUDA}
DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
SUPPORTED_DTYPES = {"cpu": ("bfloat16", "float16"), "cuda": ("bfloat16", "float16")}

_BANNED_MSG = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")


def tensor_device_type(t):
    """'cuda' for a tensor whose data is a CUDA DeviceArray, else 'cpu' (NumPy arrays, and the
    placeholders traced tensors hold)."""
    return getattr(t._data, "device_type", "cpu")


class _State:
    """Autocast's process state.  ``on`` is True while any device type has autocast enabled (and
    it is not excluded inside an autocast op)."""

    def __init__(self):
        self.on = False
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": None}
        self.cache_enabled = True
        self.cache = {}              # id(leaf) -> (leaf, dtype, cast copy), for weights
        self.depth = 0               # nesting of autocast regions, to clear the cache at exit
        self.ops = frozenset()       # ops with a policy on an enabled device (the hook's filter)

    def refresh(self):
        self.on = self.enabled["cpu"] or self.enabled["cuda"]
        self.ops = frozenset(op for dev, table in POLICY.items() if self.enabled[dev]
                             for op in table)

    def key(self):
        """The autocast state a traced program depends on (a compile guard)."""
        if not self.on:
            return None
        return tuple((dev, self.dtype[dev].name) for dev in ("cpu", "cuda") if self.enabled[dev])

    def call(self, op, fn, *args, **kwargs):
        tensors = _tensors(args) + _tensors(kwargs.values())
        devtype = tensor_device_type(tensors[0]) if tensors else "cpu"
        kind = POLICY[devtype].get(op) if self.enabled[devtype] else None
        if kind == BANNED:
            raise RuntimeError(_BANNED_MSG)
        if kind is not None and kind != KEEP:
            target = self._target(kind, devtype, tensors)
            if target is not None:
                args = tuple(self._cast_arg(a, target, devtype) for a in args)
                kwargs = {k: self._cast_arg(v, target, devtype) for k, v in kwargs.items()}
        self.on = False
        try:
            return fn(*args, **kwargs)
        finally:
            self.refresh()

    def _target(self, kind, devtype, tensors):
        from .. import dtypes as dt
        if kind == LOWER:
            return self.dtype[devtype]
        if kind == FP32:
            return dt.float32
        floats = [t.dtype for t in tensors if _eligible(t, devtype)]
        if not floats:
            return None
        widest = floats[0]
        for d in floats[1:]:
            widest = dt.promote_types(widest, d)
        return widest

    def _cast_arg(self, a, target, devtype):
        if isinstance(a, (list, tuple)):
            return type(a)(self._cast_arg(x, target, devtype) for x in a)
        if not _is_tensor(a) or not _eligible(a, devtype) or a.dtype is target:
            return a
        if self.cache_enabled and a._requires_grad and a._grad_fn is None and \
                target.name != "float32":
            hit = self.cache.get(id(a))
            if hit is not None and hit[0] is a and hit[1] is target:
                return hit[2]
            out = a.to(target)
            self.cache[id(a)] = (a, target, out)
            return out
        return a.to(target)


def _is_tensor(a):
    from ..frontend.tensor import Tensor
    return isinstance(a, Tensor)


def _eligible(t, devtype):
    """PyTorch casts floating tensors of the autocast device, except float64."""
    d = t.dtype
    return d.is_floating_point and d.name != "float64" and tensor_device_type(t) == devtype


def _tensors(args):
    from ..frontend.tensor import Tensor
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, Tensor))
    return out


AMP = _State()
