"""Tape autograd: nodes recorded by ``bind``, the backward engine, grad modes, custom Functions.

Each non-leaf tensor points at the node that made it (``grad_fn``); a node keeps its inputs, the
edges to their nodes (or to the leaf tensors that accumulate ``.grad``), and the input versions it
saw, so an in-place change of a saved tensor is caught.  ``backward`` walks the nodes in reverse
topological order calling each primitive's ``vjp`` on real tensors; with ``create_graph=True`` it
runs with grad mode on, so the backward pass is itself recorded (higher-order gradients).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from ..ops import complex as _complex
from . import dispatch
from .dispatch import STATE

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
          "backward through the graph a second time or if you need to access saved tensors after "
          "calling backward.")


def _root(t):
    return t._base if t._base is not None else t


class _SavedMeta:
    """What a released node keeps of an input whose values its vjp never reads."""
    __slots__ = ("shape", "dtype", "ndim")

    def __init__(self, t):
        self.shape, self.dtype, self.ndim = t.shape, t.dtype, t.ndim


class Node:
    """One recorded primitive application (PyTorch's grad_fn)."""
    # class-level defaults keep recording cheap: an instance stores only what it needs
    n_outputs = 1
    out = None
    hooks = None
    retained = None
    released = False
    torch_name = None   # PyTorch's name where an op's last primitive is not its namesake

    def __init__(self, prim, inputs, params, out):
        self.prim = prim
        self.params = params
        self.inputs = inputs
        versions = []
        edges = []
        for a in inputs:
            base = a._base
            versions.append((base if base is not None else a)._ver)
            fn = a._grad_fn
            edges.append((fn, a._out_idx) if fn is not None else
                         ((a, 0) if a._requires_grad else None))
        self.versions = versions
        self.next = edges
        if prim.saves_output:
            saved = dispatch._new(out._data)
            if out._value is not None:  # traced: the saved output is the same graph value
                saved._value = out._value
            saved._base = _root(out)
            self.out = saved
            self.out_version = saved._base._ver

    def name(self):
        if self.torch_name is not None:
            return self.torch_name
        return "".join(p.capitalize() for p in self.prim.name.split("_")) + "Backward0"

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        out = []
        for e in self.next:
            if e is None:
                out.append((None, 0))
            elif isinstance(e[0], Node) or isinstance(e[0], FunctionNode):
                out.append(e)
            else:
                out.append((AccumulateGrad(e[0]), 0))
        return tuple(out)

    def _check_saved(self):
        if self.released:
            raise RuntimeError(_FREED)
        if not self.prim.saves_inputs:  # the vjp reads no input values (views, copies, pads)
            return self._check_saved_output()
        needs = self.prim.needs_input
        requires = [e is not None for e in self.next] if needs is not None else None
        for i, (a, v) in enumerate(zip(self.inputs, self.versions)):
            if isinstance(a, _SavedMeta) or (needs is not None and not needs(i, requires)):
                continue
            now = _root(a)._ver
            if now != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{a.dtype.name} {list(a.shape)}], which is input {i} of "
                    f"{self.name()}, is at version {now}; expected version {v} instead. Hint: "
                    "clone the tensor before modifying it in place.")
        self._check_saved_output()

    def _check_saved_output(self):
        if self.out is not None and self.out._base._ver != self.out_version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: the output of {self.name()} is at version "
                f"{self.out._base._ver}; expected version {self.out_version} instead.")

    def apply(self, grads, create_graph):
        self._check_saved()
        g = grads[0]
        out = self.out
        if out is not None and create_graph:
            # the saved output re-enters the graph as this node's output (like PyTorch's
            # SavedVariable), so its own derivative is taken into account at higher order
            value = out._value
            out = dispatch._new(out._data)
            if value is not None:
                out._value = value
            out._grad_fn, out._requires_grad = self, True
        if _complex.involves_complex(g, self.inputs):   # PyTorch's conjugate Wirtinger rules
            return _complex.complex_vjp(self.prim, g, out, self.inputs, self.params)
        if self.prim.vjp_needs:
            return self.prim.vjp(g, out, *self.inputs, needs=tuple(e is not None for e in self.next),
                                 **self.params)
        return self.prim.vjp(g, out, *self.inputs, **self.params)

    def release(self):
        if self.prim.saves_inputs or self.prim.saves_output:
            self.released = True
            self.inputs = ()
            self.out = None
        else:
            self.inputs = tuple(_SavedMeta(a) if not isinstance(a, _SavedMeta) else a
                                for a in self.inputs)


