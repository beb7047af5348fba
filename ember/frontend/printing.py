"""A repr that looks like PyTorch's: 4 decimals (or scientific) for floats, aligned columns,
summarised with ... past 1000 elements, and the dtype / grad suffixes PyTorch prints."""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt


def _float_formatter(values):
    # PyTorch's _Formatter: decided by the nonzero finite values only
    finite = values[np.isfinite(values)] if values.size else values
    nonzero = np.abs(finite[finite != 0])
    if nonzero.size == 0:
        return lambda v: _special(v) or f"{v:.0f}."
    absmax, absmin = float(nonzero.max()), float(nonzero.min())
    integral = bool(np.all(nonzero == np.ceil(nonzero)))
    wide = absmax / absmin > 1000.0 or absmax > 1.0e8
    if integral and not wide:
        fmt = lambda v: _special(v) or f"{v:.0f}."
    elif wide or (not integral and absmin < 1.0e-4):
        fmt = lambda v: _special(v) or f"{v:.4e}"
    else:
        fmt = lambda v: _special(v) or f"{v:.4f}"
    return fmt


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _complex_formatter(values):
    """PyTorch prints a complex number as its real and imaginary parts, each with the float
    format chosen over all parts: 1.0000+2.0000j."""
    flat = values.reshape(-1)
    real, imag = _float_formatter(flat.real), _float_formatter(flat.imag)

    def fmt(v):
        im = imag(abs(v.imag)) if not np.isnan(v.imag) else "nan"
        return f"{real(v.real)}{'-' if np.signbit(v.imag) else '+'}{im}j"
    return fmt


def format_array(a, indent):
    if a.dtype.kind == "c":
        values = a
        summary = values if values.size <= 1000 else _summary_values(values)
        fmt = _complex_formatter(summary)
    elif a.dtype.kind == "f" or a.dtype == dt.bfloat16.np:
        values = np.asarray(a, dtype=np.float64)
        summary = values if values.size <= 1000 else _summary_values(values)
        fmt = _float_formatter(summary)
    elif a.dtype.kind == "b":
        values, fmt = a, lambda v: "True" if v else "False"
        summary = values
    else:
        values, fmt = a, lambda v: str(int(v))
        summary = values if values.size <= 1000 else _summary_values(values)
    sized = summary.reshape(-1)
    if a.dtype.kind == "f" or a.dtype == dt.bfloat16.np:
        # PyTorch sizes float columns by the nonzero finite values only (so -0. is not padded)
        sized = sized[np.isfinite(sized) & (sized != 0)]
    width = max((len(fmt(v)) for v in sized), default=1)
    text = np.array2string(values, separator=", ", prefix=" " * indent, threshold=1000,
                           edgeitems=3, max_line_width=80,
                           formatter={"all": lambda v: fmt(v).rjust(width)})
    return text.replace(", ..., ", ",  ..., ")  # PyTorch's elided columns read " ..."


def _summary_values(v):
    flat = v.reshape(-1)
    return np.concatenate([flat[:3], flat[-3:]])


def tensor_repr(t, prefix="tensor("):
    if t._value is not None:
        return f"TracedTensor({t._value})"
    a = t._host()
    dtype = t.dtype
    suffixes = []
    if t.is_cuda:   # PyTorch shows the device first, before the dtype
        suffixes.append(f"device='{t.device}'")
    if a.size == 0 and a.ndim != 1:
        body = "[]"
        suffixes.append(f"size={tuple(a.shape)}")
    elif a.size == 0:
        body = "[]"
    else:
        body = format_array(a, len(prefix))
    default_shown = dtype in (dt.get_default_dtype(), dt.int64, dt.bool_,
                              dt.get_default_dtype().to_complex())
    if not default_shown or (a.size == 0 and dtype is not dt.get_default_dtype()):
        suffixes.append(f"dtype={dtype!r}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    inner = body + "".join(", " + s for s in suffixes)
    return f"{prefix}{inner})"
