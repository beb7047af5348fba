"""ember.multiprocessing: share_memory_/is_shared, tensors through Queue/Pipe/Process arguments as
shared memory, spawn(), and the Hogwild example."""
import importlib.util
import os
import pathlib

import numpy as np
import pytest

import ember
import ember.multiprocessing as mp
from ember.runtime import shared_memory as shared

pytestmark = pytest.mark.hard_timeout(30)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_share_memory_in_place_keeps_values_and_layout():
    t = ember.arange(12.0).reshape(3, 4).t()  # non-contiguous
    assert not t.is_shared()
    strides = t.stride()
    assert t.share_memory_() is t
    assert t.is_shared() and t.stride() == strides
    assert t.tolist() == ember.arange(12.0).reshape(3, 4).t().tolist()
    arr = t.numpy()
    assert t.share_memory_() is t and t.numpy() is arr  # idempotent
    e = ember.zeros(0).share_memory_()
    assert e.is_shared() and e.shape == (0,)


def test_share_memory_of_a_view_moves_its_owner_too():
    base = ember.arange(10.0)
    view = base[2:5]
    view.share_memory_()
    assert view.is_shared() and base.is_shared()
    view.add_(100)
    assert base.tolist()[:6] == [0, 1, 102, 103, 104, 5]


def test_module_share_memory():
    model = ember.nn.Linear(3, 2)
    model.share_memory()
    assert all(p.is_shared() for p in model.parameters())


def _child_add_one(q_in, q_out):
    t = q_in.get()
    t.add_(1)  # in place on the shared memory the parent also maps
    fresh = ember.full((2, 3), 7.0)
    q_out.put((fresh, ember.nn.Parameter(ember.ones(2))))
    q_in.get()  # wait until the parent is done


def test_queue_passes_tensors_through_shared_memory():
    ctx = mp.get_context("fork")
    q_in, q_out = ctx.Queue(), ctx.Queue()
    t = ember.zeros(4)
    p = ctx.Process(target=_child_add_one, args=(q_in, q_out))
    p.start()
    try:
        q_in.put(t)
        fresh, param = q_out.get(timeout=10)
        # as in PyTorch, sending moved t to shared memory in place (in the queue's feeder thread)
        assert t.is_shared()
        assert t.tolist() == [1.0] * 4  # the child's in-place update is visible here
        assert fresh.is_shared() and fresh.tolist() == [[7.0] * 3] * 2
        assert isinstance(param, ember.nn.Parameter) and param.requires_grad
        q_in.put(None)
        p.join(10)
        assert p.exitcode == 0
    finally:
        if p.is_alive():
            p.kill()
            p.join()
        q_in.close(), q_out.close()


def test_pipe_round_trip_preserves_views():
    a, b = mp.Pipe()
    base = ember.arange(20.0).reshape(4, 5)
    a.send((base, base[1:, ::2]))
    got_base, got_view = b.recv()
    assert got_view.tolist() == base[1:, ::2].tolist()
    got_base.mul_(0)  # same memory as the sender's tensor
    assert base.sum().item() == 0 and got_view.sum().item() == 0
    a.close(), b.close()


def test_non_leaf_requiring_grad_is_refused():
    x = ember.ones(2, requires_grad=True) * 2
    a, b = mp.Pipe()
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        a.send(x)
    a.close(), b.close()


def _spawned_fill(t, value):
    t.fill_(value)


def test_spawned_process_shares_tensor_arguments():
    ctx = mp.get_context("spawn")
    t = ember.zeros(3)
    p = ctx.Process(target=_spawned_fill, args=(t, 5.0))
    p.start()
    p.join(20)
    assert p.exitcode == 0 and t.tolist() == [5.0, 5.0, 5.0]


def _rank_writer(rank, t):
    t[rank] = rank + 1.0


def _rank_fails(rank):
    if rank == 1:
        raise ValueError("rank 1 failed")


def test_spawn_helper():
    t = ember.zeros(2).share_memory_()
    mp.spawn(_rank_writer, args=(t,), nprocs=2, start_method="fork")
    assert t.tolist() == [1.0, 2.0]
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 failed"):
        mp.spawn(_rank_fails, nprocs=2, start_method="fork")


def test_segments_are_anonymous():
    before = set(os.listdir("/dev/shm"))
    buf = shared.create(1 << 20)
    assert set(os.listdir("/dev/shm")) == before
    assert len(buf) == 1 << 20
    del buf


def test_hogwild_example_trains_a_shared_model():
    spec = importlib.util.spec_from_file_location("hogwild", ROOT / "examples" / "hogwild.py")
    hogwild = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hogwild)
    before, after = hogwild.main(num_processes=2, epochs=2, start_method="fork")
    assert after < 0.5 * before, (before, after)
