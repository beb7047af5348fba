"""CPU kernels rendered from the kernel plan (passes/fusion.py) and compiled by Numba.

One plan group (pointwise, or a reduction with its prologue and epilogue) becomes one Python
function of plain loops (``def k3(...)``, readable in ``ember ir show --code numpy``):

* the iteration space is looped in the group's loop order, parallel dims outside (the first one a
  ``numba.prange``: Numba's own threading layer runs it on all cores), reduced dims inside;
* every operand is an array indexed by the loop variables: an operand that is a broadcast of a
  smaller value (``expand`` of a bias, of a per-row statistic) is its unexpanded array read at index
  0 along the broadcast dims, a strided view is read through its strides, a scalar constant is a
  literal;
* a reduction group loops over the reduced dims once per *pass* (``fusion.phases``): a row softmax
  makes 3 passes over its row (max; sum of exp; the output), computing each element's prologue
  again in each pass instead of storing it; per-row values (max, sum, mean, rstd) are locals;
* each node is its primitive's scalar rule rendered by ``scalar_render.kernel_expr``.

Numerics: compiled with ``fastmath`` flags that allow reassociation, contraction and approximate
functions, but not "no NaNs"/"no infs" (NaN propagation of max, isnan, inf arithmetic keep their
meaning): sums are reassociated (vectorized partial sums) and transcendentals vectorized, so results
equal NumPy's within the tolerances of docs/compile.md, not bit for bit.

When: ``KernelSlot.run(args)`` is called by the generated module in front of the group's NumPy
statements.  Until the kernel is compiled it returns False (the NumPy statements run): the first
call records the argument types, and a background thread imports Numba and compiles the kernel
(with ``cache=True`` on a source file in the ember cache directory, so the machine code is kept on
disk).  A later process that finds a kernel's compiled-marker file compiles it (a disk-cache load)
on its first call instead.  ``EMBER_NATIVE=0``, no Numba, a forked child (GNU OpenMP must not be
entered after a fork), or another thread inside a kernel: False, NumPy runs.
"""
from __future__ import annotations

import hashlib
import os
import sys
import threading
from time import perf_counter

import numpy as np

from .. import dtypes as dt
from ..runtime import native as _rt
from ..ops.scalar import rule_expr
from ..passes.fusion import REDUCTIONS, VIEWS, phases
from .scalar_render import KERNEL_PRELUDE, kernel_expr, nb_type

MIN_ELEMENTS = 16384     # smaller groups stay NumPy statements: a kernel costs compile time
PARALLEL_MIN = 65536     # smaller kernels run on one thread (a parallel region costs a few us)
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
_KERNEL_DTYPES = frozenset({dt.float32, dt.float64, dt.int8, dt.int16, dt.int32, dt.int64,
                            dt.uint8, dt.bool_})
_INIT = {"sum": "0", "prod": "1", "amax": "-np.inf", "amin": "np.inf"}


def enabled():
    return os.environ.get("EMBER_NATIVE", "1") not in ("0", "")


def _static(shape):
    return all(isinstance(d, (int, np.integer)) for d in shape)


