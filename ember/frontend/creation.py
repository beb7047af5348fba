"""Tensor creation: from data, constants, ranges, random numbers, and the Generator."""
from __future__ import annotations

import builtins
import math

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from ..runtime.device import check_device
from .dispatch import STATE, bind, wrap as _wrap
from .tensor import Tensor
from .shape_ops import _sizes




def _finish(t, requires_grad, device=None):
    """Mark requires_grad, and place a host-built tensor on ``device`` (a checked ``device``; a
    CUDA tensor's values are built on the host and copied, except the constants, which run as
    source primitives on the device)."""
    if device is not None and device.type == "cuda":
        from .device_ops import to_device_array
        t._data = to_device_array(t._data, device.index)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data):
    """PyTorch's dtype for nested Python data: bool < int64 < default float."""
    kinds = set()

    def walk(x):
        if isinstance(x, Tensor):
            kinds.add(x.dtype.category if x.dtype.category != dt.FLOAT else ("t", x.dtype))
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif isinstance(x, bool) or isinstance(x, np.bool_):
            kinds.add(dt.BOOL)
        elif isinstance(x, (int, np.integer)):
            kinds.add(dt.INT)
        elif isinstance(x, (float, np.floating)):
            kinds.add(dt.FLOAT)
        elif isinstance(x, (complex, np.complexfloating)):
            kinds.add(dt.COMPLEX)
        else:
            raise TypeError(f"Could not infer dtype of {type(x).__name__}")
    walk(data)
    if dt.COMPLEX in kinds:
        return dt.get_default_dtype().to_complex()
    tdt = [k[1] for k in kinds if isinstance(k, tuple)]
    cats = {k if not isinstance(k, tuple) else dt.FLOAT for k in kinds}
    if dt.FLOAT in cats:
        return tdt[0] if tdt and len(cats) == 1 else dt.get_default_dtype()
    if dt.INT in cats:
        return dt.int64
    if dt.BOOL in cats:
        return dt.bool_
    return dt.get_default_dtype()


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._host()
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    device = check_device(device)
    dtype = dt.to_dtype(dtype)
    if isinstance(data, Tensor):
        arr = np.array(data._host(), dtype=(dtype or data.dtype).np, copy=True)
    elif isinstance(data, np.ndarray):
        if dtype is None:
            dtype = dt.from_numpy_dtype(data.dtype)
        arr = np.array(data, dtype=dtype.np, copy=True)
    else:
        if dtype is None:
            dtype = _infer_dtype(data) if not isinstance(data, np.generic) else \
                dt.from_numpy_dtype(data.dtype)
        try:
            arr = np.array(_unwrap_nested(data), dtype=dtype.np)
        except ValueError as e:
            raise ValueError(f"expected sequence of equal-length lists: {e}") from None
    t = _wrap(arr)
    if pin_memory:
        t = t.pin_memory()
    return _finish(t, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    device = check_device(device) if device is not None else None
    dtype = dt.to_dtype(dtype)
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray):
        t = from_numpy(data)
        return t.to(device=device, dtype=dtype)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray):
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dt.from_numpy_dtype(ndarray.dtype)  # raises PyTorch's message for unsupported dtypes
    return _wrap(ndarray)


def _shape_dtype(size, dtype):
    shape = _sizes(size)
    for s in shape:
        if isinstance(s, int) and s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape, dt.to_dtype(dtype) or dt.get_default_dtype()


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False):
    device = check_device(device)
    if dtype is None:
        dtype = dt.scalar_dtype(fill_value) if not isinstance(fill_value, Tensor) else \
            fill_value.dtype
    shape, dtype = _shape_dtype((size,) if isinstance(size, int) else size, dtype)
    return _constant(shape, fill_value, dtype, device, requires_grad, pin_memory)


def _constant(shape, value, dtype, device, requires_grad, pin_memory=False, np_fn=None):
    if isinstance(value, Tensor):
        value = value.item()
    if STATE.tracer is not None:
        return _finish(bind(P.FULL, shape=shape, value=value, dtype=dtype), requires_grad)
    if device.type == "cuda":
        from .device_ops import run_source
        return _finish(run_source(P.FULL, device, shape=shape, value=value, dtype=dtype),
                       requires_grad)
    t = _wrap(np_fn(shape, dtype.np) if np_fn is not None else np.full(shape, value, dtype.np))
    return _finish(t.pin_memory() if pin_memory else t, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False,
          out=None):
    shape, dtype = _shape_dtype(size, dtype)
    return _constant(shape, 0, dtype, check_device(device), requires_grad, pin_memory, np.zeros)


