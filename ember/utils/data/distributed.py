"""DistributedSampler: each rank reads its own share of a dataset (torch.utils.data.distributed).

The partitioning is torch's: the (optionally shuffled) index list is padded by repeating its
start (or cut, with ``drop_last``) to a multiple of ``num_replicas``, and rank r takes every
``num_replicas``-th index from position r.  The shuffle is a permutation from an ember.Generator
seeded with ``seed + epoch`` (identical on every rank; ember's streams are not PyTorch's numbers).
"""
from __future__ import annotations

import math

from . import _rng
from .sampler import Sampler


class DistributedSampler(Sampler):
    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the "
                                   "default process group's, which is not initialized (call "
                                   "ember.distributed.init_process_group or pass them)")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _order(self):
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        import ember
        return _rng.randperm(n, ember.Generator().manual_seed(self.seed + self.epoch))

    def __iter__(self):
        indices = self._order()
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        own = indices[self.rank:self.total_size:self.num_replicas]
        assert len(own) == self.num_samples
        return iter(own)

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """A new shuffle for this epoch (call it before iterating, with the same epoch on every
        rank)."""
        self.epoch = epoch
