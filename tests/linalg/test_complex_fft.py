"""complex64/complex128 tensors and ember.fft against torch: values, gradients in PyTorch's
conjugate Wirtinger convention (vs torch autograd and central differences in float64)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.oracle import check

rng = np.random.RandomState(21)


def cplx(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def real(*shape):
    return rng.standard_normal(shape)


COMPLEX_CASES = {
    "arith": (lambda lib, a, b: [a + b, a * b, a / b, a - 2 * b, -a, a * 1.5j], [cplx(3), cplx(3)]),
    "unary": (lambda lib, a: [a.exp(), a.log(), a.sin(), a.cos(), a.tanh(), a.sqrt(),
                              a.reciprocal()], [cplx(2, 3)]),
    "pow": (lambda lib, a: [a ** 2, a ** 3.5, a * a.conj()], [cplx(4)]),
    "non_holomorphic": (lambda lib, a: [a.abs(), a.real, a.imag, a.angle(), a.conj(),
                                        lib.view_as_real(a)], [cplx(2, 3)]),
    "mixed_real": (lambda lib, a, x: [a * x, x / a, (a + x).abs()], [cplx(3), real(3)]),
    "construct": (lambda lib, x, y: [lib.complex(x, y), lib.polar(x.abs() + 0.5, y),
                                     lib.view_as_complex(lib.stack([x, y], -1))],
                  [real(2, 3), real(2, 3)]),
    "reductions": (lambda lib, a: [a.sum(), a.sum(0), a.mean(1), a.prod(1), a.cumsum(0)],
                   [cplx(3, 4)]),
    "matmul": (lambda lib, a, b: [a @ b, lib.matmul(a @ b, (a @ b).conj().transpose(0, 1))],
               [cplx(3, 4), cplx(4, 2)]),
    "shape_ops": (lambda lib, a: [a.reshape(6), a.t(), a[1:, ::2], lib.cat([a, a * 2], 0),
                                  a.flip(0), a.roll(1, 1)], [cplx(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_CASES))
def test_complex_against_torch(name):
    fn, arrays = COMPLEX_CASES[name]
    check(fn, *arrays)


def test_complex_dtypes_and_creation():
    torch = pytest.importorskip("torch")
    assert ember.tensor([1 + 2j]).dtype is ember.complex64
    assert ember.zeros(2, dtype=ember.complex128).dtype is ember.complex128
    assert (ember.ones(2, dtype=ember.float64) * 1j).dtype is ember.complex128
    assert ember.promote_types(ember.complex64, ember.float64) is ember.complex128
    assert ember.tensor([1j]).is_complex() and not ember.tensor([1.0]).is_complex()
    for v in ([1 + 2j, 3 - 1j], [0.5 + 1e-5j, 2j]):
        assert repr(ember.tensor(v)) == repr(torch.tensor(v))
    x = ember.tensor([1.0 + 1j], requires_grad=True)
    assert x.requires_grad


FFT_1D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
FFT_ND = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn", "hfft2",
          "ihfft2", "hfftn", "ihfftn"]


def _input_for(name, shape):
    return real(*shape) if name.startswith(("rfft", "ihfft")) else cplx(*shape)


@pytest.mark.parametrize("name", FFT_1D)
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_fft_1d(name, norm):
    x = _input_for(name, (2, 6))
    check(lambda lib, x: getattr(lib.fft, name)(x, norm=norm), x)
    check(lambda lib, x: getattr(lib.fft, name)(x, n=5, dim=0, norm=norm), x, fd=False)
    check(lambda lib, x: getattr(lib.fft, name)(x, n=9, norm=norm), x, fd=False)
    check(lambda lib, x: getattr(lib.fft, name)(x), real(5), fd=False)   # real input promoted


@pytest.mark.parametrize("name", FFT_ND)
def test_fft_nd(name):
    x = _input_for(name, (3, 4, 5))
    check(lambda lib, x: getattr(lib.fft, name)(x), x, fd=name.endswith("2"))
    check(lambda lib, x: getattr(lib.fft, name)(x, s=(3, 6), norm="ortho"), x, fd=False)
    if name.endswith("n"):
        check(lambda lib, x: getattr(lib.fft, name)(x, dim=(0, 2), norm="forward"), x, fd=False)


def test_fft_helpers():
    torch = pytest.importorskip("torch")
    check(lambda lib, x: [lib.fft.fftshift(x), lib.fft.ifftshift(x), lib.fft.fftshift(x, dim=1),
                          lib.fft.ifftshift(x, dim=(0,))], cplx(3, 4))
    for n in (1, 4, 7):
        for d in (1.0, 0.25):
            np.testing.assert_allclose(ember.fft.fftfreq(n, d).numpy(),
                                       torch.fft.fftfreq(n, d).numpy())
            np.testing.assert_allclose(ember.fft.rfftfreq(n, d).numpy(),
                                       torch.fft.rfftfreq(n, d).numpy())
    with pytest.raises(RuntimeError, match="expects a real input"):
        ember.fft.rfft(ember.tensor([1j]))
    with pytest.raises(ValueError, match="Invalid normalization"):
        ember.fft.fft(ember.ones(3), norm="bad")
    assert ember.fft.fft(ember.arange(4)).dtype is ember.complex64
