"""Tracing a model and assembling the ONNX graph: inputs, initializers (parameters, buffers,
constants), one emitter call per IR node (primitives.py), outputs, dynamic axes.

Dynamic axes: the model is traced once on the example inputs and once more per named dynamic
axis with that axis one longer.  A size parameter of a node (a reshape's shape, an expand's
shape, a slice's stop, ...) that changes between the traces is proportional to the axes that
changed it (e.g. batch * seq): the exported graph computes it at run time from the inputs'
Shape, so any size along those axes runs.  A graph whose structure changes with an axis's size
cannot be exported with that axis dynamic (ExportError)."""
from __future__ import annotations

import io
import os

import numpy as np

EXPORTING = {"now": False}
DEFAULT_OPSET = 17


class ExportError(RuntimeError):
    """The model cannot be exported (bad arguments, data-dependent structure, ...)."""


class UnsupportedOperatorError(ExportError):
    """An IR primitive has no ONNX mapping."""


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("ember.onnx.export needs the onnx package: pip install onnx "
                          "(or ember[onnx])") from e
    return onnx


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, operator_export_type=None, opset_version=None,
           do_constant_folding=True, dynamic_axes=None, keep_initializers_as_inputs=None,
           custom_opsets=None, export_modules_as_functions=False, dynamo=False, **kwargs):
    """Export ``model`` (an nn.Module or a function of tensors) run on ``args`` (a tensor or a
    tuple of tensors) to ``f`` (a path or a binary file object) as an ONNX model.

    input_names/output_names name the graph's inputs and outputs; dynamic_axes maps a name to
    the axes whose size may vary ({"input": {0: "batch"}} or {"input": [0]}); opset_version
    defaults to 17.  The model runs in eval mode while it is traced (dropout off, batch norm
    on running statistics), as torch.onnx.export does."""
    onnx = _onnx()
    from ..frontend.tensor import Tensor
    args = (args,) if isinstance(args, Tensor) else tuple(args)
    if args and isinstance(args[-1], dict):
        if args[-1]:
            raise ExportError("ember.onnx.export: keyword arguments to the model are not "
                              "supported; pass every input positionally")
        args = args[:-1]
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise ExportError(f"ember.onnx.export: argument {i} is a {type(a).__name__}; only "
                              "tensors can be graph inputs")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not 13 <= opset <= 21:
        raise ExportError(f"ember.onnx.export: opset_version {opset} is not supported (13..21)")
    input_names = list(input_names or [f"input_{i}" for i in range(len(args))])
    if len(input_names) != len(args):
        raise ExportError(f"ember.onnx.export: {len(input_names)} input_names for {len(args)} "
                          "inputs")
    was_training = getattr(model, "training", None)
    if was_training:
        model.eval()
    EXPORTING["now"] = True
    try:
        proto = _build(onnx, model, args, input_names, output_names, dynamic_axes or {}, opset,
                       export_params)
    finally:
        EXPORTING["now"] = False
        if was_training:
            model.train()
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    data = proto.SerializeToString()
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "wb") as out:
            out.write(data)
    else:
        f.write(data)
    return None


def _trace(model, args):
    import ember   # ember.jit's tracer, reached by name at run time (jit sits above this package)
    from ..frontend.autograd import no_grad
    with no_grad():
        return ember.jit.trace(model, args)


