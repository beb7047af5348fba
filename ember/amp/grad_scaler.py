"""ember.amp.GradScaler: loss scaling for float16 training, with torch.amp.GradScaler's API and
scale trajectory.

``scale(loss)`` multiplies by the scale; ``unscale_(optimizer)`` divides the grads by it and
records whether any is inf/NaN; ``step(optimizer)`` skips the step when one was; ``update()``
backs the scale off after an overflow, or grows it after ``growth_interval`` clean steps.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from enum import Enum


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state():
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = str(device)
        self._enabled = enabled
        if self._device.startswith("cuda") and enabled:
            from ..runtime import cuda as _rt
            if not _rt.is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                              "Disabling.")
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = float(init_scale)
            self._scale = None
            self._growth_factor = float(growth_factor)
            self._backoff_factor = float(backoff_factor)
            self._growth_interval = int(growth_interval)
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # --- the scale ----------------------------------------------------------------------------
    def _lazy_init(self):
        from ..frontend.creation import tensor
        from .. import dtypes as dt
        self._scale = tensor(self._init_scale, dtype=dt.float32)
        self._growth_tracker = tensor(self._init_growth_tracker, dtype=dt.int32)

    def _check_scale_growth_tracker(self, funcname):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier " \
              "in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        return self._scale, self._growth_tracker

    def scale(self, outputs):
        """Multiply a tensor (or an iterable of tensors) by the scale."""
        if not self._enabled:
            return outputs
        from ..frontend.tensor import Tensor
        if self._scale is None:
            self._lazy_init()
        if isinstance(outputs, Tensor):
            return outputs * self._scale.to(outputs.dtype)
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if hasattr(outputs, "__iter__"):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    # --- unscale / step / update --------------------------------------------------------------
    def _unscale_grads_(self, optimizer, inv_scale, allow_fp16):
        """Multiply every grad by 1/scale in place; True when any grad holds an inf or NaN
        (torch._amp_foreach_non_finite_check_and_unscale_)."""
        import numpy as np
        from ..frontend.autograd import no_grad
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g.dtype.name == "float16":
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    if not found and not _all_finite(g):
                        found = True
                    g.mul_(float(inv_scale))
        return found

    def unscale_(self, optimizer):
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        import numpy as np
        inv_scale = np.float32(1.0) / np.float32(self._scale.item())
        found = self._unscale_grads_(optimizer, inv_scale, False)
        state["found_inf_per_device"] = {self._device: 1.0 if found else 0.0}
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet) and run ``optimizer.step`` unless a grad was inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if not state["found_inf_per_device"]:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        ret = None
        if not sum(state["found_inf_per_device"].values()):
            ret = optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return ret

    def update(self, new_scale=None):
        """Back off the scale after an overflow, grow it after growth_interval clean steps."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("update")
        from ..frontend.creation import tensor
        from ..frontend.tensor import Tensor
        from .. import dtypes as dt
        import numpy as np
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale = tensor(new_scale, dtype=dt.float32)
            else:
                if not (isinstance(new_scale, Tensor) and new_scale.numel() == 1 and
                        new_scale.dtype is dt.float32 and not new_scale.requires_grad):
                    raise AssertionError("new_scale should be a float or a 1-element "
                                         "torch.cuda.FloatTensor or torch.FloatTensor with "
                                         "requires_grad=False.")
                self._scale = new_scale.detach().clone()
        else:
            found = [v for st in self._per_optimizer_states.values()
                     for v in st["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            scale = np.float32(self._scale.item())
            tracker = int(self._growth_tracker.item())
            if sum(found):                     # torch._amp_update_scale_
                scale = scale * np.float32(self._backoff_factor)
                tracker = 0
            else:
                tracker += 1
                if tracker == self._growth_interval:
                    grown = scale * np.float32(self._growth_factor)
                    if np.isfinite(grown):
                        scale = grown
                    tracker = 0
            self._scale = tensor(float(scale), dtype=dt.float32)
            self._growth_tracker = tensor(tracker, dtype=dt.int32)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # --- accessors and state -------------------------------------------------------------------
    def get_scale(self):
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else \
            int(self._growth_tracker.item())

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            from ..frontend.creation import tensor
            from .. import dtypes as dt
            self._scale = tensor(self._init_scale, dtype=dt.float32)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            from ..frontend.creation import tensor
            from .. import dtypes as dt
            self._growth_tracker = tensor(self._init_growth_tracker, dtype=dt.int32)

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._enabled:
            state["_per_optimizer_states"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._enabled:
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)


def _all_finite(g):
    """No inf/NaN in gradient g: NumPy on the CPU; on CUDA a device reduction and one scalar
    copied back (not the whole gradient)."""
    import numpy as np
    if g.is_cuda:
        from ..frontend.functional import isfinite
        return bool(isfinite(g).all())
    return bool(np.isfinite(g._data).all())
