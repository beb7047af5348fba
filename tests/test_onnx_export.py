"""ember.onnx.export: models onnx.checker accepts and onnxruntime runs with ember's outputs (the
MLP, CNN and transformer-layer models of the compile tests), dynamic batch, names, errors."""
from __future__ import annotations

import io

import numpy as np
import pytest

import ember
from tests.compile import models as M

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["mlp", "cnn", "transformer"])
def test_models_run_in_onnxruntime_with_ember_outputs(kind):
    model, _ = M.make(kind)
    x, _ = M.data(kind)
    model.train()   # export traces in eval mode (dropout off) and restores the mode
    data = _export(model, (x,), input_names=["x"], output_names=["logits"],
                   dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    assert model.training
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["x"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(data)
    model.eval()
    for n in (8, 3, 1):   # other batch sizes than the traced one
        xn = x[:n]
        got = sess.run(["logits"], {"x": xn.numpy()})[0]
        np.testing.assert_allclose(got, model(xn).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_static_export_to_a_path_and_default_names(tmp_path):
    model = M.mlp()
    x = ember.randn(4, 20)
    ember.onnx.export(model, x, str(tmp_path / "m.onnx"), opset_version=13)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert proto.opset_import[0].version == 13
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    got = sess.run(None, {"input_0": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(Exception):   # static: another batch size is rejected
        sess.run(None, {"input_0": np.zeros((5, 20), np.float32)})


def test_multiple_inputs_and_outputs_and_functions():
    def fn(a, b):
        return (a * b).sum(1), ember.where(a > b, a, b).amax(0)
    a, b = ember.randn(3, 4), ember.randn(3, 4)
    sess = ort.InferenceSession(_export(fn, (a, b), input_names=["a", "b"]))
    got = sess.run(None, {"a": a.numpy(), "b": b.numpy()})
    for g, e in zip(got, fn(a, b)):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-5, atol=1e-6)


def test_errors():
    with pytest.raises(ember.onnx.ExportError, match="only tensors"):
        _export(M.mlp(), (3,))
    with pytest.raises(ember.onnx.ExportError, match="not an input or output name"):
        _export(M.mlp(), ember.randn(2, 20), dynamic_axes={"nope": [0]})
    with pytest.raises(ember.onnx.ExportError, match="opset_version"):
        _export(M.mlp(), ember.randn(2, 20), opset_version=7)

    def rng(x):
        return x + ember.randn(x.shape)
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="rand_normal"):
        _export(rng, ember.ones(2))
