"""ONNX nodes for each ember IR primitive.

``Emitter.emit(index, node, input names, scaling)`` appends the nodes computing one IR node and
returns the name of its result.  Size parameters that follow a dynamic axis (``scaling``, see
exporter.py) become int64 tensors computed from the inputs' Shape at run time."""
from __future__ import annotations

import numpy as np

from .exporter import UnsupportedOperatorError

_UNARY = {"abs": "Abs", "neg": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "relu": "Relu",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "erf": "Erf", "sin": "Sin", "cos": "Cos",
          "floor": "Floor", "ceil": "Ceil", "round": "Round", "sign": "Sign",
          "reciprocal": "Reciprocal", "logical_not": "Not", "isnan": "IsNaN",
          "bitwise_not": "BitwiseNot"}
_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
           "maximum": "Max", "minimum": "Min", "eq": "Equal", "lt": "Less",
           "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual", "logical_and": "And",
           "logical_or": "Or", "logical_xor": "Xor", "bitwise_and": "BitwiseAnd",
           "bitwise_or": "BitwiseOr", "bitwise_xor": "BitwiseXor"}
_REDUCE = {"sum": "ReduceSum", "amax": "ReduceMax", "amin": "ReduceMin", "prod": "ReduceProd"}
_DTYPES = {"float32": "FLOAT", "float64": "DOUBLE", "float16": "FLOAT16", "bfloat16": "BFLOAT16",
           "int64": "INT64", "int32": "INT32", "int16": "INT16", "int8": "INT8",
           "uint8": "UINT8", "bool": "BOOL"}