def ones(*size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    shape, dtype = _shape_dtype(size, dtype)
    return _constant(shape, 1, dtype, check_device(device), requires_grad, pin_memory, np.ones)


def empty(*size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False,
          memory_format=None):
    shape, dtype = _shape_dtype(size, dtype)
    device = check_device(device)
    if device.type == "cuda" and STATE.tracer is None:   # uninitialised: no fill kernel
        from .device_ops import device_array_class
        return _finish(_wrap_device(device_array_class().empty(shape, dtype.np, device.index)),
                       requires_grad)
    return _constant(shape, 0, dtype, device, requires_grad, pin_memory, np.empty)


def _wrap_device(data):
    from .dispatch import _new
    return _new(data)


def _like(fn):
    def like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None,
             layout=None):
        return fn(tuple(input.shape), dtype=dtype or input.dtype,
                  device=device if device is not None else input.device,
                  requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None):
    return full(tuple(input.shape), fill_value, dtype=dtype or input.dtype,
                device=device if device is not None else input.device,
                requires_grad=requires_grad)


def arange(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False,
           layout=None):
    device = check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = dt.int64 if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                for v in vals) else dt.get_default_dtype()
    dtype = dt.to_dtype(dtype)
    if dtype.category != dt.FLOAT:
        # an integer arange counts in integers: float bounds truncate first, as in torch
        start, end, step = (int(v) for v in (start, end, step))
        if step == 0:
            raise RuntimeError("step must be nonzero")
    if device.type == "cuda" and STATE.tracer is None:
        from .device_ops import run_source
        return _finish(run_source(P.ARANGE, device, start=start, end=end, step=step, dtype=dtype),
                       requires_grad)
    return _finish(bind(P.ARANGE, start=start, end=end, step=step, dtype=dtype), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    device = check_device(device)
    dtype = dt.to_dtype(dtype) or dt.get_default_dtype()
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    arr = np.linspace(float(start), float(end), steps, dtype=np.float64)
    if dtype.category != dt.FLOAT:
        arr = np.trunc(arr)
    return _finish(_wrap(arr.astype(dtype.np)), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype=dt.float64)
    return _finish(_wrap((base ** lin._data).astype((dt.to_dtype(dtype) or
                                                     dt.get_default_dtype()).np)), requires_grad,
                   check_device(device))


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    device = check_device(device)
    dtype = dt.to_dtype(dtype) or dt.get_default_dtype()
    return _finish(_wrap(np.eye(n, n if m is None else m, dtype=dtype.np)), requires_grad, device)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False):
    return full((), value, dtype=dtype or dt.get_default_dtype(), device=device,
                requires_grad=requires_grad)


# --- random numbers ----------------------------------------------------------------------------
class Generator:
    """torch.Generator over NumPy's PCG64.  Streams are deterministic for a seed; they do not
    reproduce PyTorch's Mersenne-Twister numbers (that is not promised by either library)."""

    def __init__(self, device="cpu"):
        self.device = check_device(device)
        self._seed = 67280421310721
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy & 0xFFFFFFFFFFFFFFFF)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        import pickle
        return tensor(np.frombuffer(pickle.dumps(self._rng.bit_generator.state), np.uint8).copy())

    def set_state(self, state):
        import pickle
        self._rng.bit_generator.state = pickle.loads(state._data.tobytes())
        return self

    def next_seed(self):
        """A fresh 63-bit seed for one random primitive (its numbers come from this seed)."""
        return int(self._rng.integers(0, 2 ** 63 - 1))

    @property
    def numpy(self):
        return self._rng


default_generator = Generator()

# CUDA generators: device index -> [initial seed, offset of the next draw] (set through
# ember.cuda.manual_seed & co., cuda/random.py); a CUDA random op draws its seed here
CUDA_SEEDS = {}
_CUDA_DEFAULT_SEED = 67280421310721    # PyTorch's default generator seed


def _cuda_seed_state(device):
    return CUDA_SEEDS.setdefault(device, [_CUDA_DEFAULT_SEED, 0])


def cuda_next_seed(device):
    """The seed for the next random op on CUDA device ``device`` (advances its generator)."""
    st = _cuda_seed_state(device)
    st[1] += 1
    return (st[0] * 0x9E3779B97F4A7C15 + st[1]) & ((1 << 63) - 1)


def manual_seed(seed):
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _gen(generator):
    return generator if generator is not None else default_generator


def _random(prim, device, generator, **params):
    """A random source primitive on ``device``.  On CUDA the seed comes from the device's
    generator (``ember.cuda.manual_seed``) unless a generator is given, and the numbers are drawn
    by the primitive's rule (on the host: see docs/cuda.md; they differ from torch's CUDA
    Philox numbers, as ember's CPU numbers differ from torch's Mersenne Twister)."""
    if device.type == "cuda" and STATE.tracer is None:
        from .device_ops import run_source
        if generator is None:
            seed = cuda_next_seed(device.index)
        else:
            seed = generator.next_seed()
        return run_source(prim, device, seed=seed, **params)
    return bind(prim, seed=_gen(generator).next_seed(), **params)