def _axes_by_name(dynamic_axes, input_names, output_names, args):
    """{axis name: [(input position, axis)]} and {output name: {axis: axis name}}."""
    groups, out_axes = {}, {}
    for name, axes in dynamic_axes.items():
        if isinstance(axes, (list, tuple)):
            axes = {int(a): f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
        if name in input_names:
            pos = input_names.index(name)
            for axis, axis_name in axes.items():
                axis = int(axis) % max(args[pos].ndim, 1)
                groups.setdefault(axis_name, []).append((pos, axis))
        elif output_names and name in output_names:
            out_axes[name] = {int(a): n for a, n in axes.items()}
        else:
            raise ExportError(f"ember.onnx.export: dynamic_axes names {name!r}, which is not an "
                              "input or output name")
    return groups, out_axes


def _grown(args, places, by=1):
    """args with each (position, axis) in places made ``by`` longer (rows repeated)."""
    from ..frontend import functional as F
    out = list(args)
    for pos, axis in places:
        x = out[pos]
        out[pos] = F.cat([x] + [x.narrow(axis, k % x.shape[axis], 1) for k in range(by)], axis)
    return tuple(out)


def _build(onnx, model, args, input_names, output_names, dynamic_axes, opset, export_params):
    from .primitives import Emitter
    groups, out_axes = _axes_by_name(dynamic_axes, input_names, output_names, args)
    for places in groups.values():   # size-1 dynamic axes are broadcast specially: trace at 2+
        if any(args[p].shape[a] < 2 for p, a in places):
            args = _grown(args, places, by=1)
    base = _trace(model, args)
    variants = {name: _trace(model, _grown(args, places)) for name, places in groups.items()}
    sizes = {name: args[places[0][0]].shape[places[0][1]] for name, places in groups.items()}
    scaling = _scaling(base.graph, {n: v.graph for n, v in variants.items()}, sizes)

    graph = base.graph
    em = Emitter(onnx, opset)
    names = {}
    inputs = [v for v in graph.inputs if v.kind == "input"]
    if len(inputs) != len(args):
        raise ExportError("ember.onnx.export: the traced graph does not take every argument as "
                          "an input")
    graph_inputs = []
    for pos, v in enumerate(inputs):
        dims = list(v.meta.shape)
        for axis_name, places in groups.items():
            for p, axis in places:
                if p == pos:
                    dims[axis] = axis_name
        names[id(v)] = input_names[pos]
        graph_inputs.append(onnx.helper.make_tensor_value_info(
            input_names[pos], em.dtype(v.meta.dtype), dims))
    em.dims = {name: (input_names[places[0][0]], places[0][1]) for name, places in groups.items()}
    state = base.state
    for v in graph.inputs:
        if v.kind == "input":
            continue
        name = v.target or v.name
        value = state.get(v.target) if v.target is not None else None
        if value is None:
            raise ExportError(f"ember.onnx.export: no value for graph input {name!r} "
                              f"({v.kind})")
        names[id(v)] = em.initializer(name, np.asarray(value.detach().cpu().numpy()))
    for i, n in enumerate(graph.nodes):
        xs = [names[id(x)] for x in n.inputs]
        names[id(n.out)] = em.emit(i, n, xs, scaling.get(i, {}))
    outs = graph.outputs
    output_names = list(output_names or [f"output_{k}" for k in range(len(outs))])
    if len(output_names) != len(outs):
        raise ExportError(f"ember.onnx.export: {len(output_names)} output_names for the model's "
                          f"{len(outs)} outputs")
    graph_outputs = []
    for k, v in enumerate(outs):
        em.identity(names[id(v)], output_names[k])
        dims = list(v.meta.shape)
        for axis, axis_name in out_axes.get(output_names[k], {}).items():
            dims[axis] = axis_name
        for axis_name, grown in variants.items():   # sizes that follow a dynamic axis
            for axis, (a, b) in enumerate(zip(v.meta.shape, grown.graph.outputs[k].meta.shape)):
                if a != b and not isinstance(dims[axis], str):
                    dims[axis] = f"{output_names[k]}_dim_{axis}"
        graph_outputs.append(onnx.helper.make_tensor_value_info(
            output_names[k], em.dtype(v.meta.dtype), dims))
    g = onnx.helper.make_graph(em.nodes, getattr(model, "__class__", type(model)).__name__,
                               graph_inputs, graph_outputs, em.initializers)
    proto = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="ember")
    proto.ir_version = min(proto.ir_version, 9)   # what current onnxruntime releases accept
    onnx.checker.check_model(proto)
    return proto


def _scaling(base, variants, sizes):
    """{node index: {param name: {position: (coefficient, {axis name: 1})}}} for every size
    parameter that follows a dynamic axis (see the module docstring)."""
    out = {}
    for name, g in variants.items():
        if len(g.nodes) != len(base.nodes) or any(
                a.prim is not b.prim for a, b in zip(base.nodes, g.nodes)):
            raise ExportError(f"ember.onnx.export: the traced graph changes when dynamic axis "
                              f"{name!r} changes size; export it with that axis static")
    for i, n in enumerate(base.nodes):
        for pname, value in n.params.items():
            if not _int_tuple(value):
                continue
            for j, v in enumerate(value):
                powers = {}
                for name, g in variants.items():
                    w = g.nodes[i].params[pname][j]
                    if w == v:
                        continue
                    d = sizes[name]
                    if v * (d + 1) != w * d:
                        raise ExportError(
                            f"ember.onnx.export: node {i} ({n.prim.name}) has {pname}[{j}] = {v} "
                            f"which changes to {w} when {name!r} grows from {d} to {d + 1}: not "
                            "a multiple of that size, so it cannot follow the dynamic axis")
                    powers[name] = 1
                if powers:
                    denominator = int(np.prod([sizes[k] for k in powers]))
                    if v % denominator:
                        raise ExportError(f"ember.onnx.export: node {i} ({n.prim.name}) "
                                          f"{pname}[{j}] = {v} is not a multiple of the dynamic "
                                          "sizes")
                    out.setdefault(i, {}).setdefault(pname, {})[j] = (v // denominator, powers)
    return out


def _int_tuple(value):
    return isinstance(value, tuple) and value and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)


def exported_bytes(model, args, **kwargs):
    """The ONNX model as bytes (export to memory)."""
    buf = io.BytesIO()
    export(model, args, buf, **kwargs)
    return buf.getvalue()
