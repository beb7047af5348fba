"""ember.autocast against torch.autocast('cpu', dtype=bfloat16): output dtypes per op, values of
a small MLP/CNN forward and backward, nesting, decorator, weight-cast cache, and the CUDA policy
table (checked on the CPU by treating tensors as CUDA tensors)."""
import numpy as np
import pytest

import ember
import ember.nn.functional as EF
from ember.frontend import autocast as policy
from tests.helpers import need_torch, to_torch, assert_close

torch = need_torch()
import torch.nn.functional as TF  # noqa: E402


def _inputs(lib):
    rng = np.random.default_rng(0)

    def t(*shape):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32))
    x, y, v, b = t(4, 4), t(4, 4), t(4), t(2, 4, 4)
    img, w = t(1, 2, 5, 5), t(3, 2, 3, 3)
    tgt = lib.tensor(np.array([0, 3, 1, 2]))
    return x, y, v, b, img, w, tgt


def _ops(lib, F):
    x, y, v, b, img, w, tgt = _inputs(lib)
    xb = x.to(lib.bfloat16)
    return {
        "matmul": lambda: x @ y, "mm": lambda: lib.mm(x, y), "bmm": lambda: lib.bmm(b, b),
        "mv": lambda: lib.mv(x, v), "dot": lambda: lib.dot(v, v),
        "addmm": lambda: lib.addmm(v, x, y), "baddbmm": lambda: lib.baddbmm(b, b, b),
        "einsum": lambda: lib.einsum("ij,jk->ik", x, y), "tensordot": lambda: lib.tensordot(x, y, 1),
        "linear": lambda: F.linear(x, y, v), "conv2d": lambda: F.conv2d(img, w),
        "conv1d": lambda: F.conv1d(img[:, :, 0], w[:, :, 0]),
        "conv_transpose2d": lambda: F.conv_transpose2d(img, w.transpose(0, 1)),
        "prelu": lambda: F.prelu(x, lib.tensor([0.2])),
        "sdpa": lambda: F.scaled_dot_product_attention(b, b, b),
        "bilinear": lambda: F.bilinear(x, x, lib.ones(2, 4, 4)),
        "softmax_bf16": lambda: F.softmax(xb, -1), "softmax": lambda: F.softmax(x, -1),
        "log_softmax_bf16": lambda: F.log_softmax(xb, -1), "sum_bf16": lambda: xb.sum(),
        "exp_bf16": lambda: xb.exp(), "prod_bf16": lambda: xb.prod(),
        "cumsum_bf16": lambda: xb.cumsum(0), "layer_norm_bf16": lambda: F.layer_norm(xb, (4,)),
        "mse_mixed": lambda: F.mse_loss(xb, x), "mse_bf16": lambda: F.mse_loss(xb, xb),
        "l1_bf16": lambda: F.l1_loss(xb, xb), "ce_bf16": lambda: F.cross_entropy(xb, tgt),
        "nll_bf16": lambda: F.nll_loss(xb, tgt),
        "bce_bf16": lambda: F.binary_cross_entropy(xb.sigmoid(), xb.sigmoid()),
        "bce_logits_bf16": lambda: F.binary_cross_entropy_with_logits(xb, xb),
        "kl_bf16": lambda: F.kl_div(xb, xb), "smooth_l1_bf16": lambda: F.smooth_l1_loss(xb, xb),
        "huber_bf16": lambda: F.huber_loss(xb, xb),
        "cdist_bf16": lambda: (EF.cdist if lib is ember else torch.cdist)(xb, xb),
        "trace_bf16": lambda: lib.trace(xb), "cat_mixed": lambda: lib.cat([xb, x]),
        "stack_mixed": lambda: lib.stack([xb, x]), "add_mixed": lambda: xb + x,
        "where_mixed": lambda: lib.where(x > 0, xb, x),
        "matmul_f64": lambda: x.double() @ y.double(),
        "matmul_int": lambda: lib.ones(2, 2, dtype=lib.long) @ lib.ones(2, 2, dtype=lib.long),
        "matmul_mixed": lambda: xb @ y, "addcmul_mixed": lambda: lib.addcmul(x, xb, xb),
        "softplus_bf16": lambda: F.softplus(xb), "group_norm_bf16": lambda: F.group_norm(
            img.to(lib.bfloat16), 1),
        "margin_bf16": lambda: F.margin_ranking_loss(xb[0], xb[1], xb[2]),
        "soft_margin_bf16": lambda: F.soft_margin_loss(xb, xb),
        "hinge_bf16": lambda: F.hinge_embedding_loss(xb, xb),
        "cos_emb_bf16": lambda: F.cosine_embedding_loss(xb, xb, lib.ones(4)),
        "poisson_bf16": lambda: F.poisson_nll_loss(xb, xb),
        "triplet_bf16": lambda: F.triplet_margin_loss(xb, xb, xb),
        "multi_margin_bf16": lambda: F.multi_margin_loss(xb, tgt),
        "cos_sim_bf16": lambda: F.cosine_similarity(xb, xb), "pow_bf16": lambda: xb.pow(2),
        "logsumexp_bf16": lambda: xb.logsumexp(0),
        "avg_pool2d_bf16": lambda: F.avg_pool2d(img.to(lib.bfloat16), 2),
    }


