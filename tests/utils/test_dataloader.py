"""DataLoader behaviour: batching, ordering/determinism across num_workers, iterable sharding,
persistent workers, shared-memory batches, and agreement with torch.utils.data.DataLoader."""
import collections
import multiprocessing
import os

import numpy as np
import pytest

import ember
from ember.utils.data import (DataLoader, Dataset, IterableDataset, SequentialSampler,
                              TensorDataset, get_worker_info)
from tests.helpers import need_torch
from tests.utils.datasets import Sharded, Squares

pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")


def labels(loader):
    return [b[1].tolist() for b in loader]


@pytest.mark.parametrize("num_workers", [0, 1, 2, 3])
def test_same_multiset_any_num_workers(num_workers):
    dl = DataLoader(Squares(37), batch_size=5, shuffle=True, num_workers=num_workers)
    got = []
    for x, y in dl:
        assert x.shape[1:] == (3, 8, 8) and x.dtype == ember.float32
        np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0], y.numpy())
        got += y.tolist()
    assert sorted(got) == list(range(37))


def test_seeded_order_equal_across_num_workers():
    orders = {}
    for nw in [0, 1, 2, 3]:
        g = ember.Generator().manual_seed(1234)
        dl = DataLoader(Squares(41), batch_size=4, shuffle=True, num_workers=nw, generator=g)
        orders[nw] = [labels(dl) for _ in range(2)]  # two epochs
    assert orders[0][0] != orders[0][1]
    assert orders[0] == orders[1] == orders[2] == orders[3]
    # the global seed drives shuffling when no generator is given
    runs = []
    for nw in [0, 2]:
        ember.manual_seed(99)
        runs.append(labels(DataLoader(Squares(20), batch_size=3, shuffle=True, num_workers=nw)))
    assert runs[0] == runs[1]


def test_persistent_workers_keep_order_and_processes():
    g = ember.Generator().manual_seed(5)
    ref = DataLoader(Squares(23), batch_size=4, shuffle=True, num_workers=0, generator=g)
    expected = [labels(ref) for _ in range(3)]
    g = ember.Generator().manual_seed(5)
    dl = DataLoader(Squares(23), batch_size=4, shuffle=True, num_workers=2, generator=g,
                    persistent_workers=True)
    got, pids = [], []
    for _ in range(3):
        got.append(labels(dl))
        pids.append([w.pid for w in dl._iterator._workers])
    assert got == expected
    assert pids[0] == pids[1] == pids[2]
    # an epoch abandoned early leaves batches in flight; the next epoch must not see them
    it = iter(dl)
    next(it)
    epoch = labels(dl)
    assert sorted(sum(epoch, [])) == list(range(23))
    del dl, it


def test_matches_torch_for_the_same_sampler_order():
    torch = need_torch()
    order = list(np.random.default_rng(0).permutation(30))
    ours = DataLoader(Squares(30), batch_size=7, sampler=order, num_workers=2)
    tds = [(torch.full((3, 8, 8), i, dtype=torch.float32), i) for i in range(30)]
    theirs = torch.utils.data.DataLoader(tds, batch_size=7, sampler=order, num_workers=0)
    for (x, y), (tx, ty) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        assert y.tolist() == ty.tolist()


