"""Graph breaks run in compiled segments (ember/compiler/compile_segments.py): the tensor work
before and after ``.item()`` / ``if tensor`` / ``.tolist()`` is compiled, every call gives eager's
numbers (values, gradients, parameters and optimizer state after several steps, the random
stream), paths that differ per call are recorded and replayed, and the break is reported once."""
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember.compiler.compile import CompileError, GraphBreakWarning, config
from tests.compile.models import data, make
from tests.helpers import assert_close

TOL = 1e-5


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphBreakWarning)
        yield


def _compare_models(m1, m2, o1, o2, tol=TOL):
    for (n, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
        assert_close(p2, p1.detach(), rtol=tol, atol=tol, msg=n)
        if p1.grad is None:
            assert p2.grad is None, n
        else:
            assert_close(p2.grad, p1.grad, rtol=tol, atol=tol, msg=n + ".grad")
    for (n, b1), b2 in zip(m1.named_buffers(), m2.buffers()):
        assert_close(b2, b1, rtol=tol, atol=tol, msg=n)
    for s1, s2 in zip(o1.state.values(), o2.state.values()):
        assert sorted(s1) == sorted(s2)
        for k in s1:
            if isinstance(s1[k], ember.Tensor):
                assert_close(s2[k], s1[k], rtol=tol, atol=tol, msg=k)


def _pair(step_fn, kind="mlp", opt="sgd", steps=4, seed_data=True):
    """Run step_fn eagerly and compiled on twin models; returns (compiled fn, eager logs,
    compiled logs)."""
    m1, o1 = make(kind, opt)
    m2, o2 = make(kind, opt)
    log1, log2 = [], []
    e, c = step_fn(m1, o1, log1), ember.compile(step_fn(m2, o2, log2))
    for i in range(steps):
        x, y = data(kind, seed=i)
        ember.manual_seed(50 + i)
        r1 = e(x, y)
        ember.manual_seed(50 + i)
        r2 = c(x, y)
        if isinstance(r1, ember.Tensor):
            assert_close(r2, r1.detach(), rtol=TOL, atol=TOL, msg=f"result at step {i}")
        else:
            assert r2 == pytest.approx(r1, rel=TOL, abs=TOL)
    _compare_models(m1, m2, o1, o2)
    np.testing.assert_allclose(log2, log1, rtol=TOL, atol=TOL)
    return c, log1, log2


def _logging_step(model, opt, log):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        log.append(loss.item())           # a break between the forward and the backward
        loss.backward()
        opt.step()
        return loss
    return step


@pytest.mark.parametrize("kind,opt", [("mlp", "sgd"), ("mlp", "adam"), ("cnn", "adam"),
                                      ("transformer", "sgd")])
def test_item_logged_mid_step_equals_eager(kind, opt):
    c, log1, _ = _pair(_logging_step, kind, opt)
    assert len(log1) == 4
    st = c.stats
    # one prefix (forward + loss) and one suffix (backward + optimizer step) per steady state;
    # Adam's lazily created state makes the first call's suffix a different path
    assert st["segments"] >= 2 and st["segment_calls"] == 4 and st["eager_calls"] == 0
    assert st["graph_breaks"] and "item()" in st["graph_breaks"][0]
    v = c.variants[-1]
    assert v.segments is not None and v.segments.eager_tails == 0
    seg = v.segments.root.candidates[0]
    assert seg.end == "break" and seg.runs >= 3 and seg.n_nodes > 0


def test_break_after_a_few_calls_replays_without_compiling():
    c, _, _ = _pair(_logging_step, "mlp", "sgd", steps=6)
    n = c.stats["segments"]
    x, y = data("mlp", seed=9)
    c(x, y)
    assert c.stats["segments"] == n          # replayed: nothing new compiled


def _clipping_step(model, opt, log):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        total = sum((p.grad * p.grad).sum() for p in model.parameters()).sqrt()
        norm = total.item()                    # gradient clipping by a Python number
        log.append(norm)
        if norm > 0.5:
            for p in model.parameters():
                p.grad.mul_(0.5 / norm)
        opt.step()
        return loss
    return step


def test_gradient_clipping_with_item_of_the_total_norm():
    c, log1, _ = _pair(_clipping_step, "mlp", "adam", steps=5)
    assert any(n > 0.5 for n in log1)
    assert c.stats["segments"] >= 2


def _threshold_step(model, opt, log):
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        if loss.item() > 1.62:                 # a branch on the loss: two paths
            loss = loss * 2
            log.append(1.0)
        else:
            log.append(0.0)
        loss.backward()
        opt.step()
        return loss
    return step


def test_branch_on_loss_records_both_paths_and_replays_them():
    c, log1, _ = _pair(_threshold_step, "mlp", "sgd", steps=8)
    assert 0 < sum(log1) < len(log1), log1      # both paths were taken
    slot = c.variants[-1].segments.root.candidates[0].next
    assert len(slot.candidates) == 2
    # SGD's momentum buffers appear after the first call: the last variant ran calls 2..8
    assert sum(s.runs for s in slot.candidates) == 7 and c.stats["segment_calls"] == 8
    assert c.variants[-1].segments.eager_tails == 0


def _dropout_step(model, opt, log):
    def step(x, y):
        opt.zero_grad()
        h = F.dropout(model[0](x), 0.5, training=True)      # random before the break
        log.append(h.sum().item())
        out = model[4](F.dropout(model[3](model[2](h)), 0.3, training=True))   # and after
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss
    return step


def test_random_stream_around_a_break_matches_eager():
    _pair(_dropout_step, "mlp", "sgd", steps=4)
    # and the generator ends where eager leaves it
    m1, o1 = make("mlp")
    m2, o2 = make("mlp")
    e, c = _dropout_step(m1, o1, []), ember.compile(_dropout_step(m2, o2, []))
    x, y = data("mlp")
    ember.manual_seed(7)
    for _ in range(3):
        e(x, y)
    after_eager = ember.rand(4)
    ember.manual_seed(7)
    for _ in range(3):
        c(x, y)
    assert_close(ember.rand(4), after_eager)


def _breaking(x):
    y = x * 2
    if y.sum() > 0:
        return y + 1
    return y - 1


def test_branch_outcome_changes_per_call():
    c = ember.compile(_breaking)
    for sign in [1, -1, 1, -1, -1, 1]:
        x = ember.tensor(np.full(3, sign, np.float32))
        assert_close(c(x), _breaking(x))
    plan = c.variants[0].segments
    assert plan.compiled == 3 and plan.divergences == 1 and plan.eager_tails == 0
    assert "segment 0.1" in c.explain() and "3 segment program(s)" in c.explain()


def test_full_slot_finishes_calls_eagerly(monkeypatch):
    monkeypatch.setattr(config, "segment_paths", 1)
    c = ember.compile(_breaking)
    for sign in [1, -1, -1, 1]:
        x = ember.tensor(np.full(3, sign, np.float32))
        assert_close(c(x), _breaking(x))
    plan = c.variants[0].segments
    assert plan.compiled == 2 and plan.eager_tails == 2


def test_tolist_and_numpy_breaks():
    def f(x):
        y = (x * 3).exp()
        vals = y.tolist()                 # y is concrete from here on: no break for y.numpy()
        z = (y * 2).numpy().sum() + y.numpy().sum()
        return y * len(vals) + float(z)
    c = ember.compile(f)
    x1 = ember.tensor(np.arange(4, dtype=np.float32) * 0.1)
    for _ in range(3):
        assert_close(c(x1), f(x1), rtol=1e-6)
    assert len(c.stats["graph_breaks"]) == 2
    plan = c.variants[0].segments
    assert plan.compiled == 3 and plan.divergences == 0
    # float(z) is a Python number in the last segment: another value is another path
    x2 = x1 * 2
    assert_close(c(x2), f(x2), rtol=1e-6)
    assert plan.compiled == 4 and plan.divergences == 1


def test_backward_outside_the_compiled_function_goes_through_the_break():
    w1 = ember.randn(4, 3, requires_grad=True)
    w2 = ember.tensor(w1.detach().numpy().copy(), requires_grad=True)

    def f(w, x):
        h = (x @ w).tanh()
        s = h.sum().item()
        return h * s
    c = ember.compile(f)
    x = ember.randn(2, 4)
    for _ in range(2):
        w1.grad = w2.grad = None
        f(w1, x).sum().backward()
        c(w2, x).sum().backward()
        assert_close(w2.grad, w1.grad, rtol=1e-5, atol=1e-6)


def test_break_reported_once_with_file_and_line():
    c = ember.compile(_breaking)
    with pytest.warns(GraphBreakWarning) as rec:
        for _ in range(3):
            c(ember.ones(3))
    msgs = [str(w.message) for w in rec if issubclass(w.category, GraphBreakWarning)]
    assert len(msgs) == 1 and "test_segments.py:" in msgs[0] and "bool" in msgs[0]
    assert "compiled in segments" in msgs[0]


def test_fullgraph_still_raises():
    with pytest.raises(CompileError, match=r"test_segments.py:\d+"):
        ember.compile(_breaking, fullgraph=True)(ember.ones(3))


def test_segment_breaks_off_runs_eagerly(monkeypatch):
    monkeypatch.setattr(config, "segment_breaks", False)
    c = ember.compile(_breaking)
    assert_close(c(ember.ones(3)), _breaking(ember.ones(3)))
    assert c.stats["eager_calls"] == 1 and c.variants[0].eager is not None
    c(ember.ones(3))
    assert c.stats["eager_calls"] == 2 and c.stats["segments"] == 0


def test_exception_inside_restores_captured_tensors():
    w = ember.ones(3)

    def f(x):
        w.add_(x)
        if x.sum() > 100:
            raise ValueError("too big")
        return w * 2
    c = ember.compile(f)
    c(ember.ones(3))
    assert_close(w, ember.full((3,), 2.0))
    with pytest.raises(ValueError):
        c(ember.full((3,), 50.0))
    # the segment before the raise ran (like eager's add_), the tensor is concrete again
    assert isinstance(w._data, np.ndarray) and w._value is None
    assert_close(w, ember.full((3,), 52.0))


def _random_fn(brk):
    g = ember.Generator()
    g.manual_seed(3)

    def f(x):
        y = x + ember.rand(3, generator=g)            # a generator of its own
        z = F.dropout(y, 0.5, training=True)         # the default generator
        if brk and z.sum() > 1000:                    # a break after both
            z = z * 0
        return z + ember.rand(3, generator=g)
    return f


@pytest.mark.parametrize("segments", [True, False])
@pytest.mark.parametrize("brk", [False, True])
def test_random_streams_of_every_generator_match_eager(brk, segments, monkeypatch):
    """The failed trace before a break rewinds every generator it drew from (not only the default
    one), so the rerun (segmented or eager) draws each number once; and a compiled program draws
    its seeds from the generators eager uses, in eager's order."""
    monkeypatch.setattr(config, "segment_breaks", segments)
    e, c = _random_fn(brk), ember.compile(_random_fn(brk))
    x = ember.ones(3)
    for i in range(3):
        ember.manual_seed(i)
        a = e(x)
        after_eager = ember.rand(2)
        ember.manual_seed(i)
        b = c(x)
        assert_close(b, a, msg=f"call {i}")
        assert_close(ember.rand(2), after_eager, msg=f"default stream after call {i}")
    assert (c.variants[0].segments is not None) == (brk and segments)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_lr_scheduler_stepping_every_call_stays_compiled(opt):
    """lr is a 0-d input of the segments (not a baked number): a scheduler changing it every call
    replays the same recorded path."""
    scheds = []

    def step_fn(model, o, log):
        sched = ember.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)
        scheds.append(sched)

        def step(x, y):
            o.zero_grad()
            loss = F.cross_entropy(model(x), y)
            log.append(loss.item())
            loss.backward()
            o.step()
            sched.step()
            return loss
        return step
    c, _, _ = _pair(step_fn, "mlp", opt, steps=6)
    s1, s2 = scheds
    assert s1.last_epoch == s2.last_epoch == 6
    assert s1.optimizer.param_groups[0]["lr"] == s2.optimizer.param_groups[0]["lr"]
    assert isinstance(s2.optimizer.param_groups[0]["lr"], float)
    # no recompile for the changing lr (the second variant: the optimizer's state appeared)
    assert not [r for r in c.stats["recompiles"] if "lr" in r["reason"]], c.explain()
    assert c.stats["compiles"] <= 2
    plan = c.variants[-1].segments
    # recorded with lr baked in, then once more with lr as an input when it changed; replayed
    assert plan.lr_inputs and plan.divergences == 0 and plan.eager_tails == 0
    assert plan.compiled == 4 and plan.root.candidates[0].runs >= 3, c.explain()


