"""The primitive registry: every primitive is defined once, with all of its rules.

A primitive is shape-strict and dtype-strict: the frontend inserts ``expand`` for broadcasting and
``convert`` for type promotion, and reductions keep their reduced dims.  So no rule below ever has to
think about broadcasting or mixed dtypes.

Rules carried by each primitive:

* ``infer(*metas, **params) -> Meta``: output shape (ints or sympy expressions) and dtype, with a
  clear error on bad input.  Used by eager error reporting, tracing and the IR verifier.
* ``numpy(*arrays, **params) -> ndarray``: the reference semantics.
* ``vjp(g, out, *inputs, **params) -> tuple``: the gradient for each input (None where there is
  none), written only with ember Tensor methods, so it runs on real tensors (eager tape) and on
  traced tensors (the autodiff pass) alike, and differentiates again for higher order.
* ``triton``: a lowering template string (an expression with ``{0}``, ``{1}`` placeholders, a
  reduction combine name, or a kernel template name) consumed by the Triton codegen.
* ``scalar(*xs, **params) -> Expr`` (pointwise primitives): one output element as a scalar
  expression over the operands (``ember.ops.scalar``); the NumPy statements, the CPU kernels and the
  Triton kernels are all rendered from it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

REGISTRY: dict[str, "Primitive"] = {}

# the ``triton`` field of a primitive with no Triton kernel: the host wrapper runs its NumPy rule
HOST = "host"


class FrontendEntry:
    """What ``ember.frontend`` installs here when it is imported (``frontend/dispatch.py``).  The
    layers below the frontend (ops, ir, passes) never import it (docs/design.md), but two things
    they offer run Tensor code: calling a primitive like a function, and evaluating vjp rules on
    graph values (the autodiff pass)."""
    bind = None         # bind(prim, *tensors, **params) -> Tensor
    graph_vjp = None    # graph_vjp(graph) -> the autodiff pass's node builder (passes/autodiff.py)


FRONTEND = FrontendEntry()


class ShapeError(RuntimeError):
    """Raised by infer rules; the message names the op, the shapes and the dtypes involved."""


@dataclass(frozen=True)
class Meta:
    """What is known of a value without its data: shape (ints or sympy expressions) and dtype."""
    shape: tuple
    dtype: Any

    @property
    def ndim(self):
        return len(self.shape)


@dataclass(eq=False)
class Primitive:
    name: str
    family: str
    infer: Callable
    numpy: Callable
    vjp: Callable | None
    triton: str | None
    # a view primitive returns memory shared with its first input (eager) and never copies
    is_view: bool = False
    # no gradient flows through it (comparisons, argmax, random sources)
    differentiable: bool = True
    # inputs whose values the vjp reads; others are not kept alive by the eager tape
    saves_inputs: bool = True
    saves_output: bool = False
    doc: str = ""
    params: tuple = field(default=())
    # for a view primitive: unview(parent, new_view, **params) is the parent's value once the view
    # holds new_view (how an in-place write into a view reaches its base's autograd history)
    unview: Callable | None = None
    # needs_input(i, requires) -> bool: whether the vjp reads input i's values given which inputs
    # require grad (mul reads a only for b's gradient); None: every input of a saving primitive.
    # Backward's in-place version check skips inputs that are not read, like PyTorch's.
    needs_input: Callable | None = None
    # the vjp takes needs=(bool per input): whether that input's gradient is wanted, so it can skip
    # work nobody reads (conv's input gradient for a network's first layer)
    vjp_needs: bool = False
    # pointwise primitives: the scalar rule every backend renders (ember/ops/scalar.py)
    scalar: Callable | None = None

    def __repr__(self):
        return f"<primitive {self.name}>"

    def __call__(self, *args, **params):  # so a primitive can be called like a function
        return FRONTEND.bind(self, *args, **params)


def define(name, *, family, infer, numpy, vjp=None, triton=None, is_view=False,
           differentiable=True, saves_inputs=True, saves_output=False, doc="", params=(),
           unview=None, scalar=None):
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is defined twice")
    if differentiable and vjp is None:
        raise ValueError(f"primitive {name!r} is differentiable but has no vjp rule")
    prim = Primitive(name, family, infer, numpy, vjp, triton, is_view, differentiable,
                     saves_inputs, saves_output, doc, tuple(params), unview=unview, scalar=scalar)
    REGISTRY[name] = prim
    return prim


def fmt_meta(m) -> str:
    """'f32[3,4]' for error messages; shapes may be symbolic."""
    dt = getattr(m.dtype, "short", m.dtype)
    return f"{dt}[{','.join(str(d) for d in m.shape)}]"


def fail(op, msg, *metas):
    described = ", ".join(fmt_meta(m) for m in metas)
    raise ShapeError(f"{op}: {msg}" + (f" (got {described})" if metas else ""))
