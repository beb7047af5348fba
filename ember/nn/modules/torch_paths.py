"""Where PyTorch defines the nn classes that ember defines in another file.

Pickled models and ``safe_globals`` lists name a class by its module path
(``torch.nn.modules.activation.MultiheadAttention``), so those paths must resolve in ember too:
the alias modules (batchnorm.py, instancenorm.py, fold.py, pixelshuffle.py) re-export the
classes, ``activation`` and ``linear`` resolve theirs lazily (their defining files import them),
and ember.save names each class at its PyTorch path so ``torch.load`` finds it."""
from __future__ import annotations

# PyTorch's file under nn/modules -> (ember's file, class names)
MOVED = {
    "batchnorm": ("normalization", ["_NormBase", "_BatchNorm", "BatchNorm1d", "BatchNorm2d",
                                    "BatchNorm3d"]),
    "instancenorm": ("normalization", ["_InstanceNorm", "InstanceNorm1d", "InstanceNorm2d",
                                       "InstanceNorm3d"]),
    "fold": ("conv", ["Fold", "Unfold"]),
    "pixelshuffle": ("upsampling", ["PixelShuffle", "PixelUnshuffle"]),
    "activation": ("attention", ["MultiheadAttention"]),
    "linear": ("attention", ["NonDynamicallyQuantizableLinear"]),
}

_TORCH_FILE = {(ember_file, name): torch_file
               for torch_file, (ember_file, names) in MOVED.items() for name in names}


def torch_module_of(cls):
    """PyTorch's module path for an ember class (``ember.nn.modules.attention`` ->
    ``torch.nn.modules.activation``); other ember modules map ``ember.`` -> ``torch.``."""
    module = cls.__module__
    prefix = "ember.nn.modules."
    if module.startswith(prefix):
        moved = _TORCH_FILE.get((module[len(prefix):], cls.__qualname__))
        if moved is not None:
            return "torch.nn.modules." + moved
    return "torch" + module[len("ember"):]


def lazy_attribute(torch_file, name):
    """A class PyTorch defines in ``torch_file`` that ember defines elsewhere (for a module
    ``__getattr__``, which import cycles make lazy)."""
    ember_file, names = MOVED[torch_file]
    if name not in names:
        raise AttributeError(f"module 'ember.nn.modules.{torch_file}' has no attribute '{name}'")
    import importlib
    return getattr(importlib.import_module(f"ember.nn.modules.{ember_file}"), name)
