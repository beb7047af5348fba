"""Building a variant of ``ember.compile`` (compiler/compile.py): trace the function with the
compile tracer (captured state, ``.grad``, optimizer state, scheduler steps), record where each
graph input comes from, run the pass pipeline and build the backend module (NumPy, Triton or the
interpreter), plus the backward program when the caller differentiates the outputs."""
from __future__ import annotations

import logging
import time

import numpy as np

from .._logging import get_logger
from .compile_breaks import _BROKE, _RETRY, CompileError
from .compile_device import variant_device
from .compile_guards import _Expr, _is_module
from .compile_hparams import StepRecorder
from ..frontend.dispatch import STATE
from ..frontend.tensor import Tensor


class Builder:
    """CompiledFunction's tracing and building side."""

    def _trace(self, v, flat, sigs, dyn, args, kwargs):
        """Trace, run the passes, generate code.  Returns _BROKE when the variant is ready to run
        (or marked eager)."""
        from ..frontend.trace import TraceError, flatten, tracing
        tracer = _make_tracer()
        tracer.graph.name = _graph_name(self.fn)
        names = self._arg_names(len(flat))
        draws = _DrawRecorder()
        recorder = StepRecorder(v.hp_keys,
                                      [o for o in self._objs if hasattr(o, "param_groups")])
        try:
            with tracing(tracer), recorder, draws:
                proxies, pos_of = [], {}
                for i, a in enumerate(flat):
                    if isinstance(a, Tensor):
                        if id(a) in pos_of or a._value is not None:
                            a = a.detach()
                        pos_of[id(a)] = i
                        tracer.lift(a, "input", names[i], dynamic_dims=tuple(dyn.get(i, ())))
                        tracer.arg_pos[id(a)] = i
                    proxies.append(a)
                for i, a in enumerate(flat):   # tensors inside lists
                    if isinstance(a, (tuple, list)):
                        for j, x in enumerate(a):
                            if isinstance(x, Tensor):
                                tracer.lift(x, "input", f"{names[i]}_{j}")
                                tracer.arg_pos[id(x)] = (i, j)
                # state the function reaches is captured before any Python code runs, so that
                # zero_grad() & co. act on traced tensors (and are undone after tracing)
                for obj in self._objs:
                    prefix = "" if obj is self.fn else type(obj).__name__.lower() + "."
                    for qual, t, kind in obj._capture_tensors():
                        if kind == "const":
                            tracer.lift(t)
                        else:
                            tracer.lift(t, kind, prefix + qual, prefix + qual)
                pa = proxies[:len(args)]
                pk = {k: proxies[len(args) + i] for i, k in enumerate(sorted(kwargs))}
                result = self.fn(*pa, **pk)
                leaves, out_spec = flatten(result)
                outs = [tracer.output_value(t) for t in leaves]
                grad_plan = tracer.collect_grads()
                outs += [val for _, kind, val in grad_plan if kind == "new"]
                escapes = self._escaped_state(tracer)
                outs += [tracer.output_value(t) for t in escapes]
                graph = tracer.finish(outs)
                self._record_sources(v, tracer, graph, recorder)
                v.device = variant_device([e[3] for e in tracer.lifted.values()])
        except Exception as e:
            draws.rewind()     # the eager or segmented rerun draws the same numbers again
            self._drop_escaped(tracer)
            recorder.undo_scheduler_steps()
            if not isinstance(e, TraceError):
                raise
            if recorder.hp_values and not self.fullgraph:
                return _RETRY
            return self._graph_break(v, sigs, e)
        finally:
            recorder.restore()
        draws.rewind()         # each run of the program draws its seeds (see _seed_plan)
        v._arg_tensors = {i: a for i, a in enumerate(flat) if isinstance(a, Tensor)}
        v.arg_sigs = self._symbolic_sigs(sigs, graph, v)
        v.out_spec = out_spec
        v.n_user_outputs = len(leaves)
        v.grad_targets = [(t, kind, None if kind != "keep" else val) for t, kind, val in grad_plan]
        v.replay = recorder.calls
        if recorder.hp_values:
            v.events = recorder.events
            v.hp_first = recorder.hp_values
        v.escapes = escapes
        v.bump = [t for t, _, value, _ in tracer.lifted.values() if value in graph.mutations]
        v.requires_grad_out = [bool(t._requires_grad) for t in leaves]
        v.backward_inside = tracer.saw_backward
        if any(v.requires_grad_out) and v.grad_enabled and not tracer.saw_backward:
            # the caller differentiates the outputs later: the autodiff pass builds the backward
            # program, run by an autograd Function node
            if grad_plan or escapes or v.replay or v.events or \
                    any("seed" in n.prim.params for n in graph.nodes):
                v.eager = ("outputs require grad, backward() is called outside the compiled "
                           "function, and the function also has random ops or updates .grad / "
                           "optimizer state (compile the whole training step instead)")
                return _BROKE
            self._build_with_backward(v, graph)
            v.draws = draws.gens
            # the engine accumulates the returned grads: whether .grad is set does not matter
            v.lifted = [(t, d, sh, None, k) for t, d, sh, _, k in v.lifted]
            return _BROKE
        self._build(v, graph)
        _seed_plan(v, draws)
        return _BROKE

    def _build_with_backward(self, v, graph):
        from ..ir.parser import parse_graph
        from ..ir.printer import print_graph
        from ..passes.autodiff import autodiff
        bwd = parse_graph(print_graph(graph, source_lines=False))
        bwd.hints = dict(graph.hints)
        wrt_pos = []
        for k, (gv, (kind, x)) in enumerate(zip(graph.inputs, v.sources)):
            t = x if kind != "arg" else None
            if kind == "arg":
                t = v._arg_tensors[x] if isinstance(x, int) else None
            if t is not None and t._requires_grad and gv.meta.dtype.is_floating_point:
                wrt_pos.append(k)
        seeds = [bwd.add_input(o.meta, f"grad_out{k}") for k, o in enumerate(bwd.outputs)]
        n_fwd = len(bwd.outputs)
        bwd.mutations = {}
        autodiff(bwd, wrt=[bwd.inputs[k] for k in wrt_pos], outputs=bwd.outputs, seeds=seeds)
        bwd.outputs = bwd.outputs[n_fwd:]
        self._build(v, graph)
        fwd_module = v.module
        self._build(v, bwd)
        v.bwd_module, v.module, v.graph = v.module, fwd_module, graph
        v.wrt_pos = wrt_pos

    def _escaped_state(self, tracer):
        """Traced tensors the function stored in optimizer state (created during this trace)."""
        out = []
        for obj in self._objs:
            for st in getattr(obj, "state", {}).values() if hasattr(obj, "param_groups") else ():
                for val in st.values():
                    if isinstance(val, Tensor) and val._value is not None and \
                            id(val) not in tracer.lifted:
                        out.append(val)
        return out

    def _record_sources(self, v, tracer, graph, recorder):
        """Where each graph input comes from at call time, and the captured-tensor guards."""
        by_value = {value: t for t, _, value, _ in tracer.lifted.values()}
        hp = recorder.hp_index
        grad_owner = {}
        for t, saved, value, arr in tracer.lifted.values():
            g = saved.get("grad")
            if isinstance(g, Tensor) and id(g) in tracer.lifted:
                grad_owner[id(g)] = t
        v.sources = []
        for gv in graph.inputs:
            t = by_value[gv]
            pos = tracer.arg_pos.get(id(t))
            if gv.kind == "input" and pos is not None:
                v.sources.append(("arg", pos))
            elif id(t) in hp:
                v.sources.append(("hp", (hp[id(t)], t._data.dtype)))   # read from param_groups
            elif id(t) in grad_owner:
                v.sources.append(("grad", grad_owner[id(t)]))   # read p.grad at call time
            else:
                v.sources.append(("lifted", t))
        # captured tensors keep their shape and dtype.  .grad: None when traced -> must be None
        # (else eager would accumulate); set and read -> must be set; set, unread -> either
        read = set(graph.inputs)
        v.lifted = []
        for t, saved, value, arr in tracer.lifted.values():
            if id(t) in grad_owner or id(t) in hp:
                continue
            g = saved.get("grad")
            wants_grad = saved.get("_requires_grad", False)
            if g is None:
                flag = False if wants_grad and id(t) not in tracer.grad_reset else None
            else:
                flag = True if tracer.lifted[id(g)][2] in read else None
            if value in read or flag is not None:
                v.lifted.append((t, arr.dtype, arr.shape, flag, arr.__class__))

    def _symbolic_sigs(self, sigs, graph, v):
        """Variant signature: the graph's input dims (symbols where the program is symbolic)."""
        from ..shapes import sympy      # lazy: a static program never imports sympy
        out = list(sigs)
        syms = set()
        for gv, src in zip(graph.inputs, v.sources):
            if src[0] == "arg" and isinstance(src[1], int):
                s = sigs[src[1]]
                dims = tuple(d if isinstance(d, int) else (d.name if isinstance(d, sympy.Symbol)
                                                           else _Expr(d))
                             for d in gv.meta.shape)
                out[src[1]] = ("T", s[1], dims, s[3], s[4])
                for d in gv.meta.shape:
                    if not isinstance(d, int):
                        syms |= d.free_symbols
        v.symbol_guards = list(graph.guards)
        v.symbol_free = syms
        return out

    def _build(self, v, graph):
        from ..codegen import cache
        from .compile import config
        from ..ir.printer import print_graph
        v.graph = graph
        _log_traced(self.__name__, graph)
        if self.backend == "interpret" and v.device is None:
            from ..ir.interpret import Interpreter
            v.module = _InterpretedModule(Interpreter(graph))
            return
        # Triton kernels: asked for (the interpreter on CPU tensors), or a program on CUDA tensors
        if self.backend == "triton" or v.device is not None:
            from ..codegen.triton.compile_backend import TritonModule
            v.module = TritonModule(graph)
            if v.device is not None and getattr(self, "mode", None) == "reduce-overhead":
                from ..codegen.triton.gpu_graphs import GraphRunner
                v.module.graphs = GraphRunner(v.module)
            return
        from ..codegen.numpy_backend import CompiledModule, generate
        t0 = time.perf_counter()
        text = print_graph(graph, source_lines=False)
        v.traced_text = text     # the traced stage, for fn.report() (the passes change graph)
        key = cache.key_of(text, repr(graph.hints))
        # logs of the pipeline's work (fusion plan, optimized program, pass times) need it to run:
        # then the code cache is written but not read
        src = None if _pipeline_logged() else cache.load(key)
        v.cache_hit = src is not None
        if src is None:
            from ..passes import run_pipeline
            try:
                res = run_pipeline(graph, keep_stages=config.keep_stages or None)
            except Exception as e:
                raise CompileError(f"ember.compile: internal error while compiling "
                                   f"{self.__name__}: {e}") from e
            v.pipeline = res
            v.graph = res.graph
            v.timings = dict(res.timings)
            t1 = time.perf_counter()
            src = generate(res.graph)
            v.timings["codegen"] = time.perf_counter() - t1
            cache.store(key, src)
        v.source_code = src
        v.module = CompiledModule(src, filename=f"<ember {graph.name} {key[:8]}>")
        v.timings["total_build"] = time.perf_counter() - t0


