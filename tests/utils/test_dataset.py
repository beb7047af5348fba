"""Datasets and random_split, checked against torch.utils.data where the semantics are fixed."""
import numpy as np
import pytest

import ember
from ember.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                              Subset, TensorDataset, random_split)
from tests.helpers import need_torch


class Range(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i


class Stream(IterableDataset):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __iter__(self):
        return iter(range(self.lo, self.hi))

    def __len__(self):
        return self.hi - self.lo


def test_tensor_dataset():
    x = ember.arange(12).reshape(6, 2)
    y = ember.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert a.tolist() == [8, 9] and b.item() == 4
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(x, ember.arange(5))


def test_concat_dataset_matches_torch():
    torch = need_torch()
    parts = [Range(3), Range(0), Range(5)]
    ours = ConcatDataset(parts)
    theirs = torch.utils.data.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 8
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]
    assert (Range(2) + Range(2))[3] == 1


def test_subset_and_stack_dataset():
    sub = Subset(Range(10), [9, 1, 4])
    assert [sub[i] for i in range(3)] == [9, 1, 4]
    assert sub.__getitems__([2, 0]) == [4, 9]
    st = StackDataset(Range(3), Range(3))
    assert st[2] == (2, 2)
    st = StackDataset(a=Range(3), b=Range(3))
    assert st[1] == {"a": 1, "b": 1}
    with pytest.raises(ValueError):
        StackDataset(Range(3), Range(4))


def test_chain_dataset():
    chain = Stream(0, 3) + Stream(10, 12)
    assert isinstance(chain, ChainDataset)
    assert list(chain) == [0, 1, 2, 10, 11]
    assert len(chain) == 5


def test_random_split_lengths_and_fractions():
    torch = need_torch()
    g = ember.Generator().manual_seed(0)
    parts = random_split(Range(10), [3, 7], generator=g)
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    # fractions: floor then round-robin remainder, exactly like torch
    for n, fracs in [(10, [0.5, 0.5]), (11, [0.3, 0.3, 0.4]), (7, [0.1, 0.9])]:
        ours = [len(p) for p in random_split(Range(n), fracs, generator=g)]
        theirs = [len(p) for p in torch.utils.data.random_split(Range(n), fracs)]
        assert ours == theirs
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(Range(10), [3, 3])


def test_random_split_is_seeded():
    a = random_split(Range(50), [0.2, 0.8], generator=ember.Generator().manual_seed(7))
    b = random_split(Range(50), [0.2, 0.8], generator=ember.Generator().manual_seed(7))
    c = random_split(Range(50), [0.2, 0.8], generator=ember.Generator().manual_seed(8))
    assert a[0].indices == b[0].indices != c[0].indices
    ember.manual_seed(3)
    d = random_split(Range(50), [10, 40])
    ember.manual_seed(3)
    assert random_split(Range(50), [10, 40])[0].indices == d[0].indices
