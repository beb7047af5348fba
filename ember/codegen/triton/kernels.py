"""Kernel emitters: one Group -> the source of one ``@triton.jit`` kernel (two for scatters) and
the host lines that launch it.

Every kernel works on *tiles* of the group's iteration space through a context that answers "which
element am I": pointwise (``x``: flat index), reduction (``r`` rows x ``c`` reduced columns) and
matmul (``bz`` batch, ``m`` rows, ``n`` columns).  A value computed in the group is a register
tile; any other value is loaded from its buffer at ``Layout.offset_*`` of the current element,
printed from sympy.  Sizes are compile-time constants (programs are specialized per input shapes
and strides; see program.py).
"""
from __future__ import annotations

import math

import sympy

from ... import dtypes as dt
from .indexing import FloorDiv, Layout, flat_offset, ravel, runtime_sym, sym, texpr, unravel
from .lowering import LOW_PRECISION, compute_dtype, lower_elementwise
from .schedule import ELEMENTWISE_FAMILY, numel


class Unsupported(Exception):
    """The group cannot be a Triton kernel; the node runs on the host instead."""


def _const(value, d):
    if d is dt.bool_:
        return "1" if value else "0"
    if d.is_floating_point:
        v = float(value)
        if math.isnan(v):
            return "_NAN"
        if math.isinf(v):
            return "_INF" if v > 0 else "-_INF"
        return repr(v)
    # an integer constant wraps into its dtype like a cast (-1 as uint8 is 255)
    bits = d.itemsize * 8
    v = int(value) % (1 << bits)
    if d.is_signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return str(v)


def _bound_of(d, highest):
    """dtype d's lowest value (highest=False: max's identity) or highest one, as source text."""
    if d.is_floating_point:
        return "_INF" if highest else "-_INF"
    if d is dt.bool_:
        return "1" if highest else "0"
    import numpy as np
    info = np.iinfo(d.np)
    return str(int(info.max if highest else info.min))


# --- iteration contexts ---------------------------------------------------------------------------
class PointwiseCtx:
    def __init__(self, shape):
        self.x = sym("x")
        self.numel = numel(shape)

    def coords(self, shape, klass):
        return unravel(self.x, shape)

    def flat(self, shape, klass):
        return self.x

    def offset(self, layout, klass):
        return layout.offset_flat(self.x)

    def mask(self, klass):
        return "xmask"

    def block(self, klass):
        return "[XBLOCK]"


class ReductionCtx:
    def __init__(self, shape, dims):
        self.shape, self.dims = tuple(shape), tuple(dims)
        self.kept = [d for d in range(len(shape)) if d not in dims]
        self.red = [d for d in range(len(shape)) if d in dims]
        self.rows = numel([shape[d] for d in self.kept])
        self.cols = numel([shape[d] for d in self.red])
        self.r, self.c = sym("r"), sym("c")

    def coords(self, shape, klass):
        if klass == "reduced":  # one value per row, at the row's flat index
            return unravel(self.r, shape)
        out = [sympy.Integer(0)] * len(self.shape)
        for d, e in zip(self.kept, unravel(self.r, [self.shape[d] for d in self.kept])):
            out[d] = e
        for d, e in zip(self.red, unravel(self.c, [self.shape[d] for d in self.red])):
            out[d] = e
        return out

    def flat(self, shape, klass):
        if klass == "reduced":
            return self.r
        return ravel(self.coords(shape, klass), shape)

    def offset(self, layout, klass):
        if klass == "reduced":
            return layout.offset_flat(self.r)
        off = layout.offset + flat_offset(self.r, [(layout.shape[d], layout.strides[d])
                                                   for d in self.kept if layout.shape[d] != 1])
        return off + flat_offset(self.c, [(layout.shape[d], layout.strides[d])
                                          for d in self.red if layout.shape[d] != 1])

    def mask(self, klass):
        return "mask" if klass == "full" else "rmask"

    def block(self, klass):
        return "[XBLOCK, RBLOCK]" if klass == "full" else "[XBLOCK, 1]"


class MatmulCtx:
    def __init__(self, shape):
        self.shape = tuple(shape)
        self.batch = self.shape[:-2]
        self.bz, self.m, self.n = sym("bz"), sym("m"), sym("n")

    def coords(self, shape, klass):
        return unravel(self.bz, self.batch) + [self.m, self.n]

    def flat(self, shape, klass):
        return ravel(self.coords(shape, klass), shape)

    def offset(self, layout, klass):
        nb = len(self.batch)
        off = layout.offset + flat_offset(self.bz, [(layout.shape[d], layout.strides[d])
                                                    for d in range(nb) if layout.shape[d] != 1])
        return off + self.m * layout.strides[nb] + self.n * layout.strides[nb + 1]

    def mask(self, klass):
        return "omask"

    def block(self, klass):
        return "[BM, BN]"