def test_constant_lr_stays_baked_in():
    c, _, _ = _pair(_logging_step, "mlp", "adam", steps=4)
    plan = c.variants[-1].segments
    assert not plan.lr_inputs and plan.compiled == 2


def test_nonzero_and_a_while_loop_on_a_tensor():
    def f(x):
        idx = (x > 0).nonzero()               # data-dependent shape: a break
        s = x[idx[:, 0]].sum() * 2
        while s > 1:                          # bool() on a tensor, once per iteration
            s = s / 3
        return s + x.mean()
    c = ember.compile(f)
    vals = [[1.0, -2.0, 3.0, 0.5], [2.0, -1.0, 1.0, 0.25], [1.0, -2.0, 3.0, 0.5], [-1.0] * 4]
    for v in vals:
        x = ember.tensor(np.array(v, np.float32))
        assert_close(c(x), f(x), rtol=1e-6)
    plan = c.variants[0].segments
    assert plan.compiled >= 3 and c.stats["eager_calls"] == 0
    assert any("nonzero" in b for b in c.stats["graph_breaks"])
    assert any("bool" in b for b in c.stats["graph_breaks"])


def test_copy_between_captured_tensors_across_a_break():
    a, b = ember.zeros(3), ember.full((3,), 2.0)

    def f(x):
        a.copy_(b)                    # a write with no op: only a mutation of the segment
        if x.sum() > 0:
            b.add_(x)
        return a + 0
    c = ember.compile(f)
    for i in range(3):
        out = c(ember.ones(3))
    # eager: a = b (2, 3, 4 on the three calls), b grows by 1 each call
    assert_close(out, ember.full((3,), 4.0))
    assert_close(a, ember.full((3,), 4.0)) and assert_close(b, ember.full((3,), 5.0))