def _numel(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def const_value(v):
    """The scalar a value is a broadcast of when it comes from a ``full``, else None."""
    while v.node is not None and v.node.prim.name in ("expand", "reshape"):
        v = v.node.inputs[0]
    n = v.node
    if n is not None and n.prim.name == "full" and not isinstance(n.params.get("value"),
                                                                    (list, tuple)):
        return n.params["value"]
    return None


def why_not(g):
    """Why plan group g cannot be a CPU kernel (None: it can)."""
    if g.kind not in ("pointwise", "reduction"):
        return f"a {g.kind} group"
    if not _static(g.shape):
        return "symbolic shape"
    if not g.shape:
        return "a 0-d value"
    if _numel(g.shape) < MIN_ELEMENTS:
        return f"fewer than {MIN_ELEMENTS} elements"
    for n in g.nodes:
        if n.prim.name in VIEWS:
            continue
        if n.prim.name in REDUCTIONS:
            if not n.out.meta.dtype.is_floating_point:
                return f"{n.prim.name} of {n.out.meta.dtype.name}"
        elif n.prim.scalar is None:
            return f"{n.prim.name} has no scalar rule"
        for v in list(n.inputs) + [n.out]:
            if v.meta.dtype not in _KERNEL_DTYPES:
                return f"{v.meta.dtype.name} values"
    return None


def runs_as(g):
    """How the CPU backend runs plan group g (for ``ember ir show --stage fused``)."""
    why = why_not(g)
    if why is None:
        mode = "parallel" if _numel(g.shape) >= PARALLEL_MIN else "serial"
        return f"CPU kernel k{g.id} (Numba, {mode})"
    if g.kind in ("pointwise", "reduction"):
        return f"NumPy statements ({why})"
    return f"NumPy ({g.kind})"


class Kernel:
    """One plan group's kernel: ``source`` (``def kN(...)``), ``args`` (the NumPy expressions the
    module passes, in order) and ``outputs`` [(value, expression it lands in)]."""

    def __init__(self, g, names, target):
        """names: value -> the module's name for it; target(v): the expression of the array an
        output is written into (a planned buffer, an input updated in place, or a fresh array)."""
        self.group = g
        self.name = f"k{g.id}"
        self.members = set(g.nodes)
        self.names = names
        S = tuple(int(d) for d in g.shape)
        self.S = S
        self.parallel = _numel(S) >= PARALLEL_MIN
        self.order = list(g.parallel_dims) + list(g.dims)     # loop order
        self.perm = tuple(self.order)
        self.loopvar = {}
        for d in self.order:
            if S[d] != 1:
                self.loopvar[d] = f"r{d}" if d in g.dims else f"i{d}"
        self.params, self.args, self.arg_of = [], [], {}
        self.phase, self.passes = phases(g) if g.kind == "reduction" else \
            ({n: 0 for n in g.nodes}, [[n for n in g.nodes if n.out in g.outputs]])
        self.row = []          # statements per row (outside the pass loops)
        self.row_memo = {}
        self.outputs = []
        self._render(target)

    # --- operands ---------------------------------------------------------------------------
    def array(self, expr, key):
        p = self.arg_of.get(key)
        if p is None:
            stem = "n" if key[0] == "extent" else "x"
            p = self.arg_of[key] = f"{stem}{len(self.params)}"
            self.params.append(p)
            self.args.append(expr)
        return p

    def operand_array(self, v):
        """(parameter name, dims of S it is broadcast along) for an external operand."""
        src, nd = v, len(self.S)
        if v.node is not None and v.node.prim.name == "expand":
            src = v.node.inputs[0]
        shape = (1,) * (nd - len(src.meta.shape)) + tuple(int(d) for d in src.meta.shape)
        bcast = {d for d in range(nd) if shape[d] == 1 and self.S[d] != 1}
        expr = self.names[src]
        if len(src.meta.shape) != nd:
            expr = f"{expr}.reshape({shape!r})"
        if self.perm != tuple(range(nd)):
            expr = f"{expr}.transpose({self.perm!r})"
        return self.array(expr, expr), bcast

    def index(self, bcast=()):
        idx = [("0" if d in bcast or d not in self.loopvar else self.loopvar[d])
               for d in self.order]
        return ", ".join(idx) if idx else "0"

    def load(self, v, memo, lines, reduced):
        c = const_value(v)
        if c is not None:
            from .scalar_render import _kernel_literal
            return _kernel_literal(c, v.meta.dtype)
        p, bcast = self.operand_array(v)
        if reduced:
            bcast = bcast | set(self.group.dims)
        key = (p, tuple(sorted(bcast)))
        name = memo.get(key)
        if name is None:
            name = memo[key] = f"{p}_{len(memo)}"
            lines.append(f"{name} = {p}[{self.index(bcast)}]")
        return name

    # --- values -----------------------------------------------------------------------------
    def value(self, v, memo, lines, reduced):
        """The local holding v in the current scope (a pass's loop body, or the row scope when
        `reduced`); emits the statements computing it."""
        n = v.node
        if n not in self.members:
            return self.load(v, memo, lines, reduced)
        g = self.group
        if g.kind == "reduction" and (g.klass[n] == "reduced" or n.prim.name in VIEWS):
            if n.prim.name in VIEWS:      # a per-row value broadcast back: the row's local
                return self.value(n.inputs[0], self.row_memo, self.row, True)
            if n.prim.name in REDUCTIONS:
                return f"acc_{self.names[v]}"
            memo, lines, reduced = self.row_memo, self.row, True
        if v in memo:
            return memo[v]
        args = [self.value(x, memo, lines, reduced) for x in n.inputs]
        expr = rule_expr(n.prim, [x.meta.dtype for x in n.inputs], v.meta.dtype, n.params)
        text = kernel_expr(expr, lambda k: args[k])
        name = memo[v] = f"v_{self.names[v]}"
        src = f"  # {n.source}" if n.source else ""
        lines.append(f"{name} = {text}    # {n.prim.name}{src}")
        return name

    # --- the kernel -------------------------------------------------------------------------
    def _render(self, target):
        g = self.group
        out_param = {}
        for v in g.outputs:
            if v.node.prim.name in VIEWS:
                continue          # bound as a view of its stored input after the launch
            expr = target(v)
            nd = len(self.S)
            shape = tuple(int(d) for d in v.meta.shape)
            if shape != (g.reduced_shape if self.reduced(v) else self.S):
                expr = f"{expr}.reshape({(g.reduced_shape if self.reduced(v) else self.S)!r})"
            if self.perm != tuple(range(nd)):
                expr = f"{expr}.transpose({self.perm!r})"
            out_param[v] = self.array(expr, ("out", id(v)))
            self.outputs.append(v)
        body = []
        ind = "    "
        depth = 1
        par = [d for d in g.parallel_dims if d in self.loopvar]
        for k, d in enumerate(par):
            rng = "numba.prange" if k == 0 else "range"
            body.append(ind * depth + f"for {self.loopvar[d]} in {rng}({self.extent(d)}):")
            depth += 1
        red = [d for d in g.dims if d in self.loopvar]
        emitted = 0            # how many row statements are placed already
        for needs in self.passes:
            memo, lines = {}, []
            accs = [n for n in needs if n.prim.name in REDUCTIONS]
            for n in accs:
                x = self.value(n.inputs[0], memo, lines, False)
                acc = f"acc_{self.names[n.out]}"
                if n.prim.name == "sum":
                    lines.append(f"{acc} += {x}")
                elif n.prim.name == "prod":
                    lines.append(f"{acc} *= {x}")
                else:
                    fn = "_maximum" if n.prim.name == "amax" else "_minimum"
                    lines.append(f"{acc} = {fn}({acc}, {x})")
            for n in needs:
                if n.prim.name not in REDUCTIONS and n.prim.name not in VIEWS:
                    x = self.value(n.out, memo, lines, False)
                    lines.append(f"{out_param[n.out]}[{self.index()}] = {x}")
            # per-row values this pass reads are computed before its loop
            body += [ind * depth + h for h in self.row[emitted:]]
            emitted = len(self.row)
            for n in accs:
                t = nb_type(n.out.meta.dtype)
                body.append(ind * depth + f"acc_{self.names[n.out]} = {t}({_INIT[n.prim.name]})")
            d2 = depth
            for d in red:
                body.append(ind * d2 + f"for {self.loopvar[d]} in range({self.extent(d)}):")
                d2 += 1
            body += [ind * d2 + ln for ln in lines]
        # per-row results after the last pass
        for v in self.outputs:
            if self.reduced(v):
                x = self.value(v, self.row_memo, self.row, True)
                self.row.append(f"{out_param[v]}[{self.index(set(g.dims))}] = {x}")
        body += [ind * depth + h for h in self.row[emitted:]]
        lines = [f"def {self.name}({', '.join(self.params)}):"] + body
        self.source = "\n".join(lines) + "\n"

    def extent(self, d):
        """The loop bound of dim d: a parameter, so kernels differing only in sizes share code."""
        return self.array(str(self.S[d]), ("extent", d))

    def reduced(self, v):
        g = self.group
        return g.kind == "reduction" and g.klass.get(v.node) == "reduced"


# --- loading and launching ---------------------------------------------------------------------

# one launch at a time, and no kernel in a forked child (GNU OpenMP aborts a child entering a
# parallel region after its parent used one: DataLoader workers stay on NumPy), and the back-off
# to one thread while multi-threaded launches run slow (a loaded machine): the same state as the
# eager native kernels' (runtime/native.py)
_forked = _rt._forked
_busy = _rt._busy
_numba = [None]


_COMPILED = {}             # (canonical source, types) -> compiled dispatcher or the exception
_queue = []
_queue_cv = threading.Condition()
_worker = [None]


def canonical(source):
    """The kernel without its names (function renamed ``k``, values renamed by first appearance,
    comments dropped): groups doing the same computation share one compiled kernel."""
    import re
    text = "\n".join(ln.split("#", 1)[0].rstrip() for ln in source.splitlines())
    text = re.sub(r"^def \w+\(", "def k(", text, count=1)
    names = {}
    return re.sub(r"\bv_[ta]\d+\b|\bacc_t\d+\b",
                  lambda m: names.setdefault(m.group(0), f"w{len(names)}"), text) + "\n"


def _arg_spec(a):
    if isinstance(a, int):
        return ("int",)
    f = a.flags
    return (a.dtype.str, a.ndim, "C" if f.c_contiguous else "F" if f.f_contiguous else "A",
            not f.writeable)


class KernelSlot:
    """A generated module's handle on one kernel: runs it once compiled (True), else False."""

    def __init__(self, source, name, parallel=True):
        self.source = canonical(source)
        self.name = name
        self.parallel = parallel
        self.launches = 0          # how many times it ran (tests: the plan's groups launched)
        self.fn = None
        self.spec = None
        self.error = None

    @property
    def ok(self):
        """Worth building the arguments: compiled, or not yet asked for (the first call records
        the argument types)."""
        return self.fn is not None or (self.spec is None and self.error is None)

    def run(self, args):
        fn = self.fn
        if fn is None:
            if self.spec is None and self.error is None and enabled() and not _forked[0]:
                self.request(args)
                fn = self.fn
            if fn is None:
                return False
        if _forked[0] or not _busy.acquire(blocking=False):
            return False
        try:
            if self.parallel:
                nb = _numba[0]
                threads = _rt._threads_now(nb.config.NUMBA_NUM_THREADS)
                if nb.get_num_threads() != threads:
                    nb.set_num_threads(threads)
                t0 = perf_counter()
                fn(*args)
                size = max((a.size for a in args if a.__class__ is np.ndarray), default=1)
                _rt._judge((self, None, threads), size, perf_counter() - t0)
            else:
                fn(*args)
            self.launches += 1
            return True
        except TypeError:          # other argument layouts than compiled for: NumPy this time
            return False
        finally:
            _busy.release()

    def request(self, args):
        self.spec = tuple(_arg_spec(a) for a in args)
        if os.environ.get("EMBER_KERNELS_SYNC") == "1" or os.path.exists(self.marker()):
            self.load()            # compiled before on this machine: a disk-cache load, now
        else:
            with _queue_cv:
                _queue.append(self)     # compiled once the call returns (start_compiling)

    def key(self):
        return hashlib.sha256((self.source + repr((self.spec, self.parallel))).encode()
                              ).hexdigest()[:24]

    def marker(self):
        return os.path.join(_cache_dir(), "k_" + self.key() + ".ok")

    def load(self):
        """Compile (or fetch) the kernel for the recorded argument types; errors leave it None."""
        try:
            self.fn = compile_kernel(self.source, self.spec, self.parallel)
            try:
                with open(self.marker(), "w"):
                    pass
            except OSError:
                pass
        except Exception as e:   # noqa: BLE001 -- no Numba, or a kernel it cannot compile
            self.error = f"{type(e).__name__}: {str(e)[:300]}"


def waiting():
    return bool(_queue)


def start_compiling():
    """Start (or wake) the background compiler if kernels wait; the generated module's caller
    calls this after a call, so the first call itself never shares the GIL with Numba's import."""
    with _queue_cv:
        if not _queue:
            return
        if _worker[0] is None:
            import atexit
            atexit.register(_quiesce)
            _worker[0] = threading.Thread(target=_compile_worker, daemon=True,
                                          name="ember-kernel-compiler")
            _worker[0].start()
        _queue_cv.notify()


def _quiesce():
    """At exit: drop the waiting kernels and let a compile in progress finish (a daemon thread
    stopped inside LLVM while the interpreter finalizes can crash the exit)."""
    import time
    with _queue_cv:
        _queue.clear()
    end = time.monotonic() + 30
    while _compiling[0] and time.monotonic() < end:
        time.sleep(0.01)


def _compile_worker():
    while True:
        with _queue_cv:
            while not _queue:
                _queue_cv.wait()
            slot = _queue.pop(0)
            _compiling[0] += 1          # under the lock: wait_compiled never sees a gap
        try:
            slot.load()
        finally:
            _compiling[0] -= 1


def wait_compiled(timeout=120.0):
    """Block until the background compiler's queue is empty (tests, benchmarks)."""
    import time
    end = time.monotonic() + timeout
    start_compiling()
    while time.monotonic() < end:
        with _queue_cv:
            idle = not _queue and not _compiling[0]
        if idle:
            return True
        time.sleep(0.01)
    return False


_compiling = [0]


def _types(spec):
    import numba
    out = []
    for item in spec:
        if item == ("int",):
            out.append(numba.types.int64)
            continue
        dstr, ndim, layout, readonly = item
        out.append(numba.types.Array(numba.from_dtype(np.dtype(dstr)), ndim, layout,
                                     readonly=readonly))
    return tuple(out)


def compile_kernel(source, spec, parallel=True):
    key = (source, spec, parallel)
    hit = _COMPILED.get(key)
    if isinstance(hit, Exception):
        raise hit
    if hit is not None:
        return hit
    try:
        import numba
        _numba[0] = numba
        sig = _types(spec)
        fn = _kernel_function(source)
        opts = dict(parallel=parallel, fastmath=FASTMATH, error_model="numpy", nogil=True)
        try:
            k = numba.njit(sig, cache=True, **opts)(fn)
        except Exception:
            k = numba.njit(sig, **opts)(fn)
        k.disable_compile()
    except Exception as e:
        _COMPILED[key] = e
        raise
    _COMPILED[key] = k
    return k


def _cache_dir():
    from . import cache
    return os.path.join(cache.cache_dir(), "cpu_kernels")


def _kernel_function(source):
    """The kernel's Python function, imported from a file in the cache directory (so Numba's
    cache=True can keep the machine code beside it); exec'd in memory if that fails."""
    import importlib.util
    text = "import math\nimport numba\nimport numpy as np\n" + KERNEL_PRELUDE + "\n\n" + source
    mod = "ember_k_" + hashlib.sha256(text.encode()).hexdigest()[:24]
    m = sys.modules.get(mod)
    if m is None:
        try:
            d = _cache_dir()
            path = os.path.join(d, mod + ".py")
            if not os.path.exists(path):
                os.makedirs(d, exist_ok=True)
                tmp = path + f".{os.getpid()}.tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)
            spec = importlib.util.spec_from_file_location(mod, path)
            m = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(m)
        except (OSError, ImportError, SyntaxError):
            import types
            m = types.ModuleType(mod)
            exec(compile(text, f"<ember kernel {mod}>", "exec"), m.__dict__)
        sys.modules[mod] = m            # Numba's cache finds the function's module by name
    return m.k


def launch(slot, args):
    """slot.run(args) for the generated module."""
    return slot.run(args)
