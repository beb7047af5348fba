"""The memory plan never lets two live values share memory: randomized graphs of elementwise ops,
views, reductions, matmuls and in-place writes into inputs; the planned NumPy module equals the
interpreter on each."""
import numpy as np
import pytest

from ember import dtypes as dt
from ember.codegen.numpy_backend import CompiledModule, generate
from ember.ir.graph import Graph
from ember.ir.interpret import Interpreter
from ember.ir.verify import verify
from ember.ops.registry import Meta
from ember.passes import run_pipeline
from ember.passes.memory_plan import liveness, memory_plan, storage_roots

F32 = dt.float32
UNARY = ["neg", "exp", "tanh", "relu", "sigmoid", "abs"]
BINARY = ["add", "sub", "mul", "maximum"]


def random_graph(rng, n_nodes=30):
    g = Graph("random")
    shape = (3, 4)
    vals = [g.add_input(Meta(shape, F32), f"x{i}") for i in range(3)]
    for _ in range(n_nodes):
        r = rng.random()
        same = [v for v in vals if tuple(v.meta.shape) == shape]
        if r < 0.3:
            v = g.add_node(rng.choice(UNARY), [rng.choice(same)], {})
        elif r < 0.65:
            v = g.add_node(rng.choice(BINARY), [rng.choice(same), rng.choice(same)], {})
        elif r < 0.75:
            t = g.add_node("permute", [rng.choice(same)], {"dims": (1, 0)})
            t = g.add_node("neg", [t], {})
            v = g.add_node("permute", [t], {"dims": (1, 0)})
        elif r < 0.85:
            s = g.add_node("sum", [rng.choice(same)], {"dims": (1,)})
            v = g.add_node("expand", [s], {"shape": shape})
        elif r < 0.93:
            w = g.add_node("reshape", [rng.choice(same)], {"shape": (4, 3)})
            m = g.add_node("matmul", [rng.choice(same), w], {})   # [3,3]
            v = g.add_node("slice", [g.add_node("cat", [m, m], {"dim": 1})],
                           {"starts": (0, 0), "stops": (3, 4), "steps": (1, 1)})
        else:
            v = g.add_node("full", [], {"shape": shape, "value": float(rng.integers(1, 3)),
                                        "dtype": F32})
        vals.append(v)
    node_vals = [n.out for n in g.nodes if tuple(n.out.meta.shape) == shape]
    k = int(rng.integers(1, 4))
    g.outputs = list(rng.choice(node_vals, size=k, replace=False))
    for x in g.inputs[:2]:
        if rng.random() < 0.7:
            g.mutations[x] = node_vals[int(rng.integers(len(node_vals)))]
    return verify(g)


def check_no_overlap(g):
    plan = g.memory_plan
    root = storage_roots(g)
    live = liveness(g, root)
    pos = {n.out: i for i, n in enumerate(g.nodes)}
    by_buf = {}
    for v, b in plan.assign.items():
        by_buf.setdefault(b, []).append(v)
    for b, vs in by_buf.items():
        buf = plan.buffers[b]
        for v in vs:
            assert tuple(v.meta.shape) == tuple(buf.shape) and v.meta.dtype is buf.dtype
        for i, a in enumerate(vs):
            for c in vs[i + 1:]:
                (da, la), (dc, lc) = live[a], live[c]
                first, second = (a, c) if da < dc else (c, a)
                lf = live[first][1]
                ds = live[second][0]
                # the earlier value must be dead when the later one is written; touching at the
                # defining node is allowed only for an elementwise op reading it directly
                assert lf <= ds, f"buffer {b}: live ranges overlap"
                if lf == ds:
                    n = g.nodes[ds]
                    assert n.prim.family == "elementwise" and first in n.inputs
    for v, t in plan.inplace.items():
        assert live[t][1] <= pos[v]
        assert root[v] not in plan.outputs_fresh
    for v in plan.assign:
        assert v not in plan.outputs_fresh


@pytest.mark.parametrize("seed", range(40))
def test_random_graph_plan_is_safe_and_codegen_equals_interpreter(seed):
    rng = np.random.default_rng(seed)
    g = random_graph(rng)
    data = [rng.standard_normal((3, 4)).astype(np.float32) for _ in g.inputs]
    exp_outs, exp_muts = Interpreter(g).run([a.copy() for a in data])
    g = run_pipeline(g).graph
    check_no_overlap(g)
    mod = CompiledModule(generate(g))
    for _ in range(2):          # buffers are reused across calls
        ins = [a.copy() for a in data]
        outs = mod.run(ins, [])
        for o, e in zip(outs, exp_outs):
            np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-6)
        for k, v in enumerate(g.inputs):
            if v in exp_muts:
                np.testing.assert_allclose(ins[k], exp_muts[v], rtol=1e-5, atol=1e-6)


def test_plan_reuses_buffers_and_updates_parameters_in_place():
    g = Graph("sgd")
    p = g.add_input(Meta((8, 8), F32), "p", "param", "w")
    x = g.add_input(Meta((8, 8), F32), "x")
    h = x
    for _ in range(6):
        h = g.add_node("tanh", [g.add_node("matmul", [h, p], {})], {})
    loss = g.add_node("sum", [h], {"dims": (0, 1)})
    lr = g.add_node("expand", [g.add_node("full", [], {"shape": (1, 1), "value": 0.1,
                                                       "dtype": F32})], {"shape": (8, 8)})
    g.mutations[p] = g.add_node("sub", [p, g.add_node("mul", [h, lr], {})], {})
    g.outputs = [loss]
    g = memory_plan(verify(g))
    plan = g.memory_plan
    assert plan.inplace.get(g.mutations[p]) is p
    assert len(plan.buffers) < len(plan.assign)
    assert plan.planned_bytes < plan.naive_bytes
