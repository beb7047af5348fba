"""Small datasets for DataLoader tests (module-level, so spawn-started workers can import them)."""
import os
import signal
import time

import numpy as np

import ember
from ember.utils.data import Dataset, IterableDataset, get_worker_info


class Squares(Dataset):
    """Sample i: (float32 tensor filled with i, of shape `shape`; the int i)."""

    def __init__(self, n, shape=(3, 8, 8)):
        self.n, self.shape = n, shape

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return ember.from_numpy(np.full(self.shape, i, np.float32)), i


class Sharded(IterableDataset):
    """range(lo, hi), split between workers in contiguous (uneven) shards."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __len__(self):
        return self.hi - self.lo

    def __iter__(self):
        info = get_worker_info()
        lo, hi = self.lo, self.hi
        if info is not None:
            per = -(-(hi - lo) // info.num_workers)
            lo = lo + info.id * per
            hi = min(hi, lo + per)
        return iter(range(lo, hi))


class Faulty(Dataset):
    """Misbehaves at index `bad`: raise, die, segfault, hang or exit."""

    def __init__(self, n, bad, how, delay=0.0):
        self.n, self.bad, self.how, self.delay = n, bad, how, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        if i == self.bad:
            if self.how == "raise":
                raise ValueError(f"bad sample {i}")
            if self.how == "keyerror":
                raise KeyError(i)
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "segfault":
                import ctypes
                import faulthandler
                faulthandler.disable()  # keep test output clean
                ctypes.string_at(0)
            if self.how == "hang":
                time.sleep(60)
            if self.how == "exit":
                os._exit(3)
        return np.full((4,), i, np.float32)


class Slow(Dataset):
    def __init__(self, n, delay):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.delay)
        return i


def record_worker(worker_id):
    info = get_worker_info()
    assert info.id == worker_id
    os.environ["EMBER_TEST_WORKER"] = str(worker_id)