def _float_dtype(dtype):
    dtype = dt.to_dtype(dtype) or dt.get_default_dtype()
    if dtype.category != dt.FLOAT:
        raise RuntimeError(f"\"check_uniform_bounds\" not implemented for "
                           f"'{dt.legacy_name(dtype)}'")
    return dtype


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False):
    device = check_device(device)
    shape, _ = _shape_dtype(size, dtype)
    dtype = _float_dtype(dtype)
    t = _random(P.RAND_UNIFORM, device, generator, shape=shape, dtype=dtype, low=0, high=1)
    return _finish(t, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, layout=None,
          pin_memory=False):
    device = check_device(device)
    shape, _ = _shape_dtype(size, dtype)
    dtype = _float_dtype(dtype)
    t = _random(P.RAND_NORMAL, device, generator, shape=shape, dtype=dtype)
    return _finish(t, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    device = check_device(device)
    if size is None:
        # randint(high, size) form
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    shape, _ = _shape_dtype(size, dtype)
    dtype = dt.to_dtype(dtype) or dt.int64
    return _random(P.RAND_INT, device, generator, shape=shape, dtype=dtype, low=int(low),
                   high=int(high))


def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return rand(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad,
                device=device if device is not None else input.device)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return randn(tuple(input.shape), dtype=dtype or input.dtype, requires_grad=requires_grad,
                 device=device if device is not None else input.device)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   device=device if device is not None else input.device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    device = check_device(device)
    dtype = dt.to_dtype(dtype) or dt.int64
    if device.type == "cuda" and generator is None:
        rng = np.random.default_rng(cuda_next_seed(device.index))
    else:
        rng = np.random.default_rng(_gen(generator).next_seed())
    return _finish(_wrap(rng.permutation(n).astype(dtype.np)), False, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False, layout=None, pin_memory=False, out=None):
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        shape = tuple(ref.shape) if size is None else tuple(size)
        if isinstance(mean, Tensor) and isinstance(std, Tensor):
            from ..shapes import broadcast_shapes
            shape = broadcast_shapes(tuple(mean.shape), tuple(std.shape))
        return randn(shape, generator=generator, dtype=ref.dtype, device=ref.device) * std + mean
    return randn(tuple(size), generator=generator, dtype=dtype, device=device) * std + mean


def bernoulli(input, p=None, *, generator=None):
    probs = input if p is None else full(tuple(input.shape), p, dtype=input.dtype,
                                         device=input.device)
    u = rand(tuple(input.shape), generator=generator, dtype=input.dtype if
             input.dtype.category == dt.FLOAT else None, device=input.device)
    out = (u < probs).to(input.dtype)
    if input.requires_grad and input.dtype.category == dt.FLOAT:
        from .functional import zero_grad_link
        out = out + zero_grad_link(input)  # recorded with a zero gradient, as in PyTorch
    return out


def multinomial(input, num_samples, replacement=False, *, generator=None):
    rng = np.random.default_rng(_gen(generator).next_seed())
    probs = np.asarray(input._host(), np.float64)
    rows = probs.reshape(-1, probs.shape[-1])
    out = []
    for row in rows:
        if (row < 0).any() or not np.isfinite(row).all() or row.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > (row > 0).sum():
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        out.append(rng.choice(len(row), num_samples, replace=replacement, p=row / row.sum()))
    res = np.stack(out).astype(np.int64)
    return _finish(_wrap(res.reshape(probs.shape[:-1] + (num_samples,))), False, input.device)


# in-place random fills (nn.init uses these)
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    from .inplace import write
    with _no_record():
        v = _random(P.RAND_UNIFORM, self.device, generator, shape=tuple(self.shape),
                    dtype=_float_dtype(self.dtype), low=a, high=b)
        return write(self, v)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    from .inplace import write
    with _no_record():
        v = _random(P.RAND_NORMAL, self.device, generator, shape=tuple(self.shape),
                    dtype=_float_dtype(self.dtype))
        return write(self, v * std + mean if (mean, std) != (0.0, 1.0) else v)


def random_(self, from_=0, to=None, *, generator=None):
    from .inplace import write
    if to is None:
        from_, to = 0, from_ if from_ else 2 ** 24
    with _no_record():
        v = _random(P.RAND_INT, self.device, generator, shape=tuple(self.shape), dtype=dt.int64,
                    low=int(from_), high=int(to))
        return write(self, v)


def bernoulli_(self, p=0.5, *, generator=None):
    from .inplace import write
    with _no_record():
        return write(self, bernoulli(self, p, generator=generator))


def exponential_(self, lambd=1.0, *, generator=None):
    from .inplace import write
    from .functional import log
    with _no_record():
        u = rand(tuple(self.shape), generator=generator, dtype=self.dtype, device=self.device)
        return write(self, -log(1 - u) / lambd)


class _no_record:
    """Random fills of a leaf parameter are allowed under no_grad (nn.init): enter it here."""

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = False

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
