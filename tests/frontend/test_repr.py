"""repr(tensor) equals PyTorch's (with 'torch.' read as 'ember.') for the common cases."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.helpers import need_torch

CASES = {
    "float_vec": lambda lib: lib.tensor([1.0, 2.5, -3.25]),
    "float_ints": lambda lib: lib.tensor([1.0, 2.0, -3.0]),
    "float_mat": lambda lib: lib.tensor([[0.1234, 10.5], [-1.0, 3.0]]),
    "float_small": lambda lib: lib.tensor([1e-5, 1.0]),
    "float_big": lambda lib: lib.tensor([1e9, 1.0]),
    "float_special": lambda lib: lib.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
    "float_0d": lambda lib: lib.tensor(3.5),
    "float_0d_int_valued": lambda lib: lib.tensor(2.0),
    "float64": lambda lib: lib.tensor([1.5, 2.0], dtype=lib.float64),
    "float16": lambda lib: lib.tensor([1.5, 2.0], dtype=lib.float16),
    "bfloat16": lambda lib: lib.tensor([1.5, 2.0], dtype=lib.bfloat16),
    "int64": lambda lib: lib.tensor([1, -20, 300]),
    "int32": lambda lib: lib.tensor([[1, 2], [3, 4]], dtype=lib.int32),
    "uint8": lambda lib: lib.tensor([1, 2], dtype=lib.uint8),
    "int8_0d": lambda lib: lib.tensor(5, dtype=lib.int8),
    "bool": lambda lib: lib.tensor([True, False]),
    "bool_mat": lambda lib: lib.tensor([[True], [False]]),
    "empty_1d": lambda lib: lib.tensor([]),
    "empty_2d": lambda lib: lib.zeros(0, 3),
    "empty_int": lambda lib: lib.zeros(0, dtype=lib.int64),
    "empty_2d_int": lambda lib: lib.zeros(2, 0, dtype=lib.int32),
    "requires_grad": lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    "grad_fn": lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 2,
    "grad_fn_sum": lambda lib: (lib.tensor([1.0, 2.0], requires_grad=True) + 1),
    "three_d": lambda lib: lib.arange(12.0).reshape(2, 2, 3),
    "neg_zero": lambda lib: lib.tensor([-0.0, 1.0]),
    "long_vec": lambda lib: lib.arange(30),
    "arange_float": lambda lib: lib.arange(0, 1, 0.125),
    "zeros": lambda lib: lib.zeros(2),
    "nan_only": lambda lib: lib.tensor([float("nan")]),
    "nan_and_zero": lambda lib: lib.tensor([float("nan"), 0.0, 12.5]),
    "sci_mixed": lambda lib: lib.tensor([1e-5, 100.0, 0.0]),
    "summarized": lambda lib: lib.arange(2000.0),
    "summarized_2d": lambda lib: lib.arange(3000).reshape(100, 30),
    "wide_row": lambda lib: lib.linspace(0, 1, 20),
    "Size": lambda lib: lib.zeros(2, 3).shape,
    "dtype": lambda lib: lib.zeros(1).dtype,
    "device": lambda lib: lib.zeros(1).device,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_repr_matches_torch(name):
    torch = need_torch()
    want = repr(CASES[name](torch)).replace("torch.", "ember.")
    got = repr(CASES[name](ember))
    assert got == want


def test_str_and_format():
    x = ember.tensor(2.5)
    assert f"{x:.2f}" == "2.50"
    assert str(ember.tensor([1, 2])) == "tensor([1, 2])"
