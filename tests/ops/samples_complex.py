"""Sample-table rows for the complex and fft primitives (ember/ops/complex.py, ember/ops/fft.py),
appended by samples.py.  Inputs and outputs are real (the table's harness is real-valued): each
row goes through complex values in between, so its gradients exercise PyTorch's complex rules."""
from __future__ import annotations

import numpy as np

from tests.ops.samples import Sample as S

_rng = np.random.RandomState(23)
X, Y = _rng.standard_normal((2, 3, 4))


def _vr(lib, z):
    return lib.view_as_real(z)


# (complex rows avoid holomorphic products: the autodiff pass, which the pipeline test runs on
# every row, applies the real rules only; and they are host-only: Triton has no complex type)
ROWS = [
    S("complex.parts", lambda x, y, lib: ((lib.complex(x, y).conj_physical() * 2).imag,
                                          lib.complex(x, y).angle(), lib.complex(y, x).real),
      (X, Y), dtypes=("float32", "float64"), gpu=False),
    S("complex.view_as", lambda x, y, lib: _vr(lib, lib.view_as_complex(lib.stack([x, y], -1))
                                               * 2), (X, Y), gpu=False),
    S("fft.fft", lambda x, lib: _vr(lib, lib.fft.fft(x, norm="ortho")), (X,),
      dtypes=("float32", "float64"), gpu=False),
    S("fft.rfft_irfft", lambda x, lib: lib.fft.irfft(lib.fft.rfft(x) * 2, n=4), (X,), gpu=False),
    S("fft.ifft2", lambda x, lib: _vr(lib, lib.fft.ifft2(x, norm="forward")), (X,), gpu=False),
]
