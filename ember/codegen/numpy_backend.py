"""The NumPy backend: a planned graph becomes a Python module of NumPy calls.

Every materialized value is written with ``out=`` into the buffer the memory plan gave it (buffers
are allocated once per program and size, then reused by every call), parameters and optimizer
state the plan marked in-place are written straight into their arrays, and the remaining writes
into inputs are ``np.copyto`` at the end.  Static constants (``full``) are built once when the
module loads; a scalar constant feeding a float ufunc becomes a Python literal (NumPy treats it as
a weak scalar, so the result keeps the array's dtype).  Primitives without a direct NumPy spelling
call the registry's NumPy rule, so the module computes exactly what the interpreter computes.

The module text is self-contained (no graph needed to run it): it is what
``ember ir show --code numpy`` prints and what the on-disk cache stores.

    N_SEEDS                number of random nodes (a fresh seed each per call, in order)
    SYMBOLS                [(name, input position, dim)]: where each size symbol is read
    make_buffers(**sizes)  the planned buffers for these sizes
    call(args, seeds, B)   args: one array per graph input; returns the tuple of outputs
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..shapes import is_sym   # sympy itself only for symbolic programs
from ..ops.registry import REGISTRY
from ..ops.scalar import rule_expr
from .scalar_render import NUMPY_PRELUDE, numpy_expr

_LOW = (np.dtype(np.float16), dt.bfloat16.np)

_REDUCE = {"sum": "np.add.reduce", "amax": "np.maximum.reduce", "amin": "np.minimum.reduce",
           "prod": "np.multiply.reduce"}


def _takes_out(rule):
    """The registry rule accepts out= (an array of the result's shape and dtype to write into)."""
    import inspect
    try:
        return "out" in inspect.signature(rule).parameters
    except (TypeError, ValueError):
        return False


def _dt_name(d):
    return f"DT_{d.short}"


class _Emitter:
    def __init__(self, graph, plan):
        self.g = graph
        self.plan = plan
        self.names = {}
        self.lines = []          # body of call()
        self.head = []           # module-level constants
        self.const_static = {}   # value -> module constant name (read-only arrays)
        self.scalar = {}         # value -> python number (scalar constant seen through views)
        self.n_seeds = 0
        self.used_ops = set()
        self.bcast_src = {}      # expand output -> a value NumPy broadcasts to it unchanged
        self.users = {}          # value -> nodes reading it
        for n in graph.nodes:
            for x in n.inputs:
                self.users.setdefault(x, []).append(n)
        self.results = set(graph.outputs) | set(graph.mutations.values())
        self.swapped = set()     # matmul values computed transposed (read only through a swap)

    # --- expressions ----------------------------------------------------------------------------
    def lit(self, p):
        if isinstance(p, dt.dtype):
            return _dt_name(p)
        if isinstance(p, bool) or p is None:
            return repr(p)
        if isinstance(p, (int, np.integer)):
            return str(int(p))
        if isinstance(p, float):
            if math.isnan(p):
                return "NAN"
            if math.isinf(p):
                return "INF" if p > 0 else "(-INF)"
            return repr(p)
        if is_sym(p):
            if p.is_Integer:
                return str(int(p))
            from sympy.printing.pycode import pycode
            return "int(" + pycode(p, fully_qualified_modules=True) + ")"
        if isinstance(p, (tuple, list)):
            inner = ", ".join(self.lit(x) for x in p)
            return f"({inner},)" if len(p) == 1 else f"({inner})"
        if isinstance(p, str):
            return repr(p)
        raise TypeError(f"numpy codegen: cannot write a param of type {type(p).__name__}")

    def static(self, shape):
        return all(isinstance(d, (int, np.integer)) for d in shape)

    def out_kw(self, v):
        b = self.plan.assign.get(v) if self.plan is not None else None
        t = self.plan.inplace.get(v) if self.plan is not None else None
        if t is not None:
            return f", out={self.names[t]}"
        if b is not None:
            return f", out=B[{b}]"
        return ""

    def operand(self, v, allow_scalar):
        if allow_scalar and v in self.scalar:
            return self.lit(self.scalar[v])
        if allow_scalar:
            # an expand feeding a ufunc whose result shape is fixed elsewhere: NumPy broadcasts the
            # unexpanded source itself (saves np.broadcast_to calls)
            src = self.bcast_src.get(v)
            if src is not None:
                return self.names[src]
        return self.names[v]

    # --- nodes ----------------------------------------------------------------------------------
    def emit(self, n, i):
        v = n.out
        name = self.names[v] = f"t{i}"
        prim = n.prim.name
        ins = n.inputs
        p = n.params
        dtype = v.meta.dtype
        L = self.lines.append
        # constants: module level when static, with the scalar remembered for literals
        if prim == "full":
            val = p["value"]
            if isinstance(val, (bool, int, float)) and dtype.is_floating_point:
                self.scalar[v] = float(val)
            if self.static(v.meta.shape):
                self.head.append(f"{name} = np.full({self.lit(tuple(v.meta.shape))}, "
                                 f"{self.lit(val)}, dtype={_dt_name(dtype)}.np)")
                self.head.append(f"{name}.flags.writeable = False")
                self.names[v] = name
                self.const_static[v] = name
            else:
                L(f"{name} = np.full({self.lit(tuple(v.meta.shape))}, {self.lit(val)}, "
                  f"dtype={_dt_name(dtype)}.np)")
            return
        if prim in ("reshape", "expand") and ins[0] in self.scalar:
            self.scalar[v] = self.scalar[ins[0]]
        if prim in ("reshape", "expand", "permute", "slice") and ins[0] in self.const_static \
                and self.static(v.meta.shape):
            src = self.names[ins[0]]
            self.head.append(f"{name} = {self._view_expr(n, src)}")
            self.const_static[v] = name
            return
        if prim == "expand":
            src = ins[0]
            sn = src.node
            if sn is not None and sn.prim.name == "reshape" and len(sn.inputs[0].meta.shape) == 0:
                src = sn.inputs[0]          # a 0-d value reshaped to [1,1]: broadcasts as is
            if len(src.meta.shape) <= len(v.meta.shape) and src not in self.const_static or \
                    src in self.names:
                self.bcast_src[v] = src
        if prim == "permute" and ins[0] in self.swapped:
            L(f"{name} = {self.names[ins[0]]}")     # the matmul already wrote this layout
            return
        if prim in ("reshape", "expand", "permute", "slice"):
            L(f"{name} = {self._view_expr(n, self.names[ins[0]])}")
            return
        out = self.out_kw(v)
        if n.prim.family == "elementwise" and n.prim.scalar is not None:
            self.pointwise(n, name, out)
            return
        if prim in _REDUCE and dtype.np not in _LOW and all(x.meta.dtype is dtype for x in ins) \
                and (dtype.is_floating_point or prim in ("amax", "amin")):
            dims = self.lit(tuple(p["dims"]))
            L(f"{name} = {_REDUCE[prim]}({self.names[ins[0]]}, axis={dims}, keepdims=True{out})")
            return
        if prim == "matmul" and dtype.np in (np.dtype(np.float32), np.dtype(np.float64)) and \
                self._read_only_swapped(v):
            # (a @ b) read only as its transpose (a weight gradient: x^T @ dy, then .t()):
            # compute b^T @ a^T instead, so its readers (the gradient output and the optimizer's
            # update ops) get a C-contiguous array.  Elementwise ufuncs over a transposed view run
            # ~4-10x slower than over a contiguous one; this halved the compiled MLP step.
            self.swapped.add(v)
            a, b = (f"{self.names[x]}.swapaxes(-1, -2)" for x in ins)
            out = self.out_kw(v)
            if out.startswith(", out=B["):
                shape = list(v.meta.shape)
                shape[-2:] = shape[-1], shape[-2]
                out = f"{out}.reshape({self.lit(tuple(shape))})"   # same storage, swapped shape
            L(f"{name} = np.matmul({b}, {a}{out})")
            return
        if prim == "matmul" and dtype.np in (np.dtype(np.float32), np.dtype(np.float64)):
            L(f"{name} = np.matmul({self.names[ins[0]]}, {self.names[ins[1]]}{out})")
            return
        if prim in ("gather", "scatter_add") and self._index_fast(n):
            # cross-entropy's pick and its gradient: the registry's general rules (bounds checks,
            # cropping, np.ogrid, np.add.at) cost ~25 us each on a 64x10 batch; these ~3 us
            x, idx = (self.names[u] for u in ins[:2])
            dim = p["dim"] % len(ins[0].meta.shape)
            # x[open grid of the other dims, with idx at dim]: np.take_along_axis's indexing with
            # the grid built once, at load (take_along_axis rebuilds it every call)
            grid = f"IX{i}"
            shape = tuple(ins[1].meta.shape)
            self.head.append(f"{grid} = np.ogrid[{', '.join(f'0:{d}' for d in shape)}]")
            key = idx if len(shape) == 1 else \
                ", ".join(idx if d == dim else f"{grid}[{d}]" for d in range(len(shape)))
            if prim == "gather":    # index covers x in every other dim: no crop
                L(f"{name} = {x}[{key}]")
                return
            # index is 1 wide along dim, so no two of its positions coincide: a fancy-index add
            # equals np.add.at
            b = self.plan.assign.get(v) if self.plan is not None else None
            if b is not None:
                L(f"{name} = B[{b}]; np.copyto({name}, {x})")
            else:
                L(f"{name} = {x}.copy()")
            L(f"{name}[{key}] += {self.names[ins[2]]}")
            return
        # everything else: the registry's NumPy rule (a fresh result)
        self.used_ops.add(prim)
        kw = dict(p)
        if "seed" in n.prim.params:
            args = ", ".join(f"{k}={self.lit(x)}" for k, x in kw.items() if k != "seed")
            args = (args + ", " if args else "") + f"seed=seeds[{self.n_seeds}]"
            self.n_seeds += 1
        else:
            args = ", ".join(f"{k}={self.lit(x)}" for k, x in kw.items())
        pos = ", ".join(self.names[x] for x in ins)
        sep = ", " if pos and args else ""
        b = self.out_kw(v)
        if b and _takes_out(n.prim.numpy):
            # the rule writes into the planned buffer (or the input it updates): no fresh result
            L(f"{name} = OP_{prim}({pos}{sep}{args}{b})")
            return
        L(f"{name} = _asarray(OP_{prim}({pos}{sep}{args}))")
        if b and self.plan is not None and v in self.plan.inplace:
            # planned to live in an input's memory: copy it there now
            t = self.names[self.plan.inplace[v]]
            L(f"np.copyto({t}, {name}, casting='unsafe'); {name} = {t}")

    def pointwise(self, n, name, out):
        """The node's scalar rule rendered as one vectorized NumPy statement (out= at its root)."""
        ins, v = n.inputs, n.out
        expr = rule_expr(n.prim, [x.meta.dtype for x in ins], v.meta.dtype, n.params)
        L = self.lines.append
        if expr.op == "arg":        # the identity for this dtype (floor of an int): a copy
            src = self.names[ins[expr.value]]
            L(f"{name} = {src}.copy()" if not out else f"np.copyto({out[6:]}, {src}); "
              f"{name} = {out[6:]}")
            return
        # a scalar operand may be a literal, and an expanded one its unexpanded source (NumPy
        # broadcasts it), when the result's shape comes from elsewhere
        # and NumPy keeps the result's dtype only if an array operand has it (NEP 50: in
        # np.where(cond, 0.0, nan) the bool condition does not make the literals float32)
        full_shape = [x for x in ins if x not in self.scalar and x not in self.bcast_src and
                      (x.meta.dtype is v.meta.dtype or v.meta.dtype is dt.bool_)]
        allow = out != "" or bool(full_shape)
        text, used = numpy_expr(expr, lambda k: self.operand(ins[k], allow), out)
        if used or not out:
            L(f"{name} = {text}")
        elif self.plan is not None and v in self.plan.inplace:
            t = self.names[self.plan.inplace[v]]
            L(f"np.copyto({t}, {text}, casting='unsafe'); {name} = {t}")
        else:
            L(f"{name} = np.copyto({out[6:]}, {text}, casting='unsafe') or {out[6:]}")

    def _index_fast(self, n):
        """gather/scatter_add over static shapes the plain NumPy spelling covers exactly: gather
        with an index as large as x in every other dim; scatter_add with an index 1 wide along
        dim (unique positions), not written into a graph input."""
        x, idx = n.inputs[0].meta.shape, n.inputs[1].meta.shape
        if not x or len(idx) != len(x) or not self.static(x) or not self.static(idx):
            return False
        dim = n.params["dim"] % len(x)
        if n.prim.name == "gather":
            return all(a == b for d, (a, b) in enumerate(zip(x, idx)) if d != dim)
        return idx[dim] == 1 and (self.plan is None or n.out not in self.plan.inplace)

    def _read_only_swapped(self, v):
        """Every reader of `v` is a permute swapping its last two dims, and v itself is neither a
        result nor written into an input (its storage is only ever seen through the swap)."""
        users = self.users.get(v, ())
        nd = len(v.meta.shape)
        swap = tuple(range(nd - 2)) + (nd - 1, nd - 2)
        return nd >= 2 and bool(users) and v not in self.results and (
            self.plan is None or v not in self.plan.inplace) and \
            all(u.prim.name == "permute" and tuple(u.params["dims"]) == swap for u in users)

    def _view_expr(self, n, src):
        prim, p = n.prim.name, n.params
        if prim == "reshape":
            return f"{src}.reshape({self.lit(tuple(p['shape']))})"
        if prim == "permute":
            return f"{src}.transpose({self.lit(tuple(p['dims']))})"
        if prim == "expand":
            return f"np.broadcast_to({src}, {self.lit(tuple(p['shape']))})"
        idx = ", ".join(f"{self.lit(a)}:{self.lit(b)}:{self.lit(c)}"
                        for a, b, c in zip(p["starts"], p["stops"], p["steps"]))
        return f"{src}[{idx}{',' if len(p['starts']) == 1 else ''}]"


def generate(graph, plan=None, name=None):
    """The module source for `graph` (planned with `plan`, default ``graph.memory_plan``)."""
    own_plan = getattr(graph, "memory_plan", None)
    plan = plan if plan is not None else own_plan
    # the kernel plan's groups that become CPU kernels (ember/codegen/cpu_kernels.py); only with
    # the graph's own memory plan (it was made for the plan's node order)
    fusion = getattr(graph, "fusion", None)
    groups = []
    if fusion is not None and plan is not None and plan is own_plan:
        from . import cpu_kernels
        groups = [g for g in fusion.kernels if cpu_kernels.why_not(g) is None]
    em = _Emitter(graph, plan)
    g = graph
    arg_names = []
    for k, v in enumerate(g.inputs):
        em.names[v] = f"a{k}"
        arg_names.append(f"a{k}")
    symbols = []
    seen = set()
    for k, v in enumerate(g.inputs):
        for d, dim in enumerate(v.meta.shape):
            if is_sym(dim) and dim.is_Symbol and dim.name not in seen:
                seen.add(dim.name)
                symbols.append((dim.name, k, d))
    kernels = _emit_nodes(em, g, plan, groups)
    em.lines = _drop_unused_views(em.lines, g, em)
    body = []
    if arg_names:
        body.append(f"{', '.join(arg_names)}{',' if len(arg_names) == 1 else ''} = args")
    for s, k, d in symbols:
        body.append(f"{s} = a{k}.shape[{d}]")
    body += em.lines
    for t, v in g.mutations.items():
        if plan is not None and plan.inplace.get(v) is t:
            continue
        body.append(f"np.copyto({em.names[t]}, {em.names[v]}, casting='unsafe')")
    outs = [em.names[v] for v in g.outputs]
    body.append(f"return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    sym_args = ", ".join(s for s, _, _ in symbols)
    bufs = []
    if plan is not None:
        for b in plan.buffers:
            bufs.append(f"np.empty({em.lit(tuple(b.shape))}, dtype={_dt_name(b.dtype)}.np)")
    ops = sorted(em.used_ops)
    dtypes_used = sorted({d.short for d in dt.ALL})
    src = [f'"""Generated by ember.codegen.numpy_backend for {g.name!r}: {len(g.nodes)} nodes, '
           f'{len(bufs)} planned buffers."""',
           "import numpy as np",
           "from ember import dtypes as _dt",
           "from ember.ops.registry import REGISTRY as _R",
           "_asarray = np.asarray",
           NUMPY_PRELUDE,
           "NAN, INF = float('nan'), float('inf')"]
    for s in dtypes_used:
        src.append(f"DT_{s} = _dt.BY_SHORT[{s!r}]")
    for op in ops:
        src.append(f"OP_{op} = _R[{op!r}].numpy")
    src.append(f"N_SEEDS = {em.n_seeds}")
    src.append(f"KERNELS = {tuple(k.name for k in kernels)!r}")
    src.append(f"SYMBOLS = {symbols!r}")
    src += em.head
    if kernels:
        src.append("from ember.codegen.cpu_kernels import KernelSlot as _Slot")
    for k in kernels:
        src += _kernel_block(k)
    src.append("")
    src.append(f"def make_buffers({sym_args}):")
    src.append(f"    return [{', '.join(bufs)}]")
    src.append("")
    src.append("def call(args, seeds, B):")
    src += ["    " + line for line in body]
    return "\n".join(src) + "\n"


def _emit_nodes(em, g, plan, groups):
    """Emit every node; a plan group that is a CPU kernel becomes ``if K.ok and K.run(args):
    <bind its outputs> else: <its NumPy statements>``.  Returns the groups' cpu_kernels.Kernel."""
    from . import cpu_kernels
    if not groups:
        for i, n in enumerate(g.nodes):
            em.emit(n, i)
        return []
    first = {grp.nodes[0]: grp for grp in groups}
    last = {grp.nodes[-1]: grp for grp in groups}
    kernels = []
    start = 0
    for i, n in enumerate(g.nodes):
        if n in first:
            start = len(em.lines)
        em.emit(n, i)
        grp = last.get(n)
        if grp is None:
            continue
        numpy_lines = em.lines[start:]
        del em.lines[start:]
        fresh = {}

        def target(v, grp=grp, fresh=fresh):
            t = plan.inplace.get(v)
            if t is not None:
                return em.names[t]
            b = plan.assign.get(v)
            if b is not None:
                return f"B[{b}]"
            name = fresh[v] = f"F{grp.id}_{len(fresh)}"
            return name
        kern = cpu_kernels.Kernel(grp, em.names, target)
        kernels.append(kern)
        K = kern.name.upper()
        args = []
        for a in kern.args:
            for v, name in fresh.items():
                if a == name or a.startswith(name + "."):   # allocated where first passed
                    a = a.replace(name, f"({name} := np.empty({em.lit(tuple(v.meta.shape))}, "
                                        f"dtype={_dt_name(v.meta.dtype)}.np))", 1)
            args.append(a)
        L = em.lines.append
        L(f"# plan group {grp.id}: {len(grp.nodes)} nodes "
          f"({' '.join(m.prim.name for m in grp.nodes)}) in one kernel once compiled")
        L(f"if {K}.ok and {K}.run(({', '.join(args)}{',' if len(args) == 1 else ''})):")
        binds = [(em.names[v], fresh.get(v) or target(v)) for v in kern.outputs]
        for v in grp.outputs:
            if v.node.prim.name == "expand":
                binds.append((em.names[v], f"np.broadcast_to({em.names[v.node.inputs[0]]}, "
                                           f"{em.lit(tuple(v.meta.shape))})"))
        for a, b in binds:
            L(f"    {a} = {b}")
        if not binds:
            L("    pass")
        L("else:")
        em.lines += ["    " + ln for ln in numpy_lines]
    return kernels


def _drop_unused_views(lines, g, em):
    """View lines (`tN = x.reshape(...)`, `np.broadcast_to`) whose name nothing reads any more."""
    import re
    word = re.compile(r"\bt\d+\b")
    keep_names = {em.names[v] for v in g.outputs} | {em.names[v] for v in g.mutations.values()}
    changed = True
    while changed:
        changed = False
        used = {}
        for ln in lines:
            lhs, sep, rhs = ln.partition(" = ")
            for w in word.findall(rhs if sep else ln):
                used[w] = used.get(w, 0) + 1
        out = []
        for ln in lines:
            lhs, _, rhs = ln.partition(" = ")
            is_view = rhs.startswith("np.broadcast_to(") or ".reshape(" in rhs and \
                rhs.count("(") == 2 and not rhs.startswith(("np.", "_asarray")) or \
                rhs.endswith("]") and not rhs.startswith(("np.", "_asarray"))
            if is_view and lhs not in used and lhs not in keep_names and word.fullmatch(lhs):
                changed = True
                continue
            out.append(ln)
        lines = out
    return lines


class CompiledModule:
    """A loaded generated module: ``run(arrays, seeds)`` with buffers cached per size."""

    def __init__(self, source, filename="<ember-generated>"):
        self.source = source
        ns = {"__name__": "ember_generated"}
        exec(compile(source, filename, "exec"), ns)
        self.ns = ns
        self.call = ns["call"]
        self.n_seeds = ns["N_SEEDS"]
        self.symbols = ns["SYMBOLS"]
        self._make = ns["make_buffers"]
        self._bufs = {}
        if not self.symbols:
            self._static = self._make()
        # the CPU kernel slots (codegen/cpu_kernels.py), in plan order
        self.kernels = [ns[k.upper()] for k in ns.get("KERNELS", ())]
        self.calls = 0

    @property
    def native_loaded(self):
        """Names of the kernels now running compiled."""
        return [k.name for k in self.kernels if k.fn is not None]

    @property
    def native_error(self):
        """Why some kernel stays on NumPy (no numba, a kernel Numba cannot compile), or None."""
        errs = [f"kernel {k.name}: {k.error}" for k in self.kernels if k.error]
        return "; ".join(errs) or None

    def buffers(self, arrays):
        if not self.symbols:
            return self._static
        key = tuple(arrays[k].shape[d] for _, k, d in self.symbols)
        b = self._bufs.get(key)
        if b is None:
            if len(self._bufs) >= 8:   # keep a few sizes, not every size ever seen
                self._bufs.pop(next(iter(self._bufs)))
            b = self._bufs[key] = self._make(*key)
        return b

    def run(self, arrays, seeds=()):
        self.calls += 1
        with np.errstate(all="ignore"):
            out = self.call(arrays, seeds, self.buffers(arrays))
        if self.kernels:
            from . import cpu_kernels
            if cpu_kernels.waiting():
                cpu_kernels.start_compiling()
        return out

    def planned_bytes(self):
        bufs = self._static if not self.symbols else [x for bs in self._bufs.values() for x in bs]
        return sum(b.nbytes for b in bufs)


def _kernel_block(k):
    """The module lines defining kernel k's slot, with its source as a readable string."""
    g = k.group
    quote = '"' * 3
    text = k.source.replace(quote, "'" * 3)
    return ["", f"# kernel {k.name}: plan group {g.id}, {g.kind} {list(g.shape)}, {g.loops()}; "
            f"compiled by Numba in the background, the NumPy statements run until then",
            f"{k.name.upper()} = _Slot({quote}\\\n{text}{quote}, {k.name!r}, {k.parallel!r})"]
