"""default_collate / default_convert against torch.utils.data's on the same samples."""
import collections

import numpy as np
import pytest

import ember
from ember.utils.data import default_collate, default_convert
from tests.helpers import need_torch

Point = collections.namedtuple("Point", "x y")


def to_plain(obj):
    """A comparable structure: tensors -> (dtype name, nested lists)."""
    if hasattr(obj, "tolist") and hasattr(obj, "dtype") and not isinstance(obj, np.ndarray):
        return ("tensor", str(obj.dtype).split(".")[-1], obj.tolist())
    if isinstance(obj, np.ndarray):
        return ("ndarray", str(obj.dtype), obj.tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: to_plain(v) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [to_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [to_plain(v) for v in obj])
    return obj


def samples(fw, from_numpy):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    return {
        "tensors": [from_numpy(a + i) for i in range(3)],
        "arrays": [a + i for i in range(3)],
        "ints": [1, 2, 3],
        "bools": [True, False],
        "floats": [1.5, 2.0],
        "np_scalars": [np.float32(1.5), np.float32(2.5)],
        "np_ints": [np.int64(3), np.int64(4)],
        "strings": ["a", "bc"],
        "tuples": [(from_numpy(a), 1, "x"), (from_numpy(a + 1), 2, "y")],
        "lists": [[1, 2.0], [3, 4.0]],
        "dicts": [{"img": from_numpy(a), "label": 1}, {"img": from_numpy(a), "label": 0}],
        "namedtuples": [Point(1, from_numpy(a)), Point(2, from_numpy(a))],
        "nested": [{"p": (1, [2.0, {"q": a}])}, {"p": (3, [4.0, {"q": a}])}],
        "uint8_images": [np.full((2, 2, 3), i, np.uint8) for i in range(4)],
    }


@pytest.mark.parametrize("case", list(samples(None, lambda a: a)))
def test_default_collate_matches_torch(case):
    torch = need_torch()
    from torch.utils.data import default_collate as torch_collate
    ours = default_collate(samples(ember, ember.from_numpy)[case])
    theirs = torch_collate(samples(torch, torch.from_numpy)[case])
    assert to_plain(ours) == to_plain(theirs)


def test_collate_errors():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([ember.zeros(2), ember.zeros(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert_matches_torch():
    torch = need_torch()
    from torch.utils.data import default_convert as torch_convert
    a = np.arange(4.0)
    for sample in [a, (a, 1), {"a": a, "s": "x"}, Point(a, 2), [a, "x"], 3, "s", np.float64(2)]:
        assert to_plain(default_convert(sample)) == to_plain(torch_convert(sample))


def test_collate_keeps_autograd():
    xs = [ember.ones(2, requires_grad=True) for _ in range(3)]
    out = default_collate(xs)
    out.sum().backward()
    assert xs[0].grad.tolist() == [1.0, 1.0]