def test_output_dtypes_match_torch_cpu_autocast():
    e_ops, t_ops = _ops(ember, EF), _ops(torch, TF)
    mismatches = []
    with ember.autocast("cpu", dtype=ember.bfloat16), torch.autocast("cpu", dtype=torch.bfloat16):
        for name in t_ops:
            want = str(t_ops[name]().dtype).replace("torch.", "")
            got = e_ops[name]().dtype.name
            if got != want:
                mismatches.append((name, got, want))
    assert not mismatches


def test_autocast_values_close_to_torch_and_off_outside():
    x, y, *_ = _inputs(ember)
    tx, ty = to_torch(x), to_torch(y)
    with ember.autocast("cpu"):
        out = x @ y
        assert ember.is_autocast_enabled("cpu") if hasattr(ember, "is_autocast_enabled") else True
    with torch.autocast("cpu"):
        tout = tx @ ty
    assert out.dtype is ember.bfloat16
    assert_close(out, tout)
    assert (x @ y).dtype is ember.float32            # off again after the region


def _mlp_and_cnn(lib, nn):
    lib.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    cnn = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25, 3))
    return mlp, cnn


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_forward_backward_matches_torch(which):
    import ember.nn as enn
    import torch.nn as tnn
    emodel = _mlp_and_cnn(ember, enn)[which == "cnn"]
    tmodel = _mlp_and_cnn(torch, tnn)[which == "cnn"]
    tmodel.load_state_dict({k: to_torch(v) for k, v in emodel.state_dict().items()})
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((5, 6) if which == "mlp" else (5, 2, 5, 5)).astype(np.float32)
    tgt = np.array([0, 1, 2, 1, 0])
    with ember.autocast("cpu", dtype=ember.bfloat16):
        out = emodel(ember.tensor(xs))
        loss = EF.cross_entropy(out, ember.tensor(tgt))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        tout = tmodel(torch.tensor(xs))
        tloss = TF.cross_entropy(tout, torch.tensor(tgt))
    assert out.dtype is ember.bfloat16 and loss.dtype is ember.float32
    assert_close(out, tout, rtol=2e-2, atol=2e-2)
    assert_close(loss, tloss, rtol=2e-2, atol=2e-2)
    loss.backward()
    tloss.backward()
    for (n, p), tp in zip(emodel.named_parameters(), tmodel.parameters()):
        assert p.grad.dtype is ember.float32, n       # grads reach fp32 master weights
        assert_close(p.grad, tp.grad, rtol=5e-2, atol=5e-2)


def test_nesting_disable_and_decorator():
    x, y, *_ = _inputs(ember)
    with ember.autocast("cpu"):
        with ember.autocast("cpu", enabled=False):
            assert (x @ y).dtype is ember.float32
        assert (x @ y).dtype is ember.bfloat16
        with ember.autocast("cpu", dtype=ember.float16):
            assert (x @ y).dtype is ember.float16
        assert (x @ y).dtype is ember.bfloat16

    @ember.autocast("cpu")
    def f(a, b):
        return a @ b
    assert f(x, y).dtype is ember.bfloat16 and (x @ y).dtype is ember.float32
    assert ember.amp.autocast is ember.autocast
    assert not ember.amp.is_autocast_enabled("cpu")


def test_weight_cast_is_cached_inside_a_region():
    w = ember.ones(3, 3, requires_grad=True)
    x = ember.ones(2, 3)
    with ember.autocast("cpu"):
        a = EF.linear(x, w)
        b = EF.linear(x, w)
        assert a.grad_fn is not None
        assert len(policy.AMP.cache) == 1
    assert not policy.AMP.cache
    with ember.autocast("cpu", cache_enabled=False):
        EF.linear(x, w)
        assert not policy.AMP.cache
    (a.sum() + b.sum()).float().backward()
    assert w.grad.dtype is ember.float32
    np.testing.assert_allclose(w.grad.numpy(), 4 * np.ones((3, 3)))


