"""Tracing: run Python code on traced tensors and record every primitive it binds into a Graph.

A traced tensor is an ordinary ember Tensor whose ``_value`` is a graph Value and whose ``_data`` is
a ``TracedData`` stand-in (shape, dtype, ndim, size, ...), so shape logic in the frontend runs
unchanged.  ``bind()`` hands primitives to ``Tracer.bind`` (a node is appended and autograd records
as usual, so ``loss.backward()`` inside traced code appends the backward nodes), and in-place writes
go through ``Tracer.write`` (functionalized: the tensor is rebound to the new value; a write into a
graph input becomes a ``copy_`` mutation of the program).

Eager tensors the traced code touches are *lifted*: module parameters and buffers become named
``param``/``buffer`` inputs, any other captured tensor a ``const`` input whose value is stored with
the program.  While tracing, a lifted tensor is temporarily switched into a traced tensor in place
(so every reference to it, e.g. an optimizer's, sees the traced value); it is restored afterwards.
"""
from __future__ import annotations

import os
import importlib.util
import sys

import numpy as np

from .. import dtypes as dt
from . import dispatch
from .dispatch import STATE
from .tensor import Tensor
from ..ops.registry import Meta
from ..shapes import ShapeEnv, SymDim, as_expr, is_sym, prod
from ..shapes import sympy   # imported on first use: static shapes never need it
from ..ir.graph import Graph, Node

_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# frames in these libraries are never "the user's line" (NumPy calls back into tensors)
_LIB_DIRS = tuple(os.path.dirname(os.path.abspath(importlib.util.find_spec(m).origin)) + os.sep
                  for m in ("numpy", "sympy"))     # found, not imported
_is_ember_file = {}


class TraceError(RuntimeError):
    """Traced code did something that has no graph form (data-dependent Python)."""


def _inside_ember(filename):
    r = _is_ember_file.get(filename)
    if r is None:
        path = os.path.abspath(filename)
        r = _is_ember_file[filename] = path.startswith(_EMBER_DIR) or path.startswith(_LIB_DIRS)
    return r


def user_frame(depth=1):
    """The innermost stack frame outside the ember package (the user's code), or None."""
    f = sys._getframe(depth)
    while f is not None and _inside_ember(f.f_code.co_filename):
        f = f.f_back
    return f


def user_location():
    f = user_frame(2)
    return f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}" if f is not None else None


_ADVICE = {
    "item": "Keep the value as a tensor (tensor ops and ember.where work while tracing), or pass it "
            "to the traced function as a Python argument.",
    "tolist": "Return the tensor from the traced function and convert it after the call.",
    "numpy": "Return the tensor from the traced function and convert it after the call.",
    "bool": "Use ember.where(condition, a, b) (or masks) instead of a Python if/while on a tensor.",
    "nonzero": "Use a boolean mask with ember.where instead; the output shape must not depend on "
               "the data.",
    "unique": "The output shape depends on the data; compute it outside the traced function.",
    "reading": "Use tensor ops (a traced program has values, not memory), or compute this outside "
               "the traced function.",
}


def data_dependent_error(what):
    f = user_frame(2)
    where = f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"
    key = next((k for k in _ADVICE if what.startswith(k)), None)
    if key is None and "numpy" in what:
        key = "numpy"
    advice = _ADVICE.get(key, "Keep the computation in tensor ops.")
    raise TraceError(f"{where}: {what} needs the value of a traced tensor, but while tracing only "
                     f"its shape and dtype are known (the code must not branch on or read tensor "
                     f"data). {advice}")


# --- the traced tensor's stand-in for a NumPy array ---------------------------------------------
class _Flags:
    c_contiguous = True
    f_contiguous = False
    writeable = True
    owndata = True


_READ = "reading tensor data or memory (a NumPy conversion, data_ptr(), storage_offset())"