def _pipeline_logged():
    return any(get_logger(t).isEnabledFor(level) for t, level in (
        ("fusion", logging.INFO), ("graph_code", logging.INFO), ("perf", logging.DEBUG)))


def _log_traced(name, graph):
    """The ``graph`` log topic: the traced program (with source lines at debug level)."""
    log = get_logger("graph")
    if log.isEnabledFor(logging.INFO):
        from ..ir.printer import print_graph
        log.info("traced program of %s:\n%s", name, print_graph(
            graph, source_lines=log.isEnabledFor(logging.DEBUG)).rstrip())


def _graph_name(fn):
    if _is_module(fn):
        return type(fn).__name__
    n = getattr(fn, "__name__", "forward")
    return "forward" if n == "<lambda>" else n



def _seed_plan(v, draws):
    """Which generator each run draws from, in eager's order (v.draws), and which of those draws
    seed the program's random nodes (v.seed_pos).  Eager draws one seed per random op from the
    generator the op was given (``generator=``, else the default one), so a run does the same: a
    custom generator's stream advances like eager's, and so does the default one (also for a
    random op the passes dropped, or a draw that did not become a node)."""
    where = {seed: k for k, (g, seed) in enumerate(draws.log)}
    pos = [where.get(n.params.get("seed")) for n in v.graph.nodes if "seed" in n.prim.params]
    if None in pos or len(pos) != getattr(v.module, "n_seeds", len(pos)):
        v.draws = None     # (a module from the disk cache whose passes dropped a random node)
        return
    v.draws = draws.gens
    v.seed_pos = pos


