"""Targeted Triton-backend checks through the interpreter: fusion (kernel counts), the looped
reduction variant, odd/empty/0-d sizes, views folded into index expressions, matmul epilogues."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.codegen.triton.indexing import Layout, sym, texpr

from .util import check, kernel_count, run_both


def t(*shape, dtype=np.float32, seed=0):
    return ember.tensor(np.random.RandomState(seed).randn(*shape).astype(dtype))


def test_layout_views_fold_into_index_expressions():
    lay = Layout.contiguous((2, 3, 4))
    assert texpr(lay.offset_flat(sym("x"))) == "x"
    assert lay.permute((1, 0, 2)).reshape((3, 8)) is None
    assert lay.reshape((6, 4)).strides == (4, 1)
    assert lay.expand((2, 3, 4)).strides == (12, 4, 1)
    assert Layout.contiguous((1, 4)).expand((3, 4)).strides == (0, 1)


def test_softmax_is_one_kernel_and_matches():
    x = t(5, 7)
    outs, ref, tp, arrays = run_both(lambda x: F.softmax(x, -1), [x])
    check(outs, ref)
    assert kernel_count(tp, arrays) == 1


def test_matmul_bias_relu_epilogue_is_one_kernel():
    x, w, b = t(5, 7), t(7, 3, seed=1), t(3, seed=2)
    outs, ref, tp, arrays = run_both(lambda x, w, b: (x @ w + b).relu(), [x, w, b])
    check(outs, ref)
    assert kernel_count(tp, arrays) == 1


def test_transposed_and_batched_matmul():
    a, b = t(2, 5, 3), t(2, 4, 3, seed=1)
    outs, ref, tp, arrays = run_both(lambda a, b: a @ b.transpose(-1, -2), [a, b])
    check(outs, ref)


@pytest.mark.parametrize("n", [1, 7, 13])
def test_layer_norm_odd_sizes(n):
    x, w, b = t(3, n), t(n, seed=1), t(n, seed=2)
    outs, ref, tp, arrays = run_both(lambda x, w, b: F.layer_norm(x, (n,), w, b), [x, w, b])
    check(outs, ref, rtol=1e-4, atol=1e-5)


def test_looped_reduction_variant():
    x = t(3, 37)
    outs, ref, tp, arrays = run_both(lambda x: F.log_softmax(x, -1), [x],
                                     options={"persistent_max": 8})
    check(outs, ref, rtol=1e-5, atol=1e-5)
    assert "for roff in range" in tp.source(arrays)


def test_reduction_over_leading_dim_and_argmax():
    x = t(6, 5)
    outs, ref, tp, arrays = run_both(lambda x: (x.sum(0), x.argmax(1), x.amax(0)), [x])
    check(outs, ref)


def test_empty_and_0d():
    outs, ref, _, _ = run_both(lambda x: (x * 2).exp(), [t(0, 3)])
    check(outs, ref)
    outs, ref, _, _ = run_both(lambda x: (x * 2).exp(), [ember.tensor(np.float32(0.5))])
    check(outs, ref)


def test_non_contiguous_inputs_and_broadcast():
    base = t(4, 6)
    x = base.transpose(0, 1)[::2]
    y = t(1, 4, seed=3)
    outs, ref, _, _ = run_both(lambda x, y: x * y + 1, [x, y])
    check(outs, ref)


def test_dtypes_elementwise():
    for dtype in (np.float16, np.float64, np.int32, np.int64, np.int8, np.uint8):
        a = ember.tensor((np.arange(12) - 5).astype(dtype).reshape(3, 4))
        outs, ref, _, _ = run_both(lambda a: (a * a + a, a > 0), [a])
        check(outs, ref)


def test_gather_index_pad_cat():
    x = t(4, 5)
    idx = ember.tensor(np.array([[0, 4], [1, 3], [2, 2], [3, 0]]))
    outs, ref, _, _ = run_both(lambda x, i: (x.gather(1, i), x[i[:, 0]],
                                             F.pad(x, (1, 2)), ember.cat([x, x * 2], 0)),
                               [x, idx])
    check(outs, ref)


def test_scatter_add_and_index_put():
    x = t(4, 5)
    idx = ember.tensor(np.array([[0, 1, 2, 0, 1]]))
    src = t(1, 5, seed=4)
    outs, ref, _, _ = run_both(lambda x, i, s: x.scatter_add(0, i, s), [x, idx, src])
    check(outs, ref)


def test_mlp_training_step():
    import ember.nn as nn
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x, target = t(4, 6), ember.tensor(np.array([0, 2, 1, 2]))

    def step(x, target):
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        return loss, model[0].weight.grad

    outs, ref, tp, arrays = run_both(step, [x, target])
    check(outs, ref, rtol=1e-4, atol=1e-5)


def test_second_process_compiles_nothing(tmp_path):
    import os
    import subprocess
    import sys
    code = ("import numpy as np, ember\n"
            "from ember.codegen.triton import cache\n"
            "from tests.codegen_triton.util import run_both\n"
            "run_both(lambda x: (x * 2).exp().sum(0), [ember.ones(3, 4)])\n"
            "print(cache.STATS['generated'], cache.STATS['index_hits'])\n")
    env = dict(os.environ, EMBER_TRITON_CACHE=str(tmp_path), TRITON_INTERPRET="1")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    first = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True,
                           text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True,
                            text=True, check=True).stdout.split()
    assert first == ["1", "0"] and second == ["0", "1"]


@pytest.mark.parametrize("name,fn,shapes,kernels", [
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (7,), w, b), [(5, 7), (7,), (7,)], 1),
    ("rms_norm", lambda x, w: F.rms_norm(x, (7,), w), [(5, 7), (7,)], 1),
    ("log_softmax", lambda x: F.log_softmax(x, -1), [(5, 7)], 1),
    ("gelu_chain", lambda x: F.gelu(x) * 2 + 1, [(5, 7)], 1),
    ("sum_dims_then_scale", lambda x: x.sum(1, keepdim=True) * 3 - x.mean(), [(4, 6)], 3),
])
def test_fusion_kernel_counts(name, fn, shapes, kernels):
    ins = [t(*s, seed=i) for i, s in enumerate(shapes)]
    outs, ref, tp, arrays = run_both(fn, ins)
    check(outs, ref, rtol=1e-4, atol=1e-5)
    assert kernel_count(tp, arrays) == kernels, tp.explain(arrays)


def _grads(loss_of):
    def fn(*xs):
        for x in xs:
            x.requires_grad_()
        loss_of(*xs).backward()
        return tuple(x.grad for x in xs)
    return fn


@pytest.mark.parametrize("name,fn,shapes,kernels", [
    ("softmax_bwd", _grads(lambda x: (F.softmax(x, -1) ** 2).sum()), [(5, 7)], 1),
    ("log_softmax_bwd", _grads(lambda x: (F.log_softmax(x, -1) * 0.5).sum()), [(5, 7)], 1),
    # dx is a row reduction, dw and db are column reductions: one kernel each way plus the
    # forward statistics (the greedy scheduler does not reorder nodes)
    ("layer_norm_bwd", _grads(lambda x, w, b: (F.layer_norm(x, (7,), w, b) ** 2).sum()),
     [(5, 7), (7,), (7,)], 3),
])
def test_backward_fusion_kernel_counts(name, fn, shapes, kernels):
    ins = [t(*s, seed=i) for i, s in enumerate(shapes)]
    outs, ref, tp, arrays = run_both(fn, ins)
    check(outs, ref, rtol=1e-4, atol=1e-5)
    assert kernel_count(tp, arrays) == kernels, tp.explain(arrays)


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 1031), (2, 2053)])
def test_looped_layer_norm_and_softmax_odd_rows(rows, cols):
    x, w, b = t(rows, cols), t(cols, seed=1), t(cols, seed=2)
    outs, ref, tp, arrays = run_both(
        lambda x, w, b: (F.layer_norm(x, (cols,), w, b), F.softmax(x, -1), x.argmax(-1)),
        [x, w, b])
    check(outs, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape,dim,pmax", [((3, 5), 1, 1024), ((4, 3, 2), 0, 1024),
                                            ((2, 37), 1, 8), ((0, 4), 1, 1024)])
def test_cumsum_scan_kernel(shape, dim, pmax):
    for dtype in (np.float32, np.int64):
        x = ember.tensor((np.random.RandomState(0).randn(*shape) * 4).astype(dtype))
        outs, ref, tp, arrays = run_both(lambda x: x.cumsum(dim) * 2, [x],
                                         options={"persistent_max": pmax})
        check(outs, ref, rtol=1e-5, atol=1e-5)
        if 0 not in shape:
            assert "tl.cumsum" in tp.source(arrays) and "host[" not in tp.source(arrays)


@pytest.mark.parametrize("pmax", [1024, 4])
def test_argmax_argmin_nan_and_ties_like_numpy(pmax):
    a = np.array([[1, 3, 3, 0, 2, 3, 1, 0, 3, 1],
                  [1, np.nan, 5, np.nan, 5, 1, 1, 1, 1, 1],
                  [np.inf, 2, 2, 2, 2, 2, 2, 2, 2, np.nan],
                  [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1]], np.float32)
    outs, ref, _, _ = run_both(lambda x: (x.argmax(1), x.argmin(1), x.amax(1)),
                               [ember.tensor(a)], options={"persistent_max": pmax})
    check(outs, ref)


def test_independent_pointwise_groups_share_one_launch():
    # an optimizer's per-parameter updates: different shapes, no data between them
    a, b, c = t(5, 6), t(7, seed=1), t(3, 2, seed=2)
    fn = lambda a, b, c: (a * 0.9 + 1, b * 0.9 + 1, (c - 2).exp())  # noqa: E731
    outs, ref, tp, arrays = run_both(fn, [a, b, c])
    check(outs, ref)
    assert kernel_count(tp, arrays) == 1 and "_pointwise_x3_" in tp.source(arrays)
    outs, ref, tp, arrays = run_both(fn, [a, b, c], options={"horizontal": False})
    check(outs, ref)
    assert kernel_count(tp, arrays) == 3
