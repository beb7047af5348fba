"""ember.compile(..., backend="triton") on CPU tensors (the interpreter): whole training steps give
the NumPy backend's values."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F

from tests.helpers import assert_close


def _train(make_model, make_batch, backend, steps=2, opt="sgd"):
    ember.manual_seed(0)
    model = make_model()
    optim = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt == "sgd" else \
        ember.optim.Adam(model.parameters(), lr=1e-2)

    @ember.compile(backend=backend, fullgraph=True)
    def step(x, y):
        optim.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optim.step()
        return loss

    x, y = make_batch()
    losses = [step(x, y) for _ in range(steps)]
    return losses, [p.detach() for p in model.parameters()]


def _check(make_model, make_batch, opt="sgd", rtol=1e-4, atol=1e-5):
    ref_losses, ref_params = _train(make_model, make_batch, "numpy", opt=opt)
    losses, params = _train(make_model, make_batch, "triton", opt=opt)
    for a, b in zip(losses, ref_losses):
        assert_close(a, b, rtol=rtol, atol=atol)
    for a, b in zip(params, ref_params):
        assert_close(a, b, rtol=rtol, atol=atol)


def _batch(*shape, classes=3):
    def make():
        rng = np.random.RandomState(1)
        return (ember.tensor(rng.randn(*shape).astype(np.float32)),
                ember.tensor(rng.randint(0, classes, size=shape[0])))
    return make


def test_mlp_training_step():
    _check(lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)), _batch(4, 6))


def test_cnn_training_step():
    _check(lambda: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Flatten(), nn.Linear(12, 3)), _batch(2, 2, 4, 4), opt="adam")


def test_transformer_layer_training_step():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                    batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.layer(x).mean(1))

    _check(Net, _batch(2, 5, 8), opt="sgd", rtol=1e-4, atol=1e-5)


def test_unknown_backend_names_triton():
    with pytest.raises(RuntimeError, match="triton"):
        ember.compile(lambda x: x, backend="nope")


def test_dropout_step_draws_the_same_seeds():
    # random sources run on the host with the seeds the compile frontend hands out per call
    _check(lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)),
           _batch(4, 6))


def test_dynamic_batch_sizes_recompile_per_signature():
    ember.manual_seed(0)
    model = nn.Linear(4, 2)
    fn = ember.compile(lambda x: (model(x) * 2).relu().sum(1), backend="triton", dynamic=True)
    for n in (3, 5, 1):
        x = ember.tensor(np.random.RandomState(n).randn(n, 4).astype(np.float32))
        with ember.no_grad():
            assert_close(fn(x), (model(x) * 2).relu().sum(1))