def test_copy_from_an_untraced_tensor_in_a_whole_program():
    a, b = ember.zeros(3), ember.full((3,), 2.0)

    def f(x):
        a.copy_(b)
        return a + x
    c = ember.compile(f)
    assert_close(c(ember.ones(3)), ember.full((3,), 3.0))
    b.add_(1)
    assert_close(c(ember.ones(3)), ember.full((3,), 4.0))
    assert_close(a, ember.full((3,), 3.0))
    assert c.variants[0].segments is None and c.stats["eager_calls"] == 0


def test_compiled_module_with_a_break_trains_like_eager():
    """ember.compile(model) whose forward reads a value: forward in segments, backward and the
    optimizer step eager, outside."""
    class Gate(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = ember.nn.Linear(6, 3)

        def forward(self, x):
            h = self.lin(x)
            if h.mean() > 0:                 # the break
                return h.relu()
            return h.tanh()
    ember.manual_seed(0)
    m1 = Gate()
    m2 = Gate()
    m2.load_state_dict(m1.state_dict())
    o1, o2 = ember.optim.SGD(m1.parameters(), lr=0.1), ember.optim.SGD(m2.parameters(), lr=0.1)
    c = ember.compile(m2)
    rng = np.random.default_rng(0)
    for i in range(6):
        x = ember.tensor(rng.standard_normal((4, 6)).astype(np.float32) + (1 if i % 2 else -1))
        for m, o, fn in ((m1, o1, m1), (m2, o2, c)):
            o.zero_grad()
            fn(x).pow(2).sum().backward()
            o.step()
    for p1, p2 in zip(m1.parameters(), m2.parameters()):
        assert_close(p2, p1.detach(), rtol=1e-5, atol=1e-6)
    assert c._compiled.stats["segment_calls"] == 6


def test_a_segment_that_fails_to_compile_leaves_captured_tensors_eager(monkeypatch):
    w = ember.ones(3)

    def f(x):
        w.add_(x)
        if x.sum() > 0:
            return w * 2
        return w
    c = ember.compile(f)

    def broken(self, v, graph):
        raise CompileError("ember.compile: internal error (simulated)")
    monkeypatch.setattr(type(c), "_build", broken)
    with pytest.raises(CompileError, match="simulated"):
        c(ember.ones(3))
    assert isinstance(w._data, np.ndarray) and w._value is None
    assert_close(w, ember.ones(3))          # the segment did not run


def _accumulating_step(model, opt, log):
    def step(x, y):
        # no zero_grad: .grad accumulates across calls and across the break
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        log.append(loss.item())
        if log[-1] > 0:
            F.cross_entropy(model(x * 0.5), y).backward()
        opt.step()
        return loss
    return step


def test_gradients_accumulate_across_a_break_and_across_calls():
    c, _, _ = _pair(_accumulating_step, "mlp", "sgd", steps=4)
    assert c.stats["segments"] >= 2 and c.variants[-1].segments.eager_tails == 0


def test_break_warning_points_at_user_code():
    c = ember.compile(_breaking)
    with pytest.warns(GraphBreakWarning) as rec:
        c(ember.ones(3))
    assert rec[0].filename.endswith("test_segments.py")


def _view_fn(x):
    h = x * 2
    v = h[0]                          # a view made before the break
    s = h.sum().item()
    v.add_(s)                         # written through after it: h sees it, as in eager
    w = h.t()
    if s > 20:                        # a second break, on a Python number
        w.mul_(2)
    return h + 0, v * 1, w


def test_views_made_before_a_break_alias_their_base_after_it():
    c = ember.compile(_view_fn)
    for scale in [1.0, 1.0, 0.1, 1.0, 0.1]:
        x = ember.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) * scale)
        for a, b in zip(_view_fn(x), c(x)):
            assert_close(b, a)
    assert c.variants[0].segments.eager_tails == 0


