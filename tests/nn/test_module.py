"""nn.Module behaviour against PyTorch: registration, iteration order, state_dict and its errors,
modes, hooks, dtype moves, repr, containers, copying."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import assert_close, need_torch

torch = need_torch()


def _net_class(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(),
                                          lib.nn.BatchNorm1d(8))
            self.heads = lib.nn.ModuleList([lib.nn.Linear(8, 2), lib.nn.Linear(8, 3)])
            self.scale = lib.nn.Parameter(lib.ones(1))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)

        def forward(self, x):
            h = self.body(x)
            return self.heads[0](h) * self.scale, self.heads[1](h)
    Net.__qualname__ = "EmberNet" if lib is ember else "TorchNet"  # for pickle; repr says Net
    return Net


EmberNet = _net_class(ember)
TorchNet = _net_class(torch)


def build(lib):
    return EmberNet() if lib is ember else TorchNet()


def test_names_and_order_match_torch():
    e, t = build(ember), build(torch)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())
    assert repr(e) == repr(t)
    assert len(list(e.parameters(recurse=False))) == 1
    assert [n for n, _ in e.named_parameters(prefix="m")][0] == "m.scale"


def test_shared_parameters_deduplicated():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert len(list(seq.modules())) == 2


def test_state_dict_roundtrip_and_values():
    e, e2 = build(ember), build(ember)
    sd = e.state_dict()
    assert not sd["body.0.weight"].requires_grad
    assert sd["body.0.weight"]._data is e.body[0].weight._data or np.shares_memory(
        sd["body.0.weight"]._data, e.body[0].weight._data)
    assert "cache" not in sd
    assert repr(e2.load_state_dict(sd)) == "<All keys matched successfully>"
    for (k, v), (k2, v2) in zip(e.state_dict().items(), e2.state_dict().items()):
        assert_close(v, v2, msg=k)
    assert e.state_dict(keep_vars=True)["scale"] is e.scale
    assert list(e.body.state_dict(prefix="x.").keys())[0] == "x.0.weight"


def _torch_message(fn):
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


def test_load_state_dict_errors_match_torch():
    e, t = build(ember), build(torch)
    e_sd, t_sd = e.state_dict(), t.state_dict()
    for sd in (e_sd, t_sd):
        del sd["heads.1.bias"]
        sd["extra.weight"] = sd["scale"]
    e_sd["body.0.weight"] = ember.zeros(3, 3)
    t_sd["body.0.weight"] = torch.zeros(3, 3)
    msg_e = _torch_message(lambda: e.load_state_dict(e_sd))
    msg_t = _torch_message(lambda: t.load_state_dict(t_sd))
    assert msg_e == msg_t
    del e_sd["body.0.weight"]
    res = e.load_state_dict(e_sd, strict=False)
    assert res.missing_keys == ["body.0.weight", "heads.1.bias"]
    assert res.unexpected_keys == ["extra.weight"]


def test_load_state_dict_assign():
    m = nn.Linear(2, 2)
    w = ember.ones(2, 2)
    m.load_state_dict({"weight": w, "bias": ember.zeros(2)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight._data is w._data
    assert m.weight.requires_grad


def test_attribute_registration_rules():
    m = nn.Module()
    m.p = nn.Parameter(ember.ones(2))
    m.sub = nn.Linear(1, 1)
    m.buf = nn.Buffer(ember.zeros(2))
    m.plain = 3
    assert set(m._parameters) == {"p"} and set(m._modules) == {"sub"} and set(m._buffers) == {"buf"}
    m.buf = ember.ones(2)  # a buffer stays a buffer
    assert "buf" in m._buffers
    with pytest.raises(TypeError, match="cannot assign 'ember.FloatTensor'|cannot assign"):
        m.p = ember.ones(2)
    m.p = None
    assert m.p is None and "p" in m._parameters
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", ember.zeros(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(ember.ones(1))
        Bad()
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor"):
        x = ember.ones(1, requires_grad=True) * 2
        p = nn.Parameter(ember.ones(1))
        p._grad_fn = x._grad_fn
        m.register_parameter("q", p)


def test_get_submodule_parameter_buffer():
    e = build(ember)
    assert e.get_submodule("body.0") is e.body[0]
    assert e.get_parameter("heads.1.weight") is e.heads[1].weight
    assert e.get_buffer("steps") is e.steps
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        e.get_submodule("body.nope")


def test_train_eval_zero_grad_requires_grad():
    e = build(ember)
    e.eval()
    assert not any(m.training for m in e.modules())
    e.train()
    assert all(m.training for m in e.modules())
    out = e(ember.randn(3, 4))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is not None for p in e.parameters())
    e.zero_grad(set_to_none=False)
    assert all(not p.grad.numpy().any() for p in e.parameters())
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())
    e.requires_grad_(False)
    assert not any(p.requires_grad for p in e.parameters())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        e.train("yes")


def test_to_dtype_keeps_parameter_identity():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = m[0].weight
    m.double()
    assert m[0].weight is w and w.dtype is ember.float64
    assert m[1].running_mean.dtype is ember.float64
    assert m[1].num_batches_tracked.dtype is ember.int64
    m.to(ember.float32)
    assert w.dtype is ember.float32
    m.to("cpu")
    m.half().float()
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point"):
        m.to(ember.int32)


def test_apply_and_init():
    m = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    seen = []

    def init_fn(mod):
        seen.append(type(mod).__name__)
        if isinstance(mod, nn.Linear):
            nn.init.zeros_(mod.weight)
    assert m.apply(init_fn) is m
    assert seen == ["Linear", "Linear", "Sequential"]
    assert not m[0].weight.detach().numpy().any()


def test_forward_hooks():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    h3 = m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(kwargs),
                                 with_kwargs=True, prepend=True)
    out = m(ember.randn(3, 2))
    assert_close(out, m.bias.detach().expand(3, 2) + 1)
    assert calls == [{}]
    for h in (h1, h2, h3):
        h.remove()
    x = ember.randn(3, 2)
    assert_close(m(x), nn.functional.linear(x, m.weight, m.bias))
    h4 = m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] * 2,), kwargs),
                                     with_kwargs=True)
    assert_close(m(x), nn.functional.linear(x * 2, m.weight, m.bias))
    h4.remove()
    g = nn.modules.module.register_module_forward_hook(lambda mod, a, o: o * 0)
    try:
        assert not m(x).detach().numpy().any()
    finally:
        g.remove()


def test_full_backward_hook_matches_torch():
    got = {}

    def hook_for(lib_name):
        def hook(mod, grad_input, grad_output):
            got[lib_name] = (grad_input[0], grad_output[0])
            return (grad_input[0] * 2,)
        return hook
    e, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    e.register_full_backward_hook(hook_for("e"))
    t.register_full_backward_hook(hook_for("t"))
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (e(xe) ** 2).sum().backward()
    (t(xt) ** 2).sum().backward()
    assert_close(got["e"][0], got["t"][0])
    assert_close(got["e"][1], got["t"][1])
    assert_close(xe.grad, xt.grad)
    assert_close(e.weight.grad, t.weight.grad)


def test_sequential_container_ops():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)]
    s = nn.Sequential(*layers)
    assert s[0] is layers[0] and s[-1] is layers[2] and len(s) == 3
    assert isinstance(s[1:], nn.Sequential) and len(s[1:]) == 2
    del s[1]
    assert list(s._modules) == ["0", "1"]
    s.append(nn.Tanh()).insert(0, nn.Identity())
    assert [type(m).__name__ for m in s] == ["Identity", "Linear", "Linear", "Tanh"]
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert named.fc is named[0]
    assert len(s + named) == 6
    with pytest.raises(IndexError, match="index 9 is out of range"):
        s[9]
    t = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    assert repr(nn.Sequential(nn.Linear(2, 2), nn.ReLU())) == repr(t)


def test_modulelist_moduledict_parameterlist():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh)
    ml.insert(1, nn.Sigmoid())
    assert isinstance(ml[1], nn.Sigmoid) and len(ml) == 6
    tl = torch.nn.ModuleList([torch.nn.Linear(1, 1) for _ in range(3)] + [torch.nn.ReLU()])
    assert repr(nn.ModuleList([nn.Linear(1, 1) for _ in range(3)] + [nn.ReLU()])) == repr(tl)
    md = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md
    md["c"] = nn.Tanh()
    assert md.pop("b").__class__ is nn.ReLU and len(md) == 2
    pl = nn.ParameterList([nn.Parameter(ember.ones(2)), ember.zeros(3)])
    assert isinstance(pl[1], nn.Parameter) and len(list(pl.parameters())) == 2
    tp = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3)])
    assert repr(pl) == repr(tp)
    pd = nn.ParameterDict({"w": nn.Parameter(ember.ones(2))})
    pd["v"] = ember.zeros(1)
    assert list(pd.keys()) == ["w", "v"] and isinstance(pd["v"], nn.Parameter)
    assert [n for n, _ in pd.named_parameters()] == ["w", "v"]


def test_deepcopy_and_pickle():
    e = build(ember)
    c = copy.deepcopy(e)
    assert c.body[0].weight is not e.body[0].weight
    assert isinstance(c.scale, nn.Parameter)
    assert_close(c.body[0].weight, e.body[0].weight)
    p = pickle.loads(pickle.dumps(e))
    assert isinstance(p.heads[0].weight, nn.Parameter) and p.heads[0].weight.requires_grad
    x = ember.randn(3, 4)
    e.eval(), p.eval()
    assert_close(p(x)[1], e(x)[1])


def test_parameter_basics():
    t = ember.randn(2)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, ember.Tensor)
    assert np.shares_memory(p._data, t._data)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    y = p * 2
    assert type(y) is ember.Tensor
    with pytest.raises(TypeError):
        nn.Parameter([1.0])


def test_missing_forward():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(1)