class _DrawRecorder:
    """While tracing: every ``Generator.next_seed`` call, with the generator it came from; the
    generators' states are saved before their first draw and put back by ``rewind``."""

    def __init__(self):
        self.log = []        # (generator, seed) per draw, in order
        self.saved = {}      # id(generator) -> (generator, state before the trace)

    @property
    def gens(self):
        return [g for g, _ in self.log]

    def __enter__(self):
        from ..frontend.creation import Generator
        rec = self
        orig = self.orig = Generator.next_seed

        def next_seed(g):
            if id(g) not in rec.saved:
                rec.saved[id(g)] = (g, g.get_state())
            seed = orig(g)
            rec.log.append((g, seed))
            return seed
        Generator.next_seed = next_seed
        return self

    def __exit__(self, *exc):
        from ..frontend.creation import Generator
        Generator.next_seed = self.orig
        return False

    def rewind(self):
        for g, state in self.saved.values():
            g.set_state(state)


class _InterpretedModule:
    def __init__(self, interp):
        self.interp = interp
        self.n_seeds = len(interp.random_steps)

    def run(self, arrays, seeds=()):
        outs, muts = self.interp.run(arrays, list(seeds) if seeds else None)
        where = dict(zip(self.interp.graph.inputs, arrays))
        for t, new in muts.items():
            np.copyto(where[t], new, casting="unsafe")
        return outs