class TracedData:
    """What frontend code reads from ``tensor._data``: shape (ints or SymDims), NumPy dtype, ..."""
    __slots__ = ("shape", "dtype", "ndim", "size", "itemsize", "device_type", "device")
    flags = _Flags()
    base = None

    def __init__(self, shape, np_dtype, device=None):
        self.shape = shape
        self.dtype = np_dtype
        self.ndim = len(shape)
        self.size = prod(shape)
        self.itemsize = np_dtype.itemsize
        # a traced CUDA tensor still answers .device/.is_cuda (state created while tracing an
        # optimizer step goes on the parameters' device); None: a CPU tensor
        self.device_type = "cuda" if device is not None else "cpu"
        self.device = device

    @property
    def nbytes(self):
        return self.size * self.itemsize

    def is_c_contiguous(self):   # as DeviceArray's (traced values are laid out contiguously)
        return True

    @property
    def strides(self):
        out, step = [], self.itemsize
        for d in reversed(self.shape):
            out.append(step)
            step = step * d
        return tuple(reversed(out))

    def __array__(self, *a, **k):
        data_dependent_error(_READ)

    @property
    def __array_interface__(self):
        data_dependent_error(_READ)


def _to_tensor_dims(shape, env):
    out = []
    for d in shape:
        if d.__class__ is int:
            out.append(d)
        elif isinstance(d, SymDim):
            out.append(d)
        else:
            e = as_expr(d)
            out.append(e if isinstance(e, int) else SymDim(e, env))
    return tuple(out)


def _graph_param(p):
    c = p.__class__
    if c is int or c is float or c is bool or p is None or c is str or isinstance(p, dt.dtype):
        return p
    if c is tuple or c is list:
        return tuple(_graph_param(x) for x in p)
    if isinstance(p, SymDim):
        return p.expr
    if is_sym(p):
        return int(p) if p.is_Integer else p
    if isinstance(p, np.generic):
        return p.item()
    if isinstance(p, Tensor):
        raise TraceError("a tensor was passed where a primitive expects a Python value")
    return p


def _static(shape):
    for d in shape:
        if d.__class__ is not int:
            return False
    return True


