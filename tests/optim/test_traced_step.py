"""An optimizer step traced into a graph (the path ember.compile uses): it must trace without
reading tensor data, and the interpreted graph must update parameters and state like eager."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.optim.test_optimizers import CONFIGS, _ids

trace = pytest.importorskip("ember.frontend.trace")
interpret = pytest.importorskip("ember.ir.interpret")


def _state_tensors(opt):
    return [v for s in opt.state.values() for v in s.values() if isinstance(v, ember.Tensor)]


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_traced_step_matches_eager(config):
    name, kwargs = config
    rng = np.random.default_rng(0)
    w0, g0 = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))

    def setup():
        p = ember.tensor(w0.copy(), requires_grad=True)
        opt = getattr(ember.optim, name)([p], **kwargs)
        for _ in range(2):  # build state eagerly, as a first (uncompiled) step would
            p.grad = ember.tensor(g0 * p.detach().numpy())
            opt.step()
        p.grad = ember.tensor(g0.copy())
        return p, opt

    p, opt = setup()
    tracer = trace.Tracer()
    with trace.tracing(tracer):
        opt.step()
        graph = tracer.finish([])  # before the lifted tensors are switched back to eager
    lifted = [(t, arr) for t, _, _, arr in tracer.lifted.values()]
    by_value = {value: t for t, _, value, _ in tracer.lifted.values()}
    inputs = [next(arr for t, arr in lifted if t is by_value[v]) for v in graph.inputs]
    _, mutations = interpret.Interpreter(graph).run(inputs)
    traced = {id(by_value[v]): new for v, new in mutations.items()}

    # traced bias corrections are float32 tensor math (the step is a float32 tensor), as in
    # PyTorch's capturable mode, so agreement is to float32 precision of the step size
    p_ref, opt_ref = setup()
    opt_ref.step()
    np.testing.assert_allclose(traced[id(p)], p_ref.detach().numpy(), rtol=1e-5, atol=2e-6)
    for mine, ref in zip(_state_tensors(opt), _state_tensors(opt_ref)):
        if id(mine) in traced:
            np.testing.assert_allclose(traced[id(mine)], ref.numpy(), rtol=1e-5, atol=2e-6)