# --- tracing support ----------------------------------------------------------------------------
_TRACER_CLS = None


def _make_tracer():
    """A new CompileTracer; the class is built on first use (ember.ir imports the frontend)."""
    global _TRACER_CLS
    if _TRACER_CLS is None:
        from ..frontend.trace import Tracer

        class CompileTracer(Tracer):
            """The IR tracer plus what a training step needs: an existing ``.grad`` of a captured
            tensor is captured too (so gradients accumulate like eager), and the final ``.grad``
            of every captured tensor becomes a program output."""

            def __init__(self):
                super().__init__()
                self.arg_pos = {}
                self.had_grad = {}
                self.grad_plan_cache = []
                self.saw_backward = False
                self.grad_reset = set()    # id(t): .grad set to None before any backward

            def lift(self, t, kind="const", name=None, target=None, dynamic_dims=()):
                if id(t) in self.lifted:
                    return self.lifted[id(t)][2]
                old_grad = t.__dict__.get("grad")
                value = super().lift(t, kind, name, target, dynamic_dims)
                self.had_grad[id(t)] = old_grad is not None
                if old_grad is not None and isinstance(old_grad, Tensor) and \
                        old_grad._value is None:
                    self.lift(old_grad, "const", f"{self.graph.inputs[-1].name}_grad")
                    t.__dict__["grad"] = old_grad
                return value

            def note_zero_grad(self, params, set_to_none):
                # zero_grad(set_to_none=True) before any backward: the program does not depend
                # on whether those .grad were set when it was called (no guard, no recompile)
                if set_to_none and not self.saw_backward:
                    self.grad_reset.update(id(p) for p in params)

            def write(self, target, result):
                # x.copy_(y) with y untraced binds no op: y must become an input here, or x
                # would be rebound to no graph value at all
                if result._value is None:
                    self.lift(result)
                super().write(target, result)

            def collect_grads(self):
                """[(tensor, kind, payload)] for captured tensors that require grad: kind "new"
                (payload: the traced grad value, made an output), "none" or "keep"."""
                plan = []
                for t, saved, value, arr in list(self.lifted.values()):
                    if not saved.get("_requires_grad", False):
                        continue
                    g = t.__dict__.get("grad")
                    orig = saved.get("grad")
                    if g is None:
                        if orig is not None or self.saw_backward:
                            plan.append((t, "none", None))
                    elif g is orig and g._value is self.lifted.get(id(g), (0, 0, None))[2]:
                        continue   # untouched
                    elif g is orig:
                        plan.append((t, "keep", g))   # written in place: a mutation of g
                    else:
                        plan.append((t, "new", self.output_value(g)))
                self.grad_plan_cache = plan
                return plan

        _TRACER_CLS = CompileTracer
    return _TRACER_CLS()