class Tracer:
    saw_backward = False     # set by autograd.run_backward while this tracer is active

    def __init__(self, graph=None, env=None):
        self.graph = graph if graph is not None else Graph()
        self.env = env if env is not None else ShapeEnv()
        self.lifted = {}          # id(tensor) -> (tensor, saved __dict__, input Value)
        self.names = set()

    # --- lifting eager tensors into graph inputs ----------------------------------------------
    def _unique(self, name):
        from ..ir.printer import py_name
        name = base = py_name(name)
        i = 1
        while name in self.names:
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def lift(self, t, kind="const", name=None, target=None, dynamic_dims=()):
        """Make eager tensor `t` a graph input and switch it into a traced tensor in place."""
        entry = self.lifted.get(id(t))
        if entry is not None:
            return entry[2]
        if t._value is not None:
            raise TraceError("internal: lifting a tensor that is already traced")
        arr = t._data
        if not isinstance(arr, np.ndarray) and getattr(arr, "device_type", None) != "cuda":
            raise TraceError(f"cannot trace a tensor whose data is {type(arr).__name__}")
        shape, tshape = [], []
        for i, n in enumerate(arr.shape):
            if i in dynamic_dims and n >= 2:
                s = self.env.new_symbol(int(n))
                self.env.guard(sympy.Ge(s, 2))
                self.graph.hints[s.name] = int(n)
                shape.append(s)
                tshape.append(SymDim(s, self.env))
            else:
                shape.append(int(n))
                tshape.append(int(n))
        if name is None:
            name = f"c{sum(1 for v in self.graph.inputs if v.kind == 'const')}"
        name = self._unique(name)
        value = self.graph.add_input(Meta(tuple(shape), dt.BY_NP[arr.dtype]), name, kind, target)
        saved = dict(t.__dict__)
        self.lifted[id(t)] = (t, saved, value, arr)
        d = t.__dict__
        for k in ("_base", "_view_src", "_grad_fn", "_out_idx", "_hooks", "_retains_grad", "grad",
                  "_tver"):
            d.pop(k, None)
        t._data = TracedData(tuple(tshape), arr.dtype,
                             arr.device if arr.__class__ is not np.ndarray else None)
        t._value = value
        if kind == "buffer":
            t._requires_grad = False
        return value

    def restore(self):
        """Switch every lifted tensor back to its eager self."""
        for t, saved, _, _ in self.lifted.values():
            t.__dict__.clear()
            t.__dict__.update(saved)

    def note_zero_grad(self, params, set_to_none):
        """Module/Optimizer.zero_grad() ran while tracing (the capture protocol, capture.py)."""

    # --- the bind hook ------------------------------------------------------------------------
    def bind(self, prim, args, params):
        env = self.env
        metas = []
        vals = []
        device = None
        for a in args:
            if a._value is None:
                self.lift(a)
            elif a._base is not None and "_tver" in a.__dict__ and a._tver != a._base._ver:
                self._refresh(a)
            d = a._data
            metas.append(Meta(d.shape, dt.BY_NP[d.dtype]))
            vals.append(a._value)
            if d.device_type == "cuda":
                device = d.device
        meta = prim.infer(*metas, **params)
        shape = meta.shape
        if _static(shape) and all(v.__class__ is not SymDim for v in params.values()):
            gshape, tshape = shape, shape
            gparams = {k: _graph_param(v) for k, v in params.items()}
        else:
            gshape = tuple(as_expr(d) for d in shape)
            tshape = _to_tensor_dims(shape, env)
            gparams = {k: _graph_param(v) for k, v in params.items()}
        node = Node(prim, vals, gparams, Meta(gshape, meta.dtype), user_location())
        self.graph.nodes.append(node)
        return traced_result(prim, args, params, TracedData(tshape, meta.dtype.np, device),
                             node.out)

    def _refresh(self, view):
        """`view`'s base was written in place after the view was made: recompute the view."""
        parent, prim, params = view._view_src
        if parent._base is not None and "_tver" in parent.__dict__ and \
                parent._tver != parent._base._ver:
            self._refresh(parent)
        root = view._base
        ver = root._ver
        new = self.bind(prim, (parent,), params)
        view._value, view._data = new._value, new._data
        if new._requires_grad:
            view._grad_fn, view._out_idx, view._requires_grad = new._grad_fn, new._out_idx, True
        view._tver = ver

    # --- in-place writes ----------------------------------------------------------------------
    def write(self, target, result):
        from .inplace import _unview
        if target._value is None:
            self.lift(target)
        elif target._base is not None and "_tver" in target.__dict__ and \
                target._tver != target._base._ver:
            self._refresh(target)
        self._assign(target, result)
        child, new = target, result
        chain = [target]
        while child._view_src is not None and "_tver" in child.__dict__:
            parent, prim, params = child._view_src
            new = _unview(parent, prim, params, new)
            self._assign(parent, new)
            chain.append(parent)
            child = parent
        root = child
        root._ver += 1
        for t in chain:
            if t is not root:
                t._tver = root._ver

    @staticmethod
    def _assign(t, new):
        t._value, t._data = new._value, new._data
        if new._requires_grad and STATE.grad_enabled:
            t._grad_fn, t._out_idx, t._requires_grad = new._grad_fn, new._out_idx, True
        elif t._requires_grad and t._grad_fn is not None and STATE.grad_enabled:
            t._grad_fn, t._requires_grad = None, False

    # --- finishing ----------------------------------------------------------------------------
    def output_value(self, t):
        if t._value is None:
            self.lift(t)
        elif t._base is not None and "_tver" in t.__dict__ and t._tver != t._base._ver:
            self._refresh(t)
        return t._value

    def finish(self, outputs):
        g = self.graph
        g.outputs = list(outputs)
        for t, saved, value, _ in self.lifted.values():
            if t._value is not value:
                g.mutations[value] = t._value
        g.guards = list(self.env.guards)
        g.prune()
        _specialize(g)
        _renumber(g)
        used = set(g.outputs) | set(g.mutations) | set(g.mutations.values())
        for n in g.nodes:
            used.update(n.inputs)
        g.inputs = [v for v in g.inputs if v.kind == "input" or v in used]
        return g


def _specialize(g):
    """Guards that pin a symbol to a number or to another symbol become substitutions, so the
    graph says `f32[s0,784]` instead of `f32[s0,s1]` plus a guard `s1 == 784`."""
    subs = {}
    rest = []
    for r in g.guards:
        if isinstance(r, sympy.Eq):
            lhs, rhs = r.lhs.subs(subs), r.rhs.subs(subs)
            if lhs.is_Symbol and (rhs.is_Integer or rhs.is_Symbol):
                a, b = (lhs, rhs) if not rhs.is_Symbol or _order(lhs) > _order(rhs) else (rhs, lhs)
                subs = {k: v.subs(a, b) for k, v in subs.items()}
                subs[a] = b
                continue
            if rhs.is_Symbol and lhs.is_Integer:
                subs = {k: v.subs(rhs, lhs) for k, v in subs.items()}
                subs[rhs] = lhs
                continue
        rest.append(r)
    g.guards = rest
    if not subs:
        return g
    _substitute(g, subs)
    for s in subs:
        g.hints.pop(s.name, None)
    return g


