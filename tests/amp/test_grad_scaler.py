"""ember.amp.GradScaler against torch.amp.GradScaler('cpu'): identical scale trajectories with
injected infs/NaNs, skipped steps, unscale_ for clipping, state_dict round trip, errors."""
import numpy as np
import pytest

import ember
from tests.helpers import need_torch, to_torch, assert_close

torch = need_torch()


def _models(n_params=2):
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((3, 3)).astype(np.float32) for _ in range(n_params)]
    ep = [ember.tensor(w, requires_grad=True) for w in ws]
    tp = [torch.tensor(w, requires_grad=True) for w in ws]
    return ep, tp


def _step(lib, scaler, opt, params, x, bad):
    opt.zero_grad()
    loss = sum((p * x).sum() for p in params)
    scaler.scale(loss).backward()
    if bad == "inf":
        params[0].grad[0, 0] = float("inf")
    elif bad == "nan":
        params[-1].grad[1, 2] = float("nan")
    scaler.step(opt)
    scaler.update()


def test_scale_trajectory_and_params_match_torch():
    ep, tp = _models()
    kw = dict(init_scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    es, ts = ember.amp.GradScaler("cpu", **kw), torch.amp.GradScaler("cpu", **kw)
    eo, to = ember.optim.SGD(ep, lr=0.1), torch.optim.SGD(tp, lr=0.1)
    x = np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3)
    pattern = [None, None, "inf", None, None, None, None, "nan", None, None, None, None, "inf",
               "inf", None, None, None, None, None, None, None, None, None]
    scales = []
    for bad in pattern:
        before = [p.detach().clone() for p in ep]
        _step(ember, es, eo, ep, ember.tensor(x), bad)
        _step(torch, ts, to, tp, torch.tensor(x), bad)
        scales.append(es.get_scale())
        assert es.get_scale() == ts.get_scale()
        assert es._get_growth_tracker() == ts._get_growth_tracker()
        if bad:   # the step was skipped
            for b, p in zip(before, ep):
                np.testing.assert_array_equal(b.numpy(), p.detach().numpy())
        for p, q in zip(ep, tp):
            assert_close(p.detach(), q.detach())
    assert max(scales) > 2.0 ** 10 and min(scales) < 2.0 ** 10    # it grew and backed off
    assert es.state_dict() == ts.state_dict()


def test_unscale_before_clipping_and_double_unscale_error():
    ep, tp = _models(1)
    es, ts = ember.amp.GradScaler("cpu", init_scale=8.0), torch.amp.GradScaler("cpu", init_scale=8.0)
    eo, to = ember.optim.SGD(ep, lr=0.1), torch.optim.SGD(tp, lr=0.1)
    for lib, s, o, ps in ((ember, es, eo, ep), (torch, ts, to, tp)):
        loss = (ps[0] ** 2).sum()
        s.scale(loss).backward()
        s.unscale_(o)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            s.unscale_(o)
        s.step(o)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            s.step(o)
        s.update()
    assert_close(ep[0].grad, tp[0].grad)
    assert_close(ep[0].detach(), tp[0].detach())


def test_state_dict_round_trip_and_disabled():
    s = ember.amp.GradScaler("cpu", init_scale=4.0, growth_interval=7)
    sd = s.state_dict()
    assert sd == torch.amp.GradScaler("cpu", init_scale=4.0, growth_interval=7).state_dict()
    s2 = ember.amp.GradScaler("cpu")
    s2.load_state_dict(sd)
    assert s2.get_scale() == 4.0 and s2.get_growth_interval() == 7
    off = ember.amp.GradScaler("cpu", enabled=False)
    t = ember.ones(2)
    assert off.scale(t) is t and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        s2.load_state_dict({})


def test_scale_outputs_and_errors():
    s = ember.amp.GradScaler("cpu", init_scale=2.0)
    a, b = s.scale([ember.ones(2), ember.ones(3)])
    np.testing.assert_array_equal(a.numpy(), 2.0)
    assert s.scale(ember.ones(2, dtype=ember.bfloat16)).dtype is ember.bfloat16
    with pytest.raises(AssertionError, match="_scale is None"):
        ember.amp.GradScaler("cpu").update()
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        ember.amp.GradScaler("cpu", growth_factor=0.5)
    s.update(new_scale=16.0)
    assert s.get_scale() == 16.0


def test_cuda_scaler_without_cuda_is_disabled_with_a_warning():
    if ember.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = ember.amp.GradScaler("cuda")
    assert not s.is_enabled()
    with pytest.warns(UserWarning):
        assert not ember.cuda.amp.GradScaler().is_enabled()
