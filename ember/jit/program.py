"""Program: a traced graph plus its state (parameters, buffers, constants), callable like the
function it was traced from, and saveable without the user's Python code."""
from __future__ import annotations

import inspect

import numpy as np

from ..frontend import dispatch
from ..frontend.dispatch import STATE
from ..frontend.tensor import Tensor
from ..ir.interpret import InputError, Interpreter
from ..ir.printer import print_graph
from ..frontend.trace import TraceError, Tracer, flatten, tracing, unflatten
from ..ir.verify import verify


class Program:
    """``program(*inputs)`` runs the graph with the reference interpreter.

    * ``graph``: the Graph; ``code``: its printed form;
    * ``state``: {name: Tensor} for param/buffer/const inputs (module parameters are shared with
      the module, so later eager training is seen by the program, as with PyTorch's traced modules);
    * in-place writes the traced code made to inputs or state are written back after each call.
    """

    def __init__(self, graph, state, out_spec=None, meta=None):
        self.graph = graph
        self.state = dict(state)
        self.out_spec = out_spec if out_spec is not None else \
            ["tuple", [["tensor", i] for i in range(len(graph.outputs))]]
        self.meta = dict(meta or {})
        self._interp = Interpreter(graph)
        self._user_inputs = [v for v in graph.inputs if v.kind == "input"]

    @property
    def code(self):
        return print_graph(self.graph)

    @property
    def input_names(self):
        return [v.name for v in self._user_inputs]

    def _state_key(self, v):
        return v.target if v.kind in ("param", "buffer") else v.name

    def __call__(self, *args):
        if len(args) != len(self._user_inputs):
            raise TypeError(f"{self.graph.name}() takes {len(self._user_inputs)} tensor inputs "
                            f"({', '.join(self.input_names)}) but {len(args)} were given")
        it = iter(args)
        arrays, holders = [], []
        for v in self.graph.inputs:
            if v.kind == "input":
                a = next(it)
                if isinstance(a, np.ndarray):
                    a = dispatch._new(a)
                if not isinstance(a, Tensor):
                    raise InputError(f"input {v.name!r} must be a Tensor, got {type(a).__name__}")
                if a._value is not None:
                    raise TraceError("calling a Program while tracing is not supported")
            else:
                a = self.state[self._state_key(v)]
            holders.append(a)
            arrays.append(a._data)
        seeds = None
        if self._interp.random_steps:
            from ..frontend.creation import default_generator
            seeds = [default_generator.next_seed() for _ in self._interp.random_steps]
        outs, muts = self._interp.run(arrays, seeds)
        if muts:
            where = {v: h for v, h in zip(self.graph.inputs, holders)}
            for v, new in muts.items():
                t = where[v]
                np.copyto(t._data, new, casting="unsafe")
                t._bump_version()
        wrapped = []
        for o in outs:
            if not o.flags.writeable:
                o = np.array(o)
            wrapped.append(dispatch._new(o))
        return unflatten(self.out_spec, wrapped)

    def save(self, path):
        from .serialize import save_program
        save_program(self, path)

    def __repr__(self):
        return f"<ember Program {self.graph.name}({', '.join(self.input_names)}): " \
               f"{len(self.graph.nodes)} nodes>"


def _input_names(fn, n):
    target = fn.forward if hasattr(fn, "forward") and hasattr(fn, "named_parameters") else fn
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            break
    names = names[:n]
    return names + [f"arg{i}" for i in range(len(names), n)]


def _dynamic_dims(dynamic, names, tensors):
    """dynamic=True/False, {name or index: dims}, or one entry per input -> [set of dims]."""
    n = len(tensors)
    if not dynamic:
        return [()] * n
    if dynamic is True:
        return [tuple(range(t.ndim)) for t in tensors]

    def dims_of(spec, t):
        if spec is None or spec is False:
            return ()
        if spec is True:
            return tuple(range(t.ndim))
        if isinstance(spec, int):
            spec = (spec,)
        return tuple(d % max(t.ndim, 1) for d in spec)
    if isinstance(dynamic, dict):
        out = [()] * n
        for k, spec in dynamic.items():
            i = names.index(k) if isinstance(k, str) else k
            out[i] = dims_of(spec, tensors[i])
        return out
    if len(dynamic) != n:
        raise ValueError(f"dynamic= lists {len(dynamic)} entries for {n} inputs")
    return [dims_of(s, t) for s, t in zip(dynamic, tensors)]


def trace(fn, example_inputs, dynamic=False, name=None, check=True):
    """Trace `fn` (a function or an nn.Module) on example inputs into a Program.

    example_inputs: a Tensor or a tuple of Tensors.  dynamic: False (all sizes fixed), True (every
    size >= 2 of every input is symbolic), or per input ({name or position: dims} or a list)."""
    if isinstance(example_inputs, Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    for i, a in enumerate(example_inputs):
        if not isinstance(a, Tensor):
            raise TypeError(f"example input {i} must be a Tensor, got {type(a).__name__}")
        if a._value is not None:
            raise TraceError("cannot trace with traced tensors as example inputs (nested tracing)")
    is_module = hasattr(fn, "named_parameters") and hasattr(fn, "named_buffers")
    names = _input_names(fn, len(example_inputs))
    dyn = _dynamic_dims(dynamic, names, example_inputs)
    gname = name or (type(fn).__name__ if is_module else getattr(fn, "__name__", "forward"))
    if gname == "<lambda>":
        gname = "forward"
    tracer = Tracer()
    tracer.graph.name = gname
    state = {}
    # inputs first (an input that is also captured elsewhere stays an input)
    proxies, seen = [], set()
    for a in example_inputs:
        if id(a) in seen:  # the same tensor passed twice: the program still gets two inputs
            a = a.detach()
        seen.add(id(a))
        proxies.append(a)
    with tracing(tracer):
        for a, nm, dims in zip(proxies, names, dyn):
            tracer.lift(a, "input", nm, dynamic_dims=dims)
        if is_module:
            for qual, p in fn.named_parameters():
                tracer.lift(p, "param", qual, qual)
                state[qual] = p
            for qual, b in fn.named_buffers():
                if b is not None:
                    tracer.lift(b, "buffer", qual, qual)
                    state[qual] = b
        result = fn(*proxies)
        leaves, out_spec = flatten(result)
        outs = [tracer.output_value(t) for t in leaves]
        graph = tracer.finish(outs)
        for t, saved, value, arr in tracer.lifted.values():
            if value.kind == "const":
                # held by reference, like module parameters: a training step that closes over a
                # model updates the model's own tensors, and the program sees eager changes
                state[value.name] = t
    if check:
        verify(graph)
    keep = {v.target if v.kind in ("param", "buffer") else v.name for v in graph.inputs}
    state = {k: v for k, v in state.items() if k in keep}
    return Program(graph, state, out_spec)