class AccumulateGrad:
    """Shown in next_functions for leaves, like PyTorch's."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def torch_named(t, name):
    """Give ``t``'s grad_fn PyTorch's name for the op that made it (``sum`` ends in a reshape
    primitive, torch calls the node SumBackward0).  Returns t."""
    fn = t._grad_fn
    if fn.__class__ is Node:
        fn.torch_name = name
    return t


def record(prim, args, params, out):
    node = Node(prim, args, params, out)
    out._grad_fn = node
    out._requires_grad = True


dispatch._record = record


# --- grad modes -------------------------------------------------------------------------------
class _GradMode:
    """Context manager and decorator, like torch.no_grad / enable_grad / set_grad_enabled."""
    _value = None

    def __init__(self, mode=None):
        if mode is not None:
            self._value = bool(mode)
            self._prev = STATE.grad_enabled
            STATE.grad_enabled = self._value  # set_grad_enabled(False) works as a plain call too

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self._value

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._ctor_args()):
                return fn(*args, **kwargs)
        return wrapper

    def _ctor_args(self):
        return ()

    def clone(self):
        return self.__class__(*self._ctor_args())


class no_grad(_GradMode):
    _value = False

    def __init__(self):
        pass


class enable_grad(_GradMode):
    _value = True

    def __init__(self):
        pass


class set_grad_enabled(_GradMode):
    def __init__(self, mode):
        self._value = bool(mode)
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self._value

    def __enter__(self):
        pass  # __init__ already switched the mode; re-reading it here would lose the old mode

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False

    def _ctor_args(self):
        return (self._value,)

    def __call__(self, fn):
        STATE.grad_enabled = self._prev  # as a decorator, the mode applies only inside fn
        return super().__call__(fn)


class inference_mode(no_grad):
    def __init__(self, mode=True):
        self._value = not mode


def is_grad_enabled():
    return STATE.grad_enabled


# --- the engine -------------------------------------------------------------------------------
def _topo_order(roots):
    """Nodes reachable from roots, each after every node that feeds it a gradient."""
    order, seen = [], set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.next))]
        while stack:
            node, it = stack[-1]
            for e in it:
                if e is None or not isinstance(e[0], (Node, FunctionNode)):
                    continue
                child = e[0]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child.next)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _accumulate(slot, g):
    return g if slot is None else slot + g


def _owned(g, taken):
    """A gradient stored in .grad must own writable memory no other .grad shares."""
    if g._value is not None:  # traced: values are immutable, a fresh tensor object suffices
        t = dispatch._new(g._data)
        t._value = g._value
        return t
    d = g._data
    if getattr(d, "device_type", None) == "cuda":
        # a CUDA gradient: whether another tensor views its buffer is not known, so copy
        # (one device-to-device copy per leaf per backward)
        g = dispatch._new(d.copy() if d.is_c_contiguous() else _contiguous_device(d))
    elif id(d) in taken or d.base is not None or not d.flags.writeable:
        g = dispatch._new(np.array(d, copy=True))
    taken.add(id(g._data))
    return g


def _contiguous_device(d):
    from ..codegen.triton import gpu_eager
    return gpu_eager.contiguous(d)


def _store_grad(t, g, create_graph, taken):
    """Accumulate g into t.grad like PyTorch: the first gradient is stored (an owned copy unless
    a graph is being built), later ones are added."""
    if not create_graph:
        g = g.detach()
    t.grad = (g if create_graph else _owned(g, taken)) if t.grad is None else t.grad + g


def on_device_of(array, like):
    from .device_ops import on_device_of as place
    return place(array, like)


def _finish_leaf(leaf, g, capture, captured, accumulate, inputs, create_graph, taken):
    """A leaf's gradient is complete: its hooks, then .grad, then post-accumulate hooks."""
    if leaf._hooks:
        for hook in leaf._hooks.values():
            r = hook(g)
            if r is not None:
                g = r
    for i in capture.get(id(leaf), ()):
        captured[i] = g
    if accumulate and inputs is None:
        _store_grad(leaf, g, create_graph, taken)
        if leaf._post_accumulate_hooks:
            for hook in leaf._post_accumulate_hooks.values():
                hook(leaf)


# how many post-accumulate-grad hooks were ever registered: while 0, backward skips the scan
# that finds when each leaf's gradient is complete (Tensor.register_post_accumulate_grad_hook)
_POST_HOOKS = [0]


def _leaf_ready_points(order):
    """{i: leaves whose last gradient contribution comes from order[i]} for leaves with
    post-accumulate hooks."""
    last = {}
    for i, node in enumerate(order):
        for e in node.next:
            if e is not None and not isinstance(e[0], (Node, FunctionNode)) and \
                    e[0]._post_accumulate_hooks:
                last[id(e[0])] = (i, e[0])
    points = {}
    for i, leaf in last.values():
        points.setdefault(i, []).append(leaf)
    return points