def _substitute(g, subs):
    def sub_dim(d):
        if isinstance(d, int):
            return d
        e = d.subs(subs, simultaneous=True)
        return int(e) if e.is_Integer else e

    def sub_param(p):
        if isinstance(p, tuple):
            return tuple(sub_param(x) for x in p)
        if is_sym(p):
            return sub_dim(p)
        return p

    for v in g.inputs:
        v.meta = Meta(tuple(sub_dim(d) for d in v.meta.shape), v.meta.dtype)
    for n in g.nodes:
        n.out.meta = Meta(tuple(sub_dim(d) for d in n.out.meta.shape), n.out.meta.dtype)
        n.params = {k: sub_param(p) for k, p in n.params.items()}
    guards = []
    for r in g.guards:
        r = r.subs(subs, simultaneous=True)
        if r not in (True, sympy.true) and r not in guards:
            guards.append(r)
    g.guards = guards


def _renumber(g):
    """Size symbols renamed s0, s1, ... in order of first appearance among the inputs."""
    from ..shapes import sym
    order = []
    for v in g.inputs:
        for d in v.meta.shape:
            if not isinstance(d, int):
                for s in sorted(d.free_symbols, key=_order):
                    if s not in order:
                        order.append(s)
    ren = {s: sym(f"s{i}") for i, s in enumerate(order) if s.name != f"s{i}"}
    if not ren:
        return g
    hints = {ren.get(sym(k), sym(k)).name: h for k, h in g.hints.items()}
    _substitute(g, ren)
    g.hints = hints
    return g


def _order(s):
    return (len(s.name), s.name)


# --- structures of inputs and outputs ---------------------------------------------------------
def flatten(obj):
    """(tensors, spec): the tensors in `obj` (nested tuples/lists/dicts) and a JSON-able spec."""
    leaves = []

    def walk(o):
        if isinstance(o, Tensor):
            leaves.append(o)
            return ["tensor", len(leaves) - 1]
        if isinstance(o, tuple) and not hasattr(o, "_fields"):
            return ["tuple", [walk(x) for x in o]]
        if isinstance(o, tuple):
            return ["namedtuple", [walk(x) for x in o]]
        if isinstance(o, list):
            return ["list", [walk(x) for x in o]]
        if isinstance(o, dict):
            return ["dict", [[k, walk(v)] for k, v in o.items()]]
        if o is None or isinstance(o, (bool, int, float, str)):
            return ["const", o]
        raise TraceError(f"a traced function may return tensors, numbers, strings and tuples/lists/"
                         f"dicts of them, not {type(o).__name__}")
    return leaves, walk(obj)


def unflatten(spec, leaves):
    kind, body = spec
    if kind == "tensor":
        return leaves[body]
    if kind in ("tuple", "namedtuple"):
        return tuple(unflatten(s, leaves) for s in body)
    if kind == "list":
        return [unflatten(s, leaves) for s in body]
    if kind == "dict":
        return {k: unflatten(s, leaves) for k, s in body}
    return body


class tracing:
    """Context manager installing a tracer (bind and in-place writes go to it)."""

    def __init__(self, tracer):
        self.tracer = tracer

    def __enter__(self):
        if STATE.tracer is not None:
            raise TraceError("ember is already tracing (nested tracing is not supported)")
        STATE.tracer = self.tracer
        return self.tracer

    def __exit__(self, *exc):
        STATE.tracer = None
        self.tracer.restore()
        return False


def traced_result(prim, args, params, data, value):
    """The Tensor a traced op returns (graph value ``value``, metadata stand-in ``data``): linked
    to its view base like an eager view, and recorded for autograd like bind() records."""
    t = Tensor.__new__(Tensor)
    t._data = data
    t._value = value
    if prim.is_view:
        src = args[0]
        root = src._base if src._base is not None else src
        t._base = root
        t._view_src = (src, prim, params)
        t._tver = root._ver
    if STATE.grad_enabled and prim.differentiable:
        for a in args:
            if a._requires_grad:
                dispatch._record(prim, args, params, t)
                break
    return t
