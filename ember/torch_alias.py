"""Run a PyTorch program unchanged on ember: an import hook that makes ``import torch`` (and
every ``torch.<sub>`` module) import ember's module of the same path.

    python -m ember.torch_alias train.py --epochs 3     # runs train.py with torch -> ember

or, in a process that has not imported torch: ``ember.torch_alias.install()``.  The hook is a
``sys.meta_path`` finder placed first, so the real torch (if installed) is never imported."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["install", "uninstall", "main"]


class TorchToEmber(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        if importlib.util.find_spec("ember" + fullname[len("torch"):]) is None:
            return None   # no such ember module: "No module named 'torch.x'"
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        return importlib.import_module("ember" + spec.name[len("torch"):])

    def exec_module(self, module):
        pass   # the ember module is already imported


_finder = TorchToEmber()


def install():
    if any(m == "torch" or m.startswith("torch.") for m in sys.modules):
        raise RuntimeError("ember.torch_alias.install(): torch is already imported in this process")
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall():
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[name]


def main(argv=None):
    import runpy
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("usage: python -m ember.torch_alias program.py [args...]", file=sys.stderr)
        return 2
    install()
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