@pytest.mark.parametrize("num_workers", [0, 2, 3])
@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (None, False)])
def test_iterable_sharding_matches_torch(num_workers, batch_size, drop_last):
    torch = need_torch()

    class TorchSharded(torch.utils.data.IterableDataset):
        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            lo, hi = 0, 23
            if info is not None:
                per = -(-(hi - lo) // info.num_workers)
                lo, hi = lo + info.id * per, min(hi, lo + info.id * per + per)
            return iter(range(lo, hi))

    ours = DataLoader(Sharded(0, 23), batch_size=batch_size, drop_last=drop_last,
                      num_workers=num_workers)
    theirs = torch.utils.data.DataLoader(TorchSharded(), batch_size=batch_size,
                                         drop_last=drop_last, num_workers=0)
    plain = lambda loader: [b.tolist() if hasattr(b, "tolist") else b for b in loader]  # noqa
    got = plain(ours)
    if num_workers == 0:
        assert got == plain(theirs)
    flat = sum(got, []) if batch_size else got
    if not drop_last:
        assert sorted(flat) == list(range(23))
    # torch interleaves workers round-robin; so do we: compare with torch using workers too
    if num_workers == 2 and batch_size == 4:
        theirs = torch.utils.data.DataLoader(TorchSharded(), batch_size=4, drop_last=drop_last,
                                             num_workers=2)
        assert got == [b.tolist() for b in theirs]


def test_persistent_workers_with_iterable_dataset():
    dl = DataLoader(Sharded(0, 10), batch_size=3, num_workers=2, persistent_workers=True)
    epochs = [sorted(sum((b.tolist() for b in dl), [])) for _ in range(3)]
    assert epochs == [list(range(10))] * 3
    it = iter(dl)
    next(it)  # abandon this epoch early: the next one still sees every sample exactly once
    assert sorted(sum((b.tolist() for b in dl), [])) == list(range(10))
    del dl, it


def test_len():
    assert len(DataLoader(Squares(10), batch_size=3)) == 4
    assert len(DataLoader(Squares(10), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(Squares(10), batch_size=None)) == 10
    assert len(DataLoader(Sharded(0, 10), batch_size=4)) == 3
    assert len(DataLoader(Sharded(0, 10), batch_size=4, drop_last=True)) == 2


def test_batch_size_none_and_batch_sampler():
    dl = DataLoader(Squares(5), batch_size=None, num_workers=2)
    items = list(dl)
    assert [y for _, y in items] == [0, 1, 2, 3, 4]
    assert items[2][0].shape == (3, 8, 8)
    dl = DataLoader(Squares(6), batch_sampler=[[0, 5], [2], [1, 3, 4]], num_workers=2)
    assert labels(dl) == [[0, 5], [2], [1, 3, 4]]


def test_worker_info_seeds_and_init_fn():
    class Info(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            info = get_worker_info()
            return (info.id, info.num_workers, info.seed, int(np.random.randint(1 << 30)),
                    os.environ.get("EMBER_TEST_WORKER", "none"))

    from tests.utils.datasets import record_worker
    g = ember.Generator().manual_seed(0)
    out = list(DataLoader(Info(), batch_size=2, num_workers=2, worker_init_fn=record_worker,
                          generator=g))
    ids = [b[0].tolist() for b in out]
    assert ids == [[0, 0], [1, 1], [0, 0], [1, 1]]
    seeds = {b[0][0].item(): b[2][0].item() for b in out}
    assert seeds[1] == seeds[0] + 1
    assert list(out[0][4]) == ["0", "0"] and list(out[1][4]) == ["1", "1"]
    # numpy is seeded per worker: the two workers draw different numbers, reproducibly
    assert out[0][3].tolist() != out[1][3].tolist()
    g = ember.Generator().manual_seed(0)
    again = list(DataLoader(Info(), batch_size=2, num_workers=2, worker_init_fn=record_worker,
                            generator=g))
    assert [b[3].tolist() for b in again] == [b[3].tolist() for b in out]
    assert get_worker_info() is None


def test_held_batches_are_never_overwritten():
    # the user keeps every batch: shared segments must not be reused under them
    dl = DataLoader(Squares(64, shape=(3, 32, 32)), batch_size=8, num_workers=2)
    held = list(dl)
    for k, (x, y) in enumerate(held):
        assert x.is_shared()
        assert y.tolist() == list(range(8 * k, 8 * k + 8))
        np.testing.assert_array_equal(x.numpy(), np.broadcast_to(
            np.arange(8 * k, 8 * k + 8, dtype=np.float32)[:, None, None, None], x.shape))
    held[0][0].numpy()[:] = -1  # batches are writable, like torch's
    assert held[1][0].numpy().min() >= 8


def test_segments_are_reused_when_batches_are_dropped():
    dl = DataLoader(Squares(400, shape=(3, 32, 32)), batch_size=8, num_workers=2)
    it = iter(dl)
    for x, y in it:
        assert x.numpy()[0, 0, 0, 0] == y[0].item()
        del x, y
        assert len(it._receiver.buffers) <= 2 * 5  # pooled: a handful per worker, not 50
    del it


def test_structures_strings_and_numpy_through_workers():
    class Mixed(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return {"name": f"s{i}", "arr": np.full((64, 64), i, np.float64),
                    "pair": (i, float(i) / 2)}

    out = list(DataLoader(Mixed(), batch_size=3, num_workers=2))
    assert list(out[1]["name"]) == ["s3", "s4", "s5"]
    assert out[1]["arr"].shape == (3, 64, 64) and out[1]["arr"].dtype == ember.float64
    assert out[0]["pair"][0].tolist() == [0, 1, 2]
    assert out[0]["pair"][1].dtype == ember.float64

    def keep_numpy(batch):  # a collate_fn that returns a large NumPy array
        return np.stack([b["arr"] for b in batch])
    out = list(DataLoader(Mixed(), batch_size=2, num_workers=2, collate_fn=keep_numpy))
    assert isinstance(out[2], np.ndarray) and out[2][1, 0, 0] == 5


def test_in_order_false_same_multiset():
    dl = DataLoader(Squares(30), batch_size=4, num_workers=3, in_order=False)
    assert sorted(sum(labels(dl), [])) == list(range(30))


def test_tensor_dataset_with_workers_and_prefetch():
    x = ember.arange(40.0).reshape(20, 2)
    dl = DataLoader(TensorDataset(x, ember.arange(20)), batch_size=6, num_workers=2,
                    prefetch_factor=4)
    xs = [b[0] for b in dl]
    assert ember.cat(xs).tolist() == x.tolist()


def test_pin_memory_warns_on_cpu():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        out = list(DataLoader(Squares(4), batch_size=2, pin_memory=True))
    assert len(out) == 2


def test_spawn_start_method():
    dl = DataLoader(Squares(12), batch_size=4, num_workers=2, multiprocessing_context="spawn")
    assert sum(labels(dl), []) == list(range(12))


def test_without_shared_memory(monkeypatch):
    monkeypatch.setenv("EMBER_DATALOADER_SHM", "0")
    dl = DataLoader(Squares(12, shape=(3, 32, 32)), batch_size=4, num_workers=2)
    out = list(dl)
    assert not out[0][0].is_shared() and out[2][1].tolist() == [8, 9, 10, 11]


def test_argument_checks_match_torch():
    torch = need_torch()
    ds = Squares(4)
    bad = [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
           dict(persistent_workers=True), dict(sampler=[0, 1], shuffle=True),
           dict(batch_sampler=[[0]], batch_size=2), dict(batch_size=None, drop_last=True),
           dict(multiprocessing_context="fork")]
    for kwargs in bad:
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.DataLoader(ds, **kwargs)
        with pytest.raises(ValueError) as ours:
            DataLoader(ds, **kwargs)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="expected unspecified shuffle"):
        DataLoader(Sharded(0, 3), shuffle=True)
    dl = DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        dl.batch_size = 3
