"""ember.onnx: ``export(model, args, f, ...)`` writes an ONNX model of ``model`` traced on ``args``
(ember's tracer and IR; each primitive becomes ONNX nodes).  Needs the ``onnx`` package (the
optional ``onnx`` extra); onnxruntime runs the result.  docs/onnx.md lists what maps."""
from .exporter import export, ExportError, UnsupportedOperatorError  # noqa: F401

__all__ = ["export", "ExportError", "UnsupportedOperatorError", "is_in_onnx_export"]


def is_in_onnx_export():
    from . import exporter
    return exporter.EXPORTING["now"]
