"""Bad input raises errors that name the shapes, dtypes and devices involved, in PyTorch's words
where PyTorch has words for it.  Each case runs on both libraries: the same exception type, and
ember's message matches the pattern (which PyTorch's message matches too, where marked)."""
from __future__ import annotations

import pytest

import ember
from tests.helpers import need_torch

# name: (fn(lib), exception type, regex, torch_matches_too)
CASES = {
    "add_shapes": (lambda lib: lib.ones(2, 3) + lib.ones(4), RuntimeError,
                   r"The size of tensor a \(3\) must match the size of tensor b \(4\) at "
                   r"non-singleton dimension 1", True),
    "mul_shapes_3d": (lambda lib: lib.ones(2, 3, 4) * lib.ones(5, 1), RuntimeError,
                      r"The size of tensor a \(3\) must match the size of tensor b \(5\) at "
                      r"non-singleton dimension 1", True),
    "where_shapes": (lambda lib: lib.where(lib.ones(2, dtype=lib.bool), lib.ones(3), 0.0),
                     RuntimeError, r"The size of tensor a \(2\) must match the size of tensor "
                                   r"b \(3\) at non-singleton dimension 0", True),
    "where_cond_dtype": (lambda lib: lib.where(lib.ones(2), lib.ones(2), lib.ones(2)),
                         RuntimeError, r"where expected condition to be a boolean tensor, but "
                                       r"got a tensor with dtype Float", True),
    "matmul_shapes": (lambda lib: lib.ones(2, 3) @ lib.ones(4, 5), RuntimeError,
                      r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)", True),
    "matmul_dtypes": (lambda lib: lib.ones(2, 3) @ lib.ones(3, 2, dtype=lib.float64),
                      RuntimeError, r"expected m1 and m2 to have the same dtype, but got: float "
                                    r"!= double", True),
    "matmul_dtypes_long_half": (lambda lib: lib.ones(2, 3, dtype=lib.int64) @ lib.ones(
        3, 2, dtype=lib.float16), RuntimeError, r"expected m1 and m2 to have the same dtype, but "
                                                r"got: long int != c10::Half", True),
    "bmm_dtypes": (lambda lib: lib.ones(2, 2, 2).bmm(lib.ones(2, 2, 2, dtype=lib.float64)),
                   RuntimeError, r"expected scalar type Float but found Double", True),
    "dot_dtypes": (lambda lib: lib.ones(3) @ lib.ones(3, dtype=lib.float64), RuntimeError,
                   r"dot : expected both vectors to have same dtype, but found Float and Double",
                   True),
    "matmul_0d": (lambda lib: lib.ones(()) @ lib.ones(2), RuntimeError,
                  r"both arguments to matmul need to be at least 1D, but they are 0D and 1D",
                  True),
    "dot_sizes": (lambda lib: lib.ones(3) @ lib.ones(4), RuntimeError,
                  r"inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the "
                  r"same number of elements, but got 3 and 4 elements respectively", True),
    "bmm_batch": (lambda lib: lib.bmm(lib.ones(2, 3, 4), lib.ones(3, 4, 5)), RuntimeError,
                  r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but "
                  r"got: \[3, 4\]", True),
    "mm_rank": (lambda lib: lib.mm(lib.ones(2), lib.ones(2, 2)), RuntimeError,
                r"self must be a matrix", True),
    "view_numel": (lambda lib: lib.ones(2, 3).view(4), RuntimeError,
                   r"shape '\[4\]' is invalid for input of size 6", True),
    "reshape_numel": (lambda lib: lib.ones(2, 3).reshape(-1, 4), RuntimeError,
                      r"shape '\[-1, 4\]' is invalid for input of size 6", True),
    "expand_size": (lambda lib: lib.ones(2, 3).expand(4, 3), RuntimeError,
                    r"The expanded size of the tensor \(4\) must match the existing size \(2\) at "
                    r"non-singleton dimension 0", True),
    "expand_fewer": (lambda lib: lib.ones(2, 3).expand(3), RuntimeError,
                     r"the number of sizes provided \(1\) must be greater or equal to the number "
                     r"of dimensions in the tensor \(2\)", True),
    "cat_sizes": (lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]), RuntimeError,
                  r"Sizes of tensors must match except in dimension 0. Expected size 3 but got "
                  r"size 4 for tensor number 1 in the list", True),
    "cat_ranks": (lambda lib: lib.cat([lib.ones(2, 3), lib.ones(3)]), RuntimeError,
                  r"Tensors must have same number of dimensions: got 2 and 1", True),
    "cat_empty_list": (lambda lib: lib.cat([]), ValueError,
                       r"expected a non-empty list of Tensors", True),
    "stack_sizes": (lambda lib: lib.stack([lib.ones(2), lib.ones(3)]), RuntimeError,
                    r"stack expects each tensor to be equal size, but got \[2\] at entry 0 and "
                    r"\[3\] at entry 1", True),
    "dim_range": (lambda lib: lib.ones(2, 3).sum(2), IndexError,
                  r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
                  True),
    "dim_range_neg": (lambda lib: lib.ones(2, 3).softmax(-3) if lib is not ember else
                      lib.ones(2, 3).cumsum(-3), IndexError,
                      r"Dimension out of range \(expected to be in range of \[-2, 1\], but got "
                      r"-3\)", True),
    "transpose_range": (lambda lib: lib.ones(2).transpose(0, 1), IndexError,
                        r"Dimension out of range \(expected to be in range of \[-1, 0\], but got "
                        r"1\)", True),
    "unsqueeze_range": (lambda lib: lib.ones(2).unsqueeze(3), IndexError,
                        r"Dimension out of range \(expected to be in range of \[-2, 1\], but got "
                        r"3\)", True),
    "permute_len": (lambda lib: lib.ones(2, 3).permute(0), RuntimeError,
                    r"number of dimensions in the tensor input does not match the length of the "
                    r"desired ordering of dimensions", True),
    "t_3d": (lambda lib: lib.ones(2, 3, 4).t(), RuntimeError,
             r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D", True),
    "narrow_oob": (lambda lib: lib.ones(4).narrow(0, 2, 3), RuntimeError,
                   r"start \(2\) \+ length \(3\) exceeds dimension size \(4\)", True),
    "split_sizes": (lambda lib: lib.ones(5).split([2, 2]), RuntimeError,
                    r"split_with_sizes expects split_sizes to sum exactly to 5", True),
    "mean_int": (lambda lib: lib.ones(3, dtype=lib.int64).mean(), RuntimeError,
                 r"mean\(\): could not infer output dtype. Input dtype must be either a floating "
                 r"point or complex dtype. Got: Long", True),
    "max_empty": (lambda lib: lib.ones(0).max(), RuntimeError,
                  r"max\(\): Expected reduction dim to be specified for input.numel\(\) == 0",
                  True),
    "argmax_empty_dim": (lambda lib: lib.ones(0, 3).argmax(0), IndexError,
                         r"argmax\(\): Expected reduction dim 0 to have non-zero size", True),
    "amax_empty": (lambda lib: lib.ones(0, 3).amax(0), IndexError,
                   r"amax\(\): Expected reduction dim 0 to have non-zero size", True),
    "item_many": (lambda lib: lib.ones(2).item(), RuntimeError,
                  r"a Tensor with 2 elements cannot be converted to Scalar", True),
    "bool_many": (lambda lib: bool(lib.ones(2)), RuntimeError,
                  r"Boolean value of Tensor with more than one value is ambiguous", True),
    "len_0d": (lambda lib: len(lib.ones(())), TypeError, r"len\(\) of a 0-d tensor", True),
    "iter_0d": (lambda lib: iter(lib.ones(())), TypeError, r"iteration over a 0-d tensor", True),
    "bitwise_float": (lambda lib: lib.ones(2) & lib.ones(2), RuntimeError,
                      r"\"bitwise_and_cpu\" not implemented for 'Float'", True),
    "sub_bool": (lambda lib: lib.ones(2, dtype=lib.bool) - lib.ones(2, dtype=lib.bool),
                 RuntimeError, r"Subtraction, the `-` operator, with two bool tensors is not "
                               r"supported", True),
    "int_pow_neg": (lambda lib: lib.tensor([2, 3]) ** -1, RuntimeError,
                    r"Integers to negative integer powers are not allowed", True),
    "int_div_zero": (lambda lib: lib.tensor([1]) // 0, RuntimeError, r"ZeroDivisionError", True),
    "inplace_int_float": (lambda lib: lib.ones(2, dtype=lib.int64).mul_(0.5), RuntimeError,
                          r"result type Float can't be cast to the desired output type Long",
                          True),
    "masked_fill_mask_dtype": (lambda lib: lib.ones(2).masked_fill(lib.ones(2), 0.0),
                               RuntimeError, r"masked_fill_ only supports boolean masks, but got "
                                             r"mask with dtype float", True),
    "gather_index_dtype": (lambda lib: lib.ones(2).gather(0, lib.zeros(2, dtype=lib.int16)),
                           RuntimeError, r"gather\(\): Expected dtype int32/int64 for index",
                           True),
    "index_oob": (lambda lib: lib.ones(3)[5], IndexError,
                  r"index 5 is out of bounds for dimension 0 with size 3", True),
    "index_float": (lambda lib: lib.ones(3)[lib.tensor([0.5])], IndexError,
                    r"tensors used as indices must be long, int, byte or bool tensors", True),
    "topk_k": (lambda lib: lib.ones(3).topk(4), RuntimeError, r"selected index k out of range",
               True),
    "chunk_zero": (lambda lib: lib.ones(3).chunk(0), RuntimeError,
                   r"chunk expects `chunks` to be greater than 0, got: 0", True),
    "device_cuda": (lambda lib: lib.ones(2).to("cuda") if lib is ember else
                    lib.ones(2, device="cuda"), (RuntimeError, AssertionError),
                    r"CUDA|cuda|NVIDIA", True),
    "device_bad": (lambda lib: lib.device("tpu"), RuntimeError,
                   r"Expected one of cpu, cuda, .*device type at start of device string: tpu",
                   True),
    "requires_grad_int": (lambda lib: lib.ones(2, dtype=lib.int64, requires_grad=True),
                          RuntimeError, r"Only Tensors of floating point and complex dtype can "
                                        r"require gradients|only Tensors of floating point dtype "
                                        r"can require gradients", True),
    "scalar_type": (lambda lib: lib.ones(2) + "a", TypeError, r"", True),
    "masked_fill_overflow": (lambda lib: lib.ones(2, dtype=lib.int8).masked_fill(
        lib.ones(2, dtype=lib.bool), 300), RuntimeError, r"value cannot be converted to type "
                                                          r"int8_t without overflow", True),
    "floor_divide_bool": (lambda lib: lib.ones(2, dtype=lib.bool) // lib.ones(2, dtype=lib.bool),
                          NotImplementedError, r"\"div_floor_cpu\" not implemented for 'Bool'",
                          True),
    "pow_bool": (lambda lib: lib.ones(2, dtype=lib.bool) ** lib.ones(2, dtype=lib.bool),
                 NotImplementedError, r"\"pow\" not implemented for 'Bool'", True),
    "index_put_dtypes": (lambda lib: lib.zeros(3).index_put((lib.tensor([0]),), lib.ones(
        1, dtype=lib.float64)), RuntimeError, r"Index put requires the source and destination "
                                              r"dtypes match, got Float for the destination and "
                                              r"Double for the source.", True),
    "clamp_none": (lambda lib: lib.ones(2).clamp(), RuntimeError,
                   r"At least one of 'min' or 'max' must not be None", True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_matches_torch(name):
    torch = need_torch()
    fn, exc, pattern, torch_too = CASES[name]
    with pytest.raises(exc) as t_info:
        fn(torch)
    if torch_too:
        assert t_info.match(pattern), f"torch now says: {t_info.value}"
    with pytest.raises(exc, match=pattern):
        fn(ember)


def test_primitive_infer_errors_name_shapes_and_dtypes():
    from ember.ops import ADD, MATMUL, ShapeError
    from ember.ops.registry import Meta
    a, b = Meta((2, 3), ember.float32), Meta((3,), ember.int64)
    with pytest.raises(ShapeError, match=r"add: operand shapes differ.*f32\[2,3\], i64\[3\]"):
        ADD.infer(a, b)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(2x3 and 2x3\)"):
        MATMUL.infer(a, a)


def test_failed_numpy_rule_is_explained_with_shapes():
    from ember.ops import ADD
    with pytest.raises(RuntimeError, match=r"add: .*f32\[2,3\].*f32\[4\]|shapes"):
        ADD(ember.ones(2, 3), ember.ones(4))
