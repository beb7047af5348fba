"""What ``ember.compile(module)`` returns: PyTorch's ``OptimizedModule`` shape.

It is an ``nn.Module`` whose only child is the compiled module, registered as ``_orig_mod``, so a
compiled submodule's parameters are registered with its parent, ``state_dict`` keys carry the
``_orig_mod.`` prefix (as in PyTorch, so checkpoints move between the two libraries), and
attributes it does not have itself are the original module's."""
from __future__ import annotations

from .modules.module import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    def __init__(self, mod, compiled):
        super().__init__()
        self._orig_mod = mod
        # the compiled forward is a plain attribute (not a submodule): calls go through it
        self.__dict__["_compiled"] = compiled
        self.training = mod.training

    def forward(self, *args, **kwargs):
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    def memory_plan(self, *args, **kwargs):
        return self.__dict__["_compiled"].memory_plan(*args, **kwargs)

    # the compiled forward's introspection, as on a compiled function
    @property
    def stats(self):
        return self.__dict__["_compiled"].stats

    def explain(self):
        return self.__dict__["_compiled"].explain()

    def code(self, variant=-1):
        return self.__dict__["_compiled"].code(variant)

    def program(self, variant=-1):
        return self.__dict__["_compiled"].program(variant)

    def report(self, path, *args, **kwargs):
        return self.__dict__["_compiled"].report(path, *args, **kwargs)

    def __reduce__(self):
        # pickling a compiled module saves the original one (as PyTorch 2.x does)
        return self._orig_mod.__reduce_ex__(2)