def test_unsupported_dtype_warns_and_disables():
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        with ember.autocast("cpu", dtype=ember.float64):
            x, y, *_ = _inputs(ember)
            assert (x @ y).dtype is ember.float32
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        ember.autocast("tpu")


def test_cuda_autocast_without_cuda_warns_and_disables():
    if ember.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        ac = ember.autocast("cuda")
    assert not ac._enabled


def test_cuda_policy_on_tensors_marked_cuda(monkeypatch):
    """The CUDA policy (float16 matmuls, fp32 softmax/sum/losses, promoted cat, banned BCE),
    applied by treating CPU tensors as CUDA tensors."""
    monkeypatch.setattr(policy, "tensor_device_type", lambda t: "cuda")
    x, y, v, b, img, w, tgt = _inputs(ember)
    xh = x.half()
    state = policy.AMP
    prev = dict(state.enabled), dict(state.dtype)
    state.enabled["cuda"], state.dtype["cuda"] = True, ember.float16
    state.refresh()
    try:
        assert (x @ y).dtype is ember.float16
        assert EF.linear(x, y, v).dtype is ember.float16
        assert EF.conv2d(img, w).dtype is ember.float16
        assert EF.softmax(xh, -1).dtype is ember.float32
        assert xh.sum().dtype is ember.float32
        assert EF.layer_norm(xh, (4,)).dtype is ember.float32
        assert EF.mse_loss(xh, xh).dtype is ember.float32
        assert ember.cat([xh, x]).dtype is ember.float32
        assert ember.dot(xh[0], v).dtype is ember.float32      # promote on CUDA
        assert (xh + xh).dtype is ember.float16                # unlisted: unchanged
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            EF.binary_cross_entropy(xh.sigmoid(), xh.sigmoid())
    finally:
        state.enabled.update(prev[0])
        state.dtype.update(prev[1])
        state.refresh()


def test_policy_tables_are_consistent():
    for table in policy.POLICY.values():
        assert set(table.values()) <= {policy.LOWER, policy.FP32, policy.PROMOTE, policy.KEEP,
                                       policy.BANNED}
    assert policy.POLICY["cpu"]["linear"] == policy.LOWER
    assert policy.POLICY["cuda"]["softmax"] == policy.FP32


def test_compiled_function_traces_casts_and_guards_on_autocast_state():
    """Fix in ember/compiler/compile.py: the autocast state is part of the compile guard."""
    def f(x, y):
        return x @ y
    cf = ember.compile(f)
    x, y, *_ = _inputs(ember)
    assert cf(x, y).dtype is ember.float32
    with ember.autocast("cpu"):
        out = cf(x, y)
        assert out.dtype is ember.bfloat16
        assert_close(out, f(x, y))
        assert cf(x, y).dtype is ember.bfloat16
    assert cf(x, y).dtype is ember.float32
    assert cf.stats["compiles"] == 2 and cf.stats["cache_hits"] == 2
    assert "autocast state" in cf.stats["recompiles"][0]["reason"]


def _custom_function(lib):
    class MyMM(lib.autograd.Function):
        @staticmethod
        @(lib.amp.custom_fwd(device_type="cpu", cast_inputs=lib.float32))
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a.mm(b)

        @staticmethod
        @(lib.amp.custom_bwd(device_type="cpu"))
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad.mm(b.t()), a.t().mm(grad)

    class Plain(lib.autograd.Function):
        @staticmethod
        @(lib.amp.custom_fwd(device_type="cpu"))
        def forward(ctx, a, b):
            return a.mm(b)

        @staticmethod
        @(lib.amp.custom_bwd(device_type="cpu"))
        def backward(ctx, grad):
            return grad, grad
    return MyMM, Plain


def test_custom_fwd_bwd_like_torch():
    x, y, *_ = _inputs(ember)
    results = []
    for lib in (ember, torch):
        MyMM, Plain = _custom_function(lib)
        a = (x if lib is ember else to_torch(x)).clone().requires_grad_()
        b = (y if lib is ember else to_torch(y)).clone().requires_grad_()
        with lib.autocast("cpu", dtype=lib.bfloat16):
            out = MyMM.apply(a.to(lib.bfloat16), b)        # cast back to fp32, autocast off
            plain = Plain.apply(a, b)                       # runs under autocast: bf16
        out.sum().backward()
        results.append((out, plain, a.grad))
    (eo, ep, eg), (to, tp, tg) = results
    assert eo.dtype is ember.float32 and str(to.dtype) == "torch.float32"
    assert ep.dtype is ember.bfloat16 and str(tp.dtype) == "torch.bfloat16"
    assert_close(eo, to, rtol=2e-2, atol=2e-2)
    assert_close(eg, tg, rtol=2e-2, atol=2e-2)