def run_backward(tensors, grad_tensors, retain_graph=None, create_graph=False, inputs=None,
                 allow_unused=False, accumulate=True):
    from .tensor import Tensor
    if STATE.tracer is not None:   # a traced step that calls backward() itself (capture.py)
        STATE.tracer.saw_backward = True
    if retain_graph is None:
        retain_graph = create_graph
    node_grads = {}   # id(node) -> list of grads per output
    leaf_grads = {}   # id(leaf) -> [leaf, grad]
    roots = []
    for t, g in zip(tensors, grad_tensors):
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if STATE.tracer is not None:  # traced: the seed gradient is a graph node
                from ..ops import FULL
                g = dispatch.bind(FULL, shape=tuple(t.shape), value=1, dtype=t.dtype)
            else:
                g = on_device_of(np.ones(t._data.shape, t._data.dtype), t)
        elif not isinstance(g, Tensor):
            g = on_device_of(np.asarray(g, dtype=t._data.dtype), t)
        elif tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of "
                               f"torch.Size({list(g.shape)}) and output[0] has a shape of "
                               f"torch.Size({list(t.shape)}).")
        if t._grad_fn is None:
            slot = leaf_grads.setdefault(id(t), [t, None])
            slot[1] = _accumulate(slot[1], g)
        else:
            node = t._grad_fn
            slots = node_grads.setdefault(id(node), [None] * node.n_outputs)
            slots[t._out_idx] = _accumulate(slots[t._out_idx], g)
            roots.append(node)

    capture = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            key = (id(t._grad_fn), t._out_idx) if t._grad_fn is not None else id(t)
            capture.setdefault(key, []).append(i)
    captured = [None] * (len(inputs) if inputs is not None else 0)

    prev = STATE.grad_enabled
    STATE.grad_enabled = bool(create_graph)
    taken = set()
    order = _topo_order(roots)
    # leaves with post-accumulate hooks (DistributedDataParallel's) are finished as soon as their
    # last gradient contribution is in, as in PyTorch, so the hook can start communication while
    # the rest of backward runs; other leaves are finished after the walk
    early = _leaf_ready_points(order) if (_POST_HOOKS[0] and accumulate and inputs is None) \
        else None
    try:
        for pos, node in enumerate(order):
            if early is not None and pos - 1 in early:
                for leaf in early[pos - 1]:
                    slot = leaf_grads.pop(id(leaf), None)
                    if slot is not None and slot[1] is not None:
                        _finish_leaf(leaf, slot[1], capture, captured, accumulate, inputs,
                                     create_graph, taken)
            grads = node_grads.pop(id(node), None)
            if grads is None:
                continue
            if node.hooks:
                for idx, hook in list(node.hooks.values()):
                    if grads[idx] is not None:
                        r = hook(grads[idx])
                        if r is not None:
                            grads[idx] = r
            if capture:
                for idx in range(node.n_outputs):
                    for i in capture.get((id(node), idx), ()):
                        captured[i] = grads[idx]
            if node.retained:
                for idx, ref in node.retained:
                    t = ref()
                    if t is not None and grads[idx] is not None:
                        _store_grad(t, grads[idx], create_graph, taken)
            if all(g is None for g in grads):
                continue
            in_grads = node.apply(grads, create_graph)
            if not retain_graph:
                node.release()
            for edge, gi in zip(node.next, in_grads):
                if edge is None or gi is None:
                    continue
                target, idx = edge
                if isinstance(target, (Node, FunctionNode)):
                    slots = node_grads.setdefault(id(target), [None] * target.n_outputs)
                    slots[idx] = _accumulate(slots[idx], gi)
                else:
                    slot = leaf_grads.setdefault(id(target), [target, None])
                    slot[1] = _accumulate(slot[1], gi)
    finally:
        STATE.grad_enabled = prev

    for leaf, g in leaf_grads.values():
        if g is not None:
            _finish_leaf(leaf, g, capture, captured, accumulate, inputs, create_graph, taken)

    if inputs is not None:
        for i, (t, g) in enumerate(zip(inputs, captured)):
            if g is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used "
                                   "in the graph. Set allow_unused=True if this is the desired "
                                   "behavior.")
            if g is not None and not create_graph:
                captured[i] = g.detach()
        return tuple(captured)
    return None


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    from .tensor import Tensor
    if isinstance(tensors, Tensor):
        tensors = (tensors,)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,) * len(tensors) if grad_tensors is None else (grad_tensors,)
    if inputs is not None:
        # backward(inputs=...) accumulates into .grad of just those tensors
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        grads = run_backward(tuple(tensors), tuple(grad_tensors), retain_graph, create_graph,
                             inputs=inputs, allow_unused=True)
        for t, g in zip(inputs, grads):
            if g is not None:
                t.grad = g if t.grad is None else t.grad + g
        return
    run_backward(tuple(tensors), tuple(grad_tensors), retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    from .tensor import Tensor
    single = isinstance(inputs, Tensor)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    allow = bool(allow_unused) or materialize_grads
    res = run_backward(outputs, tuple(grad_outputs), retain_graph, create_graph, inputs=inputs,
                       allow_unused=allow)
    if materialize_grads:
        res = tuple(g if g is not None else t.new_zeros(tuple(t.shape)) for g, t in zip(res, inputs))
    return res


# --- custom Functions -------------------------------------------------------------------------
class FunctionCtx:
    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()
        self._non_differentiable = set()
        self._materialize = True

    def save_for_backward(self, *tensors):
        self._saved = tensors
        self._versions = tuple(None if t is None else _root(t)._ver for t in tensors)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", ())
        if saved is None:
            raise RuntimeError(_FREED)
        for t, v in zip(saved, self._versions):
            if t is not None and _root(t)._ver != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{t.dtype.name} {list(t.shape)}] is at version "
                    f"{_root(t)._ver}; expected version {v} instead.")
        return saved

    @saved_tensors.setter
    def saved_tensors(self, value):
        pass

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        self._materialize = bool(value)