def test_segments_with_the_interpreter_backend():
    c = ember.compile(_breaking, backend="interpret")
    for sign in [1, -1, 1, -1]:
        x = ember.tensor(np.full(3, sign, np.float32))
        assert_close(c(x), _breaking(x))
    assert c.stats["segments"] == 3 and c.variants[0].segments.eager_tails == 0


def test_code_shows_every_segment_and_program_explains_why_not():
    c = ember.compile(_breaking)
    c(ember.ones(3))
    code = c.code()
    assert code.count("# --- segment") == 2 and "def call(" in code
    assert "segment 0.0" in code and "bool(tensor)" in code
    with pytest.raises(RuntimeError, match="segments around graph breaks"):
        c.program()


def _python_flag_step(model, opt, log):
    def step(x, y):
        opt.zero_grad()
        log.append(F.cross_entropy(model(x), y).item())     # a break
        h = model(x * 0.5)                  # several ops replayed before the paths differ
        if len(log) % 2:                    # plain Python state: no break, a different path
            h = h * 2
        loss = F.cross_entropy(h, y)
        loss.backward()
        opt.step()
        return loss
    return step


@pytest.mark.parametrize("paths", [4, 1])
def test_paths_that_differ_mid_segment(paths, monkeypatch):
    """The suffix diverges after many replayed ops (forward with autograd history): with room the
    replayed ops become a new recording; with a full slot they are evaluated eagerly and the call
    finishes eagerly.  Both equal eager."""
    monkeypatch.setattr(config, "segment_paths", paths)
    c, _, _ = _pair(_python_flag_step, "mlp", "adam", steps=6)
    plan = c.variants[-1].segments
    slot = plan.root.candidates[0].next
    assert len(slot.candidates) == min(paths, 2)
    assert plan.divergences >= 1
    assert (plan.eager_tails > 0) == (paths == 1)
