"""Module full backward hooks: identity autograd Functions around a module's tensor inputs and
outputs catch grad_output (outputs) and grad_input (inputs) and hand them to the hooks."""
from __future__ import annotations

from ...frontend.autograd import Function
from ...frontend.dispatch import STATE
from ...frontend.tensor import Tensor


class BackwardHook:
    def __init__(self, module, hooks, pre_hooks):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_tracked = False

    def setup_input_hook(self, args):
        self.n_inputs = sum(isinstance(a, Tensor) for a in args)
        if not STATE.grad_enabled or not any(isinstance(a, Tensor) and a.requires_grad
                                             for a in args):
            return args
        self.input_tracked = True
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        fn = _identity(self._on_input_grads)
        wrapped = fn.apply(*[args[i] for i in idx])
        if not isinstance(wrapped, tuple):
            wrapped = (wrapped,)
        out = list(args)
        for i, w in zip(idx, wrapped):
            out[i] = w
        return tuple(out)

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple) or not STATE.grad_enabled:
            return result
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not idx:
            return result
        fn = _identity(self._on_output_grads)
        wrapped = fn.apply(*[outs[i] for i in idx])
        if not isinstance(wrapped, tuple):
            wrapped = (wrapped,)
        new = list(outs)
        for i, w in zip(idx, wrapped):
            new[i] = w
        return new[0] if single else tuple(new)

    def _on_output_grads(self, grads):
        for hook in self.pre_hooks:
            r = hook(self.module, grads)
            if r is not None:
                grads = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        self.grad_outputs = grads
        if not self.input_tracked:
            # nothing upstream needs a gradient: the hooks see grad_input all None now
            for hook in self.hooks:
                r = hook(self.module, (None,) * self.n_inputs, grads)
                if r is not None and any(g is not None for g in r):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
        return grads

    def _on_input_grads(self, grads):
        for hook in self.hooks:
            r = hook(self.module, grads, self.grad_outputs)
            if r is not None:
                r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
                if len(r) != len(grads):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(r)}, but expected {len(grads)}")
                grads = r
        return grads


def _identity(callback):
    class _BackwardHookFunction(Function):
        @staticmethod
        def forward(ctx, *xs):
            return xs if len(xs) != 1 else xs[0]

        @staticmethod
        def backward(ctx, *grads):
            out = callback(tuple(grads))
            return tuple(out)
    return _BackwardHookFunction