class Scope:
    def __init__(self, indent, parent=None):
        self.indent = indent
        self.parent = parent
        self.vars = {}
        self.lines = []

    def get(self, key):
        s = self
        while s is not None:
            if key in s.vars:
                return s.vars[key]
            s = s.parent
        return None

    def emit(self, line):
        self.lines.append("    " * self.indent + line)


# --- the emitter ----------------------------------------------------------------------------------
class KernelEmitter:
    def __init__(self, group, sched, shapes, names, ptr_of):
        self.g = group
        self.sched = sched
        self.shapes = shapes
        self.names = names          # value -> IR name (t3) for comments
        self.ptr_of = ptr_of        # base value -> kernel pointer parameter name
        self.params = []            # pointer parameter names, in order
        self.base_of_param = {}
        self.counter = 0
        self.members = set(group.values())
        self.klass = {}
        self.looped = False
        self.max_offset = 0

    # names and pointers
    prefix = ""   # segment prefix in horizontally fused kernels (names must not collide)

    def fresh(self, stem="tmp"):
        self.counter += 1
        return f"{self.prefix}{stem}{self.counter}"

    def ptr(self, base):
        name = self.ptr_of(base)
        if name not in self.params:
            self.params.append(name)
            self.base_of_param[name] = base
        return name

    def track_extent(self, layout):
        lo, hi = layout.extent()
        self.max_offset = max(self.max_offset, abs(lo), abs(hi), layout.numel)

    # values
    def value(self, v, klass, scope):
        got = scope.get((v, klass))
        if got is not None:
            return got
        if v in self.sched.consts and v not in self.members and v not in self.sched.layouts:
            full = self.sched.consts[v]
            cd = compute_dtype(v.dtype)
            name = self.fresh()
            scope.emit(f"{name} = tl.full({self.ctx.block(klass)}, "
                       f"{_const(full.params['value'], cd)}, {cd.triton})")
        elif v in self.members:
            if v in self.g.aliases:
                src = self.g.aliases[v]
                src_klass = self.klass.get(src, klass)
                name = self.value(src, src_klass, scope if src_klass == klass else
                                  self.scope_for(src_klass, scope))
            else:
                name = self.node(v.node, klass, scope)
        else:
            name = self.load(v, klass, scope)
        scope.vars[(v, klass)] = name
        return name

    def scope_for(self, klass, scope):
        if klass == "reduced" and self.looped:
            while scope.parent is not None:
                scope = scope.parent
        return scope

    def load(self, v, klass, scope):
        base, layout = self.sched.layouts[v]
        self.track_extent(layout)
        off = self.ctx.offset(layout, klass)
        return self.load_at(v, base, off, self.ctx.mask(klass), scope)

    def full_offset(self, off, mask):
        """The offset as Triton source, widened to the block shape of ``mask`` when it does not
        depend on every index of that block (a scalar or row-only pointer)."""
        names = {s.name for s in sympy.sympify(off).free_symbols}
        if any(n.lstrip("s0123456789_").startswith(("tmp", "idx")) or
               n.startswith(("tmp", "idx")) for n in names):
            return texpr(off)
        need = {"xmask": {"x"}, "mask": {"r", "c"}, "rmask": {"r"}, "omask": {"m", "n"}}
        base_mask = mask.split(" ")[0]
        if need.get(base_mask, set()) <= names:
            return texpr(off)
        zero = {"xmask": "xzero", "mask": "fzero", "rmask": "rzero", "omask": "ozero"}[base_mask]
        return f"{texpr(off)} + {zero}"

    def load_at(self, v, base, off, mask, scope):
        p = self.ptr(base)
        name = self.fresh()
        cd = compute_dtype(v.dtype)
        scope.emit(f"{name} = tl.load({p} + {self.full_offset(off, mask)}, {mask}, "
                   f"other=0).to({cd.triton})")
        return name

    def node(self, n, klass, scope):
        name = n.prim.name
        if n.prim.family == ELEMENTWISE_FAMILY:
            args = [self.value(v, klass, scope) for v in n.inputs]
            expr = lower_elementwise(n, args)
            return self.assign(expr, n.out.dtype, scope, n)
        if name in ("sum", "prod", "amax", "amin", "argmax", "argmin"):
            return self.persistent_reduction(n, scope)
        if name == "matmul":
            return "acc_out"
        return self.positional(n, klass, scope)

    def assign(self, expr, d, scope, n=None):
        out = self.fresh()
        cd = compute_dtype(d)
        if d is dt.bfloat16:
            scope.emit(f"{out} = _round_bf16(({expr}).to(tl.float32))")
        elif d in LOW_PRECISION:
            scope.emit(f"{out} = ({expr}).to({d.triton}).to(tl.float32)")
        else:
            scope.emit(f"{out} = ({expr}).to({cd.triton})")
        return out

    # positional nodes: read their inputs at computed positions
    def positional(self, n, klass, scope):
        name = n.prim.name
        shape = self.shapes[n.out]
        mask = self.ctx.mask(klass)
        p = n.params
        if name == "full":
            return self.assign(f"tl.full({self.ctx.block(klass)}, "
                               f"{_const(p['value'], compute_dtype(n.out.dtype))}, "
                               f"{compute_dtype(n.out.dtype).triton})", n.out.dtype, scope)
        coords = self.ctx.coords(shape, klass)
        if name == "arange":
            pos = coords[0] if coords else sympy.Integer(0)
            start, step = p["start"], p["step"]
            idx = self.fresh()
            scope.emit(f"{idx} = {texpr(pos)} + tl.zeros({self.ctx.block(klass)}, tl.int64)")
            if n.out.dtype.is_floating_point:
                return self.assign(f"{float(start)!r} + {idx}.to(tl.float64) * {float(step)!r}",
                                   n.out.dtype, scope)
            return self.assign(f"{int(start)} + {idx} * {int(step)}", n.out.dtype, scope)
        if name == "reshape":
            src = n.inputs[0]
            base, layout = self.sched.layouts[src]
            self.track_extent(layout)
            flat = self.ctx.flat(shape, klass)
            off = layout.offset_at(unravel(flat, self.shapes[src]))
            return self.load_at(src, base, off, mask, scope)
        if name == "flip":
            src = n.inputs[0]
            base, layout = self.sched.layouts[src]
            self.track_extent(layout)
            c = [shape[d] - 1 - e if d in p["dims"] else e for d, e in enumerate(coords)]
            return self.load_at(src, base, layout.offset_at(c), mask, scope)
        if name == "pad":
            src = n.inputs[0]
            base, layout = self.sched.layouts[src]
            self.track_extent(layout)
            c = [e - a for e, (a, b) in zip(coords, p["pads"])]
            conds = []
            for e, (a, b), size in zip(c, p["pads"], self.shapes[src]):
                if a > 0:
                    conds.append(f"({texpr(e)} >= 0)")
                if b > 0:
                    conds.append(f"({texpr(e)} < {size})")
            inb = self.fresh("inb")
            scope.emit(f"{inb} = {' & '.join(conds) if conds else 'True'}")
            v = self.load_at(src, base, layout.offset_at(c), f"{mask} & {inb}", scope)
            cd = compute_dtype(n.out.dtype)
            return self.assign(f"tl.where({inb}, {v}, {_const(p['value'], cd)})", n.out.dtype,
                               scope)
        if name == "cat":
            dim = p["dim"]
            result, start = None, 0
            pieces = []
            for src in n.inputs:
                size = self.shapes[src][dim]
                if size == 0:
                    continue
                base, layout = self.sched.layouts[src]
                self.track_extent(layout)
                c = list(coords)
                c[dim] = coords[dim] - start
                cond = self.fresh("inb")
                scope.emit(f"{cond} = ({texpr(coords[dim])} >= {start}) & "
                           f"({texpr(coords[dim])} < {start + size})")
                v = self.load_at(src, base, layout.offset_at(c), f"{mask} & {cond}", scope)
                pieces.append((cond, v))
                start += size
            expr = "0"
            for cond, v in reversed(pieces):
                expr = f"tl.where({cond}, {v}, {expr})"
            return self.assign(expr, n.out.dtype, scope)
        if name == "slice_scatter":
            base_v = self.value(n.inputs[0], klass, scope)
            src = n.inputs[1]
            b, layout = self.sched.layouts[src]
            self.track_extent(layout)
            conds, c = [], []
            for e, a, z, s, size in zip(coords, p["starts"], p["stops"], p["steps"], shape):
                if (a, z, s) != (0, size, 1):
                    conds.append(f"({texpr(e)} >= {a}) & ({texpr(e)} < {z})")
                    if s != 1:
                        conds.append(f"((({texpr(e)} - {a}) % {s}) == 0)")
                c.append(FloorDiv(e - a, s) if s != 1 else e - a)
            inside = self.fresh("inb")
            scope.emit(f"{inside} = {' & '.join(conds) if conds else 'True'}")
            v = self.load_at(src, b, layout.offset_at(c), f"{mask} & {inside}", scope)
            return self.assign(f"tl.where({inside}, {v}, {base_v})", n.out.dtype, scope)
        if name == "gather":
            dim = p["dim"]
            x, index = n.inputs
            idx = self.value(index, klass, scope)
            size = self.shapes[x][dim] if self.shapes[x] else 1
            wrapped = self.fresh("idx")
            scope.emit(f"{wrapped} = tl.where({idx} < 0, {idx} + {size}, {idx})")
            base, layout = self.sched.layouts[x]
            self.track_extent(layout)
            c = list(coords)
            if c:
                c[dim] = runtime_sym(wrapped)
            return self.load_at(x, base, layout.offset_at(c), mask, scope)
        if name == "index":
            x, indices = n.inputs[0], n.inputs[1:]
            return self.load_indexed(x, indices, p["positions"], coords, mask, scope)
        raise Unsupported(f"no Triton lowering for {name}")

    def index_coords(self, x, indices, positions, coords, mask, scope):
        """Coordinates into x of an advanced-index result element (and its index values)."""
        xshape = self.shapes[x]
        ishapes = [self.shapes[i] for i in indices]
        bnd = max((len(s) for s in ishapes), default=0)
        bshape = [1] * bnd
        for s in ishapes:
            for k, d in enumerate(s):
                j = bnd - len(s) + k
                bshape[j] = max(bshape[j], d)
        rest = [d for d in range(len(xshape)) if d not in positions]
        adjacent = list(positions) == list(range(positions[0], positions[0] + len(positions)))
        if adjacent:
            before = [d for d in rest if d < positions[0]]
            bpos = len(before)
        else:
            bpos = 0
        bcoords = coords[bpos:bpos + bnd]
        rest_coords = coords[:bpos] + coords[bpos + bnd:]
        xc = [None] * len(xshape)
        for d, e in zip(rest, rest_coords):
            xc[d] = e
        for pos, iv in zip(positions, indices):
            s = self.shapes[iv]
            ic = [sympy.Integer(0) if s[k] == 1 else bcoords[bnd - len(s) + k]
                  for k in range(len(s))]
            base, layout = self.sched.layouts[iv]
            self.track_extent(layout)
            raw = self.load_at(iv, base, layout.offset_at(ic), mask, scope)
            w = self.fresh("idx")
            scope.emit(f"{w} = tl.where({raw} < 0, {raw} + {xshape[pos]}, {raw})")
            xc[pos] = runtime_sym(w)
        return xc

    def load_indexed(self, x, indices, positions, coords, mask, scope):
        xc = self.index_coords(x, indices, positions, coords, mask, scope)
        base, layout = self.sched.layouts[x]
        self.track_extent(layout)
        return self.load_at(x, base, layout.offset_at(xc), mask, scope)

    # --- reductions ----------------------------------------------------------------------------
    def reduce_expr(self, n, v, scope):
        name = n.prim.name
        d = n.inputs[0].dtype
        cd = compute_dtype(d)
        if name == "sum":
            return f"tl.sum(tl.where(mask, {v}, 0), 1, keep_dims=True)"
        if name == "prod":
            return f"tl.reduce(tl.where(mask, {v}, 1), 1, _mul_combine, keep_dims=True)"
        if name in ("amax", "amin"):
            init = _bound_of(cd, highest=name != "amax")
            comb = ("_max_nan" if name == "amax" else "_min_nan") if cd.is_floating_point else \
                ("_max_int" if name == "amax" else "_min_int")
            return f"tl.reduce(tl.where(mask, {v}, {init}), 1, {comb}, keep_dims=True)"
        if name in ("argmax", "argmin"):
            init = _bound_of(cd, highest=name != "argmax")
            fn = "tl.argmax" if name == "argmax" else "tl.argmin"
            best = f"{fn}(tl.where(mask, {v}, {init}), 1, keep_dims=True)"
            if not cd.is_floating_point:
                return best
            # NumPy and PyTorch: a row holding NaN answers the index of its first NaN
            isn = self.fresh("isnan")
            scope.emit(f"{isn} = (({v} != {v}) & mask).to(tl.int32)")
            return (f"tl.where(tl.max({isn}, 1, keep_dims=True) > 0, "
                    f"tl.argmax({isn}, 1, keep_dims=True), {best})")
        raise Unsupported(name)

    def persistent_reduction(self, n, scope):
        if self.looped:
            raise AssertionError("looped reductions are computed before their users")
        v = self.value(n.inputs[0], "full", scope)
        return self.assign(self.reduce_expr(n, v, scope), n.out.dtype, scope)

    def looped_reduction(self, n, outer):
        name = n.prim.name
        d = n.inputs[0].dtype
        cd = compute_dtype(d)
        acc = self.fresh("acc")
        loop = Scope(outer.indent + 1, parent=outer)
        if name in ("argmax", "argmin"):
            init = _bound_of(cd, highest=name != "argmax")
            outer.emit(f"{acc} = tl.full([XBLOCK, 1], {init}, {cd.triton})")
            outer.emit(f"{acc}_i = tl.zeros([XBLOCK, 1], tl.int64)")
            v = self.value(n.inputs[0], "full", loop)
            fn, red = ("tl.argmax", "tl.max") if name == "argmax" else ("tl.argmin", "tl.min")
            cmp = ">" if name == "argmax" else "<"
            loop.emit(f"{acc}_v = tl.where(mask, {v}, {init})")
            loop.emit(f"{acc}_c = {red}({acc}_v, 1, keep_dims=True)")
            loop.emit(f"{acc}_ci = {fn}({acc}_v, 1, keep_dims=True).to(tl.int64) + roff")
            loop.emit(f"{acc}_take = {acc}_c {cmp} {acc}")
            loop.emit(f"{acc} = tl.where({acc}_take, {acc}_c, {acc}).to({cd.triton})")
            loop.emit(f"{acc}_i = tl.where({acc}_take, {acc}_ci, {acc}_i)")
            result = f"{acc}_i"
            if cd.is_floating_point:  # the first NaN wins, as in NumPy and PyTorch
                outer.emit(f"{acc}_n = tl.full([XBLOCK, 1], -1, tl.int64)")
                loop.emit(f"{acc}_isn = (({v} != {v}) & mask).to(tl.int32)")
                loop.emit(f"{acc}_cn = tl.argmax({acc}_isn, 1, keep_dims=True).to(tl.int64) + roff")
                loop.emit(f"{acc}_n = tl.where(({acc}_n < 0) & (tl.max({acc}_isn, 1, "
                          f"keep_dims=True) > 0), {acc}_cn, {acc}_n)")
                result = f"tl.where({acc}_n >= 0, {acc}_n, {acc}_i)"
            self.close_loop(outer, loop)
            return self.assign(result, n.out.dtype, outer)
        init = {"sum": "0", "prod": "1"}.get(name) or (
            _bound_of(cd, highest=name != "amax"))
        outer.emit(f"{acc} = tl.full([XBLOCK, RBLOCK], {init}, {cd.triton})")
        v = self.value(n.inputs[0], "full", loop)
        masked = f"tl.where(mask, {v}, {init})"
        if name == "sum":
            loop.emit(f"{acc} = ({acc} + {masked}).to({cd.triton})")
            final = f"tl.sum({acc}, 1, keep_dims=True)"
        elif name == "prod":
            loop.emit(f"{acc} = ({acc} * {masked}).to({cd.triton})")
            final = f"tl.reduce({acc}, 1, _mul_combine, keep_dims=True)"
        else:
            comb = ("_max_nan" if name == "amax" else "_min_nan") if cd.is_floating_point else \
                ("_max_int" if name == "amax" else "_min_int")
            loop.emit(f"{acc} = {comb}({acc}, {masked}).to({cd.triton})")
            final = f"tl.reduce({acc}, 1, {comb}, keep_dims=True)"
        self.close_loop(outer, loop)
        return self.assign(final, n.out.dtype, outer)

    def close_loop(self, outer, loop):
        outer.emit(f"for roff in range(0, {self.ctx.cols}, RBLOCK):")
        ind = "    " * loop.indent
        outer.lines.append(f"{ind}c = roff + tl.arange(0, RBLOCK)[None, :]")
        outer.lines.append(f"{ind}cmask = c < {self.ctx.cols}")
        outer.lines.append(f"{ind}mask = rmask & cmask")
        outer.lines.extend(loop.lines)

    # --- stores ----------------------------------------------------------------------------------
    def store(self, v, klass, scope, out_ptr_name):
        var = self.value(v, klass, scope)
        layout = Layout.contiguous(self.shapes[v])
        self.track_extent(layout)
        off = self.ctx.offset(layout, klass)
        d = v.dtype
        scope.emit(f"tl.store({out_ptr_name} + {self.full_offset(off, self.ctx.mask(klass))}, "
                   f"{var}.to({d.triton}), {self.ctx.mask(klass)})")