class FunctionNode:
    __slots__ = ("fn", "ctx", "next", "n_outputs", "out_metas", "hooks", "retained", "released",
                 "__weakref__")

    def name(self):
        return self.fn.__name__ + "Backward"

    def __repr__(self):   # torch: <torch.autograd.function.MyFnBackward object at 0x...>
        return f"<ember.autograd.function.{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self):
        return tuple((None, 0) if e is None else e if isinstance(e[0], (Node, FunctionNode))
                     else (AccumulateGrad(e[0]), 0) for e in self.next)

    def apply(self, grads, create_graph):
        if self.released:
            raise RuntimeError(_FREED)
        if self.ctx._materialize:
            grads = [g if g is not None else _zeros_grad(s, d, dev)
                     for g, (s, d, dev) in zip(grads, self.out_metas)]
        res = self.fn.backward(self.ctx, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        return res

    def release(self):
        self.released = True
        self.ctx._saved = None


def _zeros_grad(shape, dtype, device):
    """A zero gradient for an output backward was not given (on the output's device)."""
    if device is None or device.type != "cuda":
        return dispatch._new(np.zeros(shape, dtype))
    from .device_ops import to_device_array
    return dispatch._new(to_device_array(np.zeros(shape, dtype), device.index))


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)


class Function(metaclass=_FunctionMeta):
    """torch.autograd.Function: subclass with static forward(ctx, ...) and backward(ctx, ...)."""

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor
        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        needs = STATE.grad_enabled and any(a._requires_grad for a in tensor_args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if not needs:
            return out
        outs = out if isinstance(out, tuple) else (out,)
        node = FunctionNode()
        node.fn, node.ctx = cls, ctx
        node.next = tuple(
            ((a._grad_fn, a._out_idx) if a._grad_fn is not None else (a, 0) if a._requires_grad
             else None) if isinstance(a, Tensor) else None for a in args)
        node.n_outputs = len(outs)
        node.out_metas = [(o._data.shape, o._data.dtype, o.device) if isinstance(o, Tensor)
                          else ((), None, None) for o in outs]
        node.hooks = node.retained = None
        node.released = False
        wrapped = []
        for i, o in enumerate(outs):
            if isinstance(o, Tensor) and id(o) not in ctx._non_differentiable:
                if any(o is a for a in tensor_args):
                    o = o.view_as(o)  # an input returned as is gets a fresh identity
                o._grad_fn, o._out_idx, o._requires_grad = node, i, True
            wrapped.append(o)
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("subclasses of autograd.Function must implement forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("subclasses of autograd.Function must implement backward")


class _HookHandle:
    _next_id = 0

    def __init__(self, table, key=None):
        if key is None:
            key = _HookHandle._next_id
            _HookHandle._next_id += 1
        self.id = key
        self._table = table  # a dict (weakref cannot refer to one) or a list
        self._key = key

    def remove(self):
        table = self._table() if callable(self._table) else self._table
        if table is None:
            return
        if isinstance(table, list):
            table[:] = [h for h in table if h[0] != self._key]
        else:
            table.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
