"""Samplers: orders, lengths, determinism and PyTorch's argument checks."""
import collections

import numpy as np
import pytest

import ember
from ember.utils.data import (BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler,
                              WeightedRandomSampler)
from tests.helpers import need_torch


def test_sequential():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert len(SequentialSampler(range(5))) == 5


def test_random_sampler_permutation_and_seed():
    s = RandomSampler(range(100), generator=ember.Generator().manual_seed(1))
    order = list(s)
    assert sorted(order) == list(range(100)) and order != list(range(100))
    assert list(RandomSampler(range(100), generator=ember.Generator().manual_seed(1))) == order
    assert list(s) != order  # a new permutation each epoch
    ember.manual_seed(5)
    a = list(RandomSampler(range(30)))
    ember.manual_seed(5)
    assert list(RandomSampler(range(30))) == a


def test_random_sampler_num_samples_and_replacement():
    g = ember.Generator().manual_seed(0)
    s = RandomSampler(range(10), num_samples=25, generator=g)
    out = list(s)
    assert len(out) == len(s) == 25
    assert collections.Counter(out[:20]) == collections.Counter(list(range(10)) * 2)
    s = RandomSampler(range(4), replacement=True, num_samples=70, generator=g)
    out = list(s)
    assert len(out) == 70 and set(out) <= set(range(4))
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(4), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(4), replacement=1)


def test_subset_random_sampler():
    idx = [5, 7, 9, 11]
    out = list(SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0)))
    assert sorted(out) == idx and len(SubsetRandomSampler(idx)) == 4


def test_weighted_random_sampler():
    g = ember.Generator().manual_seed(0)
    s = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g)
    counts = collections.Counter(s)
    assert counts[0] == 0 and 2.5 < counts[2] / counts[1] < 3.6
    out = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=g))
    assert sorted(out) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0]], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)


@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                             (2, 5, False), (2, 5, True), (0, 2, False)])
def test_batch_sampler_matches_torch(n, bs, drop_last):
    torch = need_torch()
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs,
                                           drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_batch_sampler_checks():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, 0)
