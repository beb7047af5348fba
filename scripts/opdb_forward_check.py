"""Forward-only op_db check for the library namespaces (float32 CPU samples vs torch; no
gradients, no sign-invariant comparison of decompositions): a quick progress measure until the
conformance harness of tests/conformance/ covers them.

    python scripts/opdb_forward_check.py linalg,special,fft,masked.,signal
"""
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout's ember
import ember  # noqa: E402
from torch.testing._internal.common_methods_invocations import op_db

PREFIX = tuple(sys.argv[1].split(",")) if len(sys.argv) > 1 else ("linalg", "special", "fft", "masked", "signal")

def to_e(x):
    if isinstance(x, torch.Tensor):
        t = ember.tensor(x.detach().resolve_conj().resolve_neg().numpy().copy())
        if x.requires_grad: t.requires_grad_(True)
        return t
    if isinstance(x, (list, tuple)):
        return type(x)(to_e(v) for v in x)
    if isinstance(x, torch.dtype):
        return getattr(ember, str(x).replace("torch.", ""))
    return x

def flat(o):
    if isinstance(o, (list, tuple)):
        return [t for v in o for t in flat(v)]
    return [o]

def resolve(name):
    obj = ember
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj

res = {}
for op in op_db:
    if not op.name.startswith(PREFIX):
        continue
    key = op.name + ("/" + op.variant_test_name if op.variant_test_name else "")
    status = "pass"
    try:
        fn = resolve(op.name)
        for dtype in (torch.float32,):
            if dtype not in op.supported_dtypes("cpu"):
                continue
            grad = op.supports_autograd and dtype in op.supported_backward_dtypes("cpu")
            for s in op.sample_inputs("cpu", dtype, requires_grad=grad):
                t_out = op(s.input, *s.args, **s.kwargs)
                e_out = fn(to_e(s.input), *to_e(list(s.args)), **{k: to_e(v) for k, v in s.kwargs.items()})
                tf, ef = flat(t_out), flat(e_out)
                assert len(tf) == len(ef), ("len", len(tf), len(ef))
                for a, b in zip(ef, tf):
                    if isinstance(b, torch.Tensor):
                        assert tuple(a.shape) == tuple(b.shape), ("shape", tuple(a.shape), tuple(b.shape))
                        bb = b.detach().resolve_conj().resolve_neg()
                        if bb.dtype == torch.bfloat16: bb = bb.float()
                        np.testing.assert_allclose(a.detach().numpy(), bb.numpy(), rtol=1e-3, atol=1e-4, equal_nan=True)
    except Exception as e:
        status = f"FAIL {type(e).__name__}: {str(e)[:150]}"
    res[key] = status
    print(key, status, flush=True)
n = sum(1 for v in res.values() if v == "pass")
print(f"{n} / {len(res)} pass (forward, float32)")
