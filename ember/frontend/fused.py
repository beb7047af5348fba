"""Eager fast paths for composites: one NumPy forward and one NumPy backward instead of a chain of
recorded primitives.

softmax, layer_norm, gelu, cross-entropy or an LSTM cell written on primitives record 5-20 nodes
each; in small models (a GPT or LSTM step) the Python cost of binding and backpropagating those
nodes, not the arithmetic, is the step's time.  A ``Fused`` op runs the same math as one NumPy
function, records a single autograd node whose backward is NumPy too, and keeps the composite
as the definition everywhere else:

* tracing (``ember.compile``), a ``record_hook`` observer, non-CPU tensors or dtypes the NumPy
  code does not handle: the composite runs, so graphs, compiled programs and devices never see a
  fused op;
* a backward with ``create_graph=True`` (grad mode on while the node's backward runs): the node
  re-runs the composite on its inputs and differentiates that, so higher-order gradients are the
  composite's (slower, exact).

Results match the composite within floating-point reassociation; tests compare both, PyTorch,
and float64 finite differences.
"""
from __future__ import annotations

import numpy as np

from .autograd import FunctionNode, _FREED, _root
from .dispatch import STATE, _new

_ndarray = np.ndarray
_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Fused:
    """One composite with a NumPy fast path.

    forward(*arrays, **params) -> (outputs: tuple of arrays, saved: anything)
    backward(saved, grads: list of arrays (zeros where an output got none), needs: tuple of
             bools per input, *arrays, **params) -> tuple of arrays or None per input
    composite(*tensors, **params) -> Tensor or tuple of Tensors (the definition)

    ``inputs`` are the differentiable operands (None for an absent weight); anything else (class
    indices, dims, eps) goes in ``params``, which forward, backward and composite all receive.
    """

    def __init__(self, name, forward, backward, composite, n_outputs=1, saves_output=False):
        self.__name__ = name          # the node's name: "<name>Backward0", PyTorch's where it has one
        self.forward = forward
        self.np_backward = backward
        self.composite = composite
        self.n_outputs = n_outputs
        # the backward reads an output's values: an in-place change of it must be caught
        self.saves_output = saves_output

    def __call__(self, *inputs, **params):
        if not fast(inputs):
            return self.composite(*inputs, **params)
        arrays = [None if t is None else t._data for t in inputs]
        outs, saved = self.forward(*arrays, **params)
        results = []
        for a in outs:
            t = _new(a)
            results.append(t)
        if STATE.grad_enabled:
            for t in inputs:
                if t is not None and t._requires_grad:
                    self._record(inputs, params, saved, results)
                    break
        return results[0] if self.n_outputs == 1 else tuple(results)

    def _record(self, inputs, params, saved, results):
        ctx = _Ctx()
        ctx.op, ctx.inputs, ctx.params, ctx.saved = self, inputs, params, saved
        watched = [t for t in inputs if t is not None]
        if self.saves_output:
            watched += results
        ctx.watched = [(t, _root(t)._ver) for t in watched]
        node = FusedNode()
        node.fn, node.ctx = self, ctx
        node.next = tuple(None if t is None else
                          (t._grad_fn, t._out_idx) if t._grad_fn is not None else
                          ((t, 0) if t._requires_grad else None) for t in inputs)
        node.n_outputs = len(results)
        node.out_metas = ctx.node_metas = [(r._data.shape, r._data.dtype, None) for r in results]
        node.hooks = node.retained = None
        node.released = False
        for i, r in enumerate(results):
            r._grad_fn, r._out_idx, r._requires_grad = node, i, True

    def backward(self, ctx, *grads):
        """FunctionNode's call: NumPy for a first-order backward, the composite otherwise."""
        if ctx.saved is _RELEASED:
            raise RuntimeError(_FREED)
        inputs = ctx.inputs
        for t, v in ctx.watched:
            if _root(t)._ver != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{t.dtype.name} {list(t.shape)}], used by "
                    f"{self.__name__}Backward, is at version {_root(t)._ver}; expected version "
                    f"{v} instead. Hint: clone the tensor before modifying it in place.")
        needs = tuple(t is not None and t._requires_grad for t in inputs)
        if STATE.grad_enabled or any(g._data.__class__ is not _ndarray for g in grads):
            return self._composite_backward(inputs, ctx.params, grads, needs)
        arrays = [None if t is None else t._data for t in inputs]
        # (a gradient given in another dtype computes in the output's, as the composite promotes)
        garrays = [g._data if g._data.dtype == m[1] else g._data.astype(m[1])
                   for g, m in zip(grads, ctx.node_metas)]
        out = self.np_backward(ctx.saved, garrays, needs, *arrays, **ctx.params)
        return tuple(None if a is None or not n else _new(a) for a, n in zip(out, needs))

    def _composite_backward(self, inputs, params, grads, needs):
        """create_graph=True: differentiate the composite, recorded, so that the gradient itself
        has a graph back to the inputs."""
        from .autograd import run_backward
        outs = self.composite(*inputs, **params)
        outs = outs if isinstance(outs, tuple) else (outs,)
        wrt = [t for t, n in zip(inputs, needs) if n]
        pairs = [(o, g) for o, g in zip(outs, grads) if o._requires_grad]
        got = iter(run_backward(tuple(o for o, _ in pairs), tuple(g for _, g in pairs),
                                retain_graph=True, create_graph=True, inputs=tuple(wrt),
                                allow_unused=True))
        return tuple(next(got) if n else None for n in needs)


_RELEASED = object()


class FusedNode(FunctionNode):
    """A fused op's node: named like PyTorch's node for the same op (``SoftmaxBackward0``)."""
    __slots__ = ()

    def name(self):
        return self.fn.__name__ + "Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"


class _Ctx:
    """What FunctionNode expects of a ctx (``_materialize``, ``_saved`` cleared on release)."""
    _materialize = True

    @property
    def _saved(self):
        return self.saved

    @_saved.setter
    def _saved(self, value):   # FunctionNode.release() sets None: drop arrays and inputs
        if value is None:
            self.saved, self.inputs, self.params, self.watched = _RELEASED, (), {}, ()


def fast(inputs):
    """Whether the NumPy fast path may run: plain eager, CPU arrays, all float32 or all float64
    (mixed dtypes promote in the composite)."""
    if STATE.tracer is not None or STATE.record_hook is not None:
        return False
    dtype = inputs[0]._data.dtype if inputs[0]._data.__class__ is _ndarray else None
    if dtype not in _FAST_DTYPES:
        return False
    for t in inputs:
        if t is not None and (t._data.__class__ is not _ndarray or t._data.dtype != dtype):
            return False
    return True
