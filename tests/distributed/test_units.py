"""Single-process parts of ember.distributed (no MPI job): the sampler against torch's, bucket
assignment, argument checks and error messages, backward's early post-accumulate hooks."""
import subprocess
import sys

import numpy as np
import pytest

import ember
import ember.distributed as dist
from ember.distributed import ReduceOp
from ember.distributed import reduce_ops as ro
from ember.nn.parallel.distributed import assign_buckets
from ember.utils.data import DistributedSampler

from .launch import ROOT, rank_env


@pytest.mark.parametrize("n,replicas", [(10, 3), (7, 2), (8, 4), (2, 4), (1, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_partitions_like_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    # shuffled: torch's partitioning of the same permutation (ember's generator draws it)
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, seed=5, drop_last=drop_last)
        ours.set_epoch(3)
        perm = ember.randperm(n, generator=ember.Generator().manual_seed(8)).tolist()

        class Permuted(TorchSampler):
            def __iter__(self):
                with_perm = torch.randperm
                torch.randperm = lambda *a, **k: torch.tensor(perm)
                try:
                    return super().__iter__()
                finally:
                    torch.randperm = with_perm
        theirs = Permuted(data, replicas, rank, seed=5, drop_last=drop_last)
        assert list(ours) == list(theirs)


def test_sampler_epochs_and_errors():
    a = DistributedSampler(range(20), 2, 0)
    first = list(a)
    assert list(a) == first                       # same epoch, same order
    a.set_epoch(1)
    assert list(a) != first
    both = list(DistributedSampler(range(20), 2, 0, seed=1)) + \
        list(DistributedSampler(range(20), 2, 1, seed=1))
    assert sorted(both) == list(range(20))        # the ranks' shares are disjoint and cover all
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), 2, 2)
    with pytest.raises(RuntimeError, match="not initialized"):
        DistributedSampler(range(4))


class _P:
    def __init__(self, n, dtype=np.float32):
        self._data = np.zeros(n, dtype)
        self.dtype = dtype

    def numel(self):
        return self._data.size


def test_bucket_assignment():
    ps = [_P(100), _P(300), _P(50), _P(1000)]
    sizes = lambda buckets: [[ps.index(p) for p in b] for b in buckets]
    assert sizes(assign_buckets(ps, 25 << 20)) == [[3, 2, 1, 0]]      # reverse order, one bucket
    assert sizes(assign_buckets(ps, 1)) == [[3], [2], [1], [0]]       # smaller than a parameter
    # a bucket closes once it reaches the cap: 200 + 1200 bytes fill one, 400 starts the next
    assert sizes(assign_buckets(ps, 1400, first_cap_bytes=4000)) == [[3], [2, 1], [0]]
    mixed = [_P(10), _P(10, np.float64), _P(10)]
    assert [[mixed.index(p) for p in b] for b in assign_buckets(mixed, 1 << 20)] == [[2, 0], [1]]


def test_reduce_op_rules():
    assert ro.normalize(ReduceOp.AVG, np.float32) is ReduceOp.SUM
    assert ro.normalize(ReduceOp.SUM, np.bool_) is ReduceOp.MAX     # bool: logical or
    assert ro.normalize(ReduceOp.PRODUCT, np.bool_) is ReduceOp.MIN
    with pytest.raises(ValueError, match="AVG is only supported for floating-point"):
        ro.normalize(ReduceOp.AVG, np.int32)
    with pytest.raises(ValueError, match="BAND is only supported for integer"):
        ro.normalize(ReduceOp.BAND, np.float16)
    with pytest.raises(TypeError, match="must be a ReduceOp"):
        ro.normalize("sum", np.float32)


def test_not_initialized_errors():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(ember.ones(2))
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("ucc")
    with pytest.raises(RuntimeError, match="backend='nccl'.*not implemented"):
        dist.init_process_group("nccl")
    assert not dist.is_nccl_available()


def test_missing_mpi4py_says_what_to_install(monkeypatch):
    from ember.distributed import _mpi
    monkeypatch.setattr(_mpi, "_MPI", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)     # import mpi4py raises ImportError
    assert not dist.is_available()
    with pytest.raises(RuntimeError, match=r"pip install ember\[distributed\]"):
        _mpi.mpi()


def test_world_size_without_a_launcher_is_a_clear_error():
    pytest.importorskip("mpi4py")
    code = ("import ember.distributed as d\n"
            "try:\n    d.init_process_group('mpi', world_size=2)\n"
            "except d.DistNetworkError as e:\n    print('ERR', e)\n"
            "d.init_process_group('gloo', world_size=1, rank=0)\n"   # alone: a world of one
            "import ember; t = ember.ones(3); d.all_reduce(t, op=d.ReduceOp.AVG)\n"
            "print('OK', d.get_world_size(), t.tolist())\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=rank_env(),
                          capture_output=True, text=True, timeout=60)
    assert "ERR init_process_group: world_size=2, but MPI started this process alone" in \
        proc.stdout, proc.stderr
    assert "ember.distributed.run --nproc-per-node 2" in proc.stdout
    assert "OK 1 [1.0, 1.0, 1.0]" in proc.stdout, proc.stderr


def test_post_accumulate_hooks_run_as_soon_as_a_leaf_is_ready():
    """DDP's overlap rests on this: a leaf's hook runs before backward reaches earlier layers."""
    events = []

    class Mark(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            events.append("middle of backward")
            return g

    w1 = ember.randn(3, 3, requires_grad=True)
    w2 = ember.randn(3, 3, requires_grad=True)
    for name, w in (("w1", w1), ("w2", w2)):
        w.register_post_accumulate_grad_hook(
            lambda p, name=name: events.append((name, p.grad is not None)))
    x = ember.randn(2, 3)
    (Mark.apply(x @ w1) @ w2).sum().backward()
    assert events == [("w2", True), "middle of backward", ("w1", True)]
    np.testing.assert_allclose(w1.grad.numpy(), (x.numpy().T @ np.ones((2, 3)) @
                                                 w2.detach().numpy().T), rtol=1e-5)


def test_timeout_argument():
    from ember.distributed.process_group import DEFAULT_TIMEOUT, _seconds
    import datetime
    assert _seconds(None) == DEFAULT_TIMEOUT.total_seconds() == 1800
    assert _seconds(datetime.timedelta(seconds=90)) == 90 and _seconds(2.5) == 2.5
    with pytest.raises(ValueError, match="timeout must be positive"):
        _seconds(0)