class Emitter:
    def __init__(self, onnx, opset):
        self.onnx, self.h, self.opset = onnx, onnx.helper, opset
        self.nodes, self.initializers = [], []
        self.dims = {}          # dynamic axis name -> (graph input name, axis)
        self._count = 0
        self._dim_cache = {}

    # --- building blocks ----------------------------------------------------------------------
    def dtype(self, d):
        return getattr(self.onnx.TensorProto, _DTYPES[d.name])

    def fresh(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def node(self, op, inputs, outputs=None, **attrs):
        outputs = outputs or [self.fresh(op)]
        self.nodes.append(self.h.make_node(op, inputs, outputs, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def initializer(self, name, array):
        from onnx import numpy_helper
        if array.dtype.kind == "V":   # bfloat16 bits
            raise UnsupportedOperatorError("ember.onnx.export: bfloat16 initializers are not "
                                           "supported")
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, array, hint="const"):
        return self.initializer(self.fresh(hint), np.asarray(array))

    def identity(self, x, name):
        self.node("Identity", [x], [name])

    def _dim(self, axis_name):
        """A 1-element int64 tensor: the run-time size of a dynamic axis."""
        if axis_name not in self._dim_cache:
            source, axis = self.dims[axis_name]
            shape = self.node("Shape", [source])
            self._dim_cache[axis_name] = self.node(
                "Gather", [shape, self.const(np.array([axis], np.int64))], axis=0)
        return self._dim_cache[axis_name]

    def ints(self, values, scaled=None):
        """An int64 1-D tensor of ``values``; entries in ``scaled`` ({position: (coefficient,
        {axis name: 1})}) computed at run time."""
        values = [int(v) for v in values]
        if not scaled:
            return self.const(np.array(values, np.int64), "ints")
        pieces = []
        for j, v in enumerate(values):
            if j in scaled:
                coef, powers = scaled[j]
                term = None
                for axis_name in powers:
                    d = self._dim(axis_name)
                    term = d if term is None else self.node("Mul", [term, d])
                if coef != 1:
                    term = self.node("Mul", [term, self.const(np.array([coef], np.int64))])
                pieces.append(term)
            else:
                pieces.append(self.const(np.array([v], np.int64)))
        return self.node("Concat", pieces, axis=0)

    def cast(self, x, src, dst):
        return x if src is dst else self.node("Cast", [x], to=self.dtype(dst))

    # --- one IR node ----------------------------------------------------------------------------
    def emit(self, index, n, xs, scaling):
        name = n.prim.name
        p, out = n.params, n.out.meta
        metas = [x.meta for x in n.inputs]
        if name in _UNARY:
            return self.node(_UNARY[name], xs)
        if name in _BINARY:
            if name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum") and \
                    out.dtype.is_floating_point:   # int operands of a float result: cast first
                xs = [self.cast(x, m.dtype, out.dtype) for x, m in zip(xs, metas)]
            return self.node(_BINARY[name], xs)
        if name == "ne":
            return self.node("Not", [self.node("Equal", xs)])
        if name == "rsqrt":
            return self.node("Reciprocal", [self.node("Sqrt", xs)])
        if name == "expm1":
            one = self.const(np.array(1, metas[0].dtype.np))
            return self.node("Sub", [self.node("Exp", xs), one])
        if name == "log1p":
            one = self.const(np.array(1, metas[0].dtype.np))
            return self.node("Log", [self.node("Add", [xs[0], one])])
        if name in ("remainder", "fmod"):
            fmod = 1 if out.dtype.is_floating_point or name == "fmod" else 0
            if name == "remainder" and out.dtype.is_floating_point:   # Python's sign rule
                q = self.node("Floor", [self.node("Div", xs)])
                return self.node("Sub", [xs[0], self.node("Mul", [q, xs[1]])])
            return self.node("Mod", xs, fmod=fmod)
        if name == "floor_divide":
            if out.dtype.is_floating_point:
                return self.node("Floor", [self.node("Div", xs)])
            raise UnsupportedOperatorError("ember.onnx.export: integer floor_divide is not "
                                           "supported")
        if name == "where":
            return self.node("Where", xs)
        if name == "convert":
            return self.node("Cast", xs, to=self.dtype(p["dtype"]))
        if name == "matmul":
            return self.node("MatMul", xs)
        if name == "permute":
            return self.node("Transpose", xs, perm=list(p["dims"]))
        if name == "reshape":
            return self.node("Reshape", [xs[0], self.ints(p["shape"], scaling.get("shape"))])
        if name == "expand":
            return self.node("Expand", [xs[0], self.ints(p["shape"], scaling.get("shape"))])
        if name == "slice":
            return self._slice(xs[0], metas[0], p, scaling)
        if name == "flip":
            dims = [d % metas[0].ndim for d in p["dims"]]
            big = np.iinfo(np.int64)
            return self.node("Slice", [xs[0], self.ints([-1] * len(dims)),
                                       self.ints([big.min] * len(dims)), self.ints(dims),
                                       self.ints([-1] * len(dims))])
        if name == "cat":
            return self.node("Concat", xs, axis=int(p["dim"]))
        if name == "full":
            return self._full(p, scaling)
        if name in _REDUCE:
            return self._reduce(_REDUCE[name], xs[0], metas[0], out, p["dims"])
        if name in ("argmax", "argmin"):
            keep = int(out.ndim == metas[0].ndim)
            return self.node("ArgMax" if name == "argmax" else "ArgMin", xs, axis=int(p["dim"]),
                             keepdims=keep)
        if name == "cumsum":
            return self.node("CumSum", [xs[0], self.const(np.array(int(p["dim"]), np.int64))])
        if name == "gather":
            return self.node("GatherElements", xs, axis=int(p["dim"]))
        if name == "pool_gather":
            return self.node("GatherElements", xs, axis=-1)
        if name == "conv":
            return self._conv(xs, metas, p)
        if name == "max_pool_indices":
            return self._max_pool_indices(xs[0], metas[0], p)
        raise UnsupportedOperatorError(
            f"ember.onnx.export: primitive {name!r} (node {index}) has no ONNX mapping yet")

    def _slice(self, x, meta, p, scaling):
        axes, starts, stops, steps = [], [], [], []
        scaled = scaling.get("stops", {})
        for axis, (a, b, s) in enumerate(zip(p["starts"], p["stops"], p["steps"])):
            if a == 0 and s == 1 and (b == meta.shape[axis] or axis in scaled):
                continue   # the whole axis
            axes.append(axis)
            starts.append(a)
            stops.append(b)
            steps.append(s)
        if not axes:
            return self.node("Identity", [x])
        return self.node("Slice", [x, self.ints(starts), self.ints(stops), self.ints(axes),
                                   self.ints(steps)])

    def _full(self, p, scaling):
        value = np.array(p["value"], dtype=p["dtype"].np)
        if not scaling.get("shape"):
            return self.const(np.full(tuple(p["shape"]), value), "full")
        from onnx import numpy_helper
        return self.node("ConstantOfShape", [self.ints(p["shape"], scaling["shape"])],
                         value=numpy_helper.from_array(value.reshape(1)))

    def _reduce(self, op, x, meta, out, dims):
        keep = int(out.ndim == meta.ndim)
        axes = [d % max(meta.ndim, 1) for d in dims]
        if not axes:
            return self.node("Identity", [x])
        if op == "ReduceSum" or self.opset >= 18:
            return self.node(op, [x, self.ints(axes)], keepdims=keep)
        return self.node(op, [x], axes=axes, keepdims=keep)

    def _conv(self, xs, metas, p):
        nd = metas[0].ndim - 2
        padding = p["padding"]
        if isinstance(padding, str):
            raise UnsupportedOperatorError("ember.onnx.export: string conv padding")
        pads = list(padding) + list(padding)
        return self.node("Conv", xs[:2], strides=list(p["stride"]), pads=pads,
                         dilations=list(p["dilation"]), group=int(p["groups"]),
                         kernel_shape=list(metas[1].shape[2:2 + nd]))

    def _max_pool_indices(self, x, meta, p):
        pads = list(p["padding"]) + list(p["padding"])
        _, indices = self.node("MaxPool", [x], [self.fresh("pooled"), self.fresh("argmax")],
                               kernel_shape=list(p["kernel"]), strides=list(p["stride"]),
                               pads=pads, dilations=list(p["dilation"]),
                               ceil_mode=int(bool(p["ceil_mode"])))
        # ONNX numbers positions over the whole tensor, ember within each (n, c) plane
        plane = int(np.prod(meta.shape[2:]))
        return self.node("Mod", [indices, self.const(np.array(plane, np.int64))])
