"""DataLoader throughput: ember.utils.data vs torch.utils.data on the same machine, same run.

Workloads (batches of 256 float32 samples of 3x32x32):
  transform  a CIFAR-like map-style dataset: uint8 HWC images -> per-sample Python/NumPy transform
             (scale, horizontal flip on odd indices, normalise, HWC->CHW) -> framework.from_numpy
  tensor     TensorDataset over a preloaded float32 tensor (no transform: loader overhead only)
Each is run with num_workers=0 and 2.  An epoch is timed end to end, worker start-up included
(non-persistent workers, the default), and the loop reads every batch (a sum over one channel),
as training would.  Epochs alternate torch/ember so both see the same machine load (CI boxes are
shared and noisy); the table shows each library's median epoch, the median of the paired
epoch-time ratios (the pass criterion: >= 1), the ratio of the best epochs, and the median CPU
time per epoch (main process + workers), which does not depend on what else the machine runs.

    python benchmarks/bench_dataloader.py            # the table (well under a minute on 2 cores)
    python benchmarks/bench_dataloader.py --quick    # fewer samples/epochs
"""
from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

BATCH = 256
MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], np.float32)


def transform(img_u8, flip):
    """The per-sample Python transform, identical for both libraries."""
    x = img_u8.astype(np.float32) * (1.0 / 255.0)
    if flip:
        x = x[:, ::-1]
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def make_loader(fw_name, workload, num_workers, n):
    if fw_name == "ember":
        import ember as fw
    else:
        import torch as fw
    data_mod = fw.utils.data
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    if workload == "transform":
        images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)

        class Cifar(data_mod.Dataset):
            def __len__(self):
                return n

            def __getitem__(self, i):
                return fw.from_numpy(transform(images[i], i & 1)), int(labels[i])
        dataset = Cifar()
    else:
        x = fw.from_numpy(rng.standard_normal((n, 3, 32, 32), dtype=np.float32))
        dataset = data_mod.TensorDataset(x, fw.from_numpy(labels))
    return data_mod.DataLoader(dataset, batch_size=BATCH, shuffle=True, num_workers=num_workers,
                               generator=fw.Generator().manual_seed(0))


def _cpu_seconds():
    # this process + its reaped children (non-persistent workers are joined every epoch)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_epoch(loader, n):
    """(wall seconds, CPU seconds) of one epoch."""
    c0, t0 = _cpu_seconds(), time.perf_counter()
    seen = 0
    for x, y in loader:
        np.asarray(x.numpy()[:, 0]).sum()  # touch the batch like a training step would
        seen += len(y)
    assert seen == n
    return time.perf_counter() - t0, _cpu_seconds() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args()
    n = BATCH * (20 if args.quick else 40)
    rounds = args.rounds or (3 if args.quick else 10)
    import torch
    torch.set_num_threads(1)  # the loop's own ops stay off the workers' cores, as for ember

    rows, ok = [], True
    for workload in ("transform", "tensor"):
        for workers in (0, 2):
            loaders = {fw: make_loader(fw, workload, workers, n) for fw in ("torch", "ember")}
            for fw in loaders:  # warm-up epoch each (imports, first-touch of the dataset)
                time_epoch(loaders[fw], n)
            times = {"torch": [], "ember": []}
            cpu = {"torch": [], "ember": []}
            # alternate epoch by epoch, so both see the same machine load; single-process epochs
            # are cheap, so they get twice the rounds
            for _ in range(rounds * (2 if workers == 0 else 1)):
                for fw in ("torch", "ember"):
                    wall, cpu_s = time_epoch(loaders[fw], n)
                    times[fw].append(wall)
                    cpu[fw].append(cpu_s)
            best = {fw: n / min(t) for fw, t in times.items()}
            median = {fw: n / sorted(t)[len(t) // 2] for fw, t in times.items()}
            paired = sorted(t / e for t, e in zip(times["torch"], times["ember"]))
            median_ratio = paired[len(paired) // 2]
            cpu_ms = {fw: 1e3 * sorted(c)[len(c) // 2] for fw, c in cpu.items()}
            ok &= median_ratio >= 1.0
            rows.append((workload, workers, median["torch"], median["ember"], median_ratio,
                         best["ember"] / best["torch"], cpu_ms["torch"], cpu_ms["ember"]))
            del loaders

    print(f"DataLoader throughput: batches of {BATCH} float32 3x32x32 samples, {n} samples per "
          f"epoch, {rounds} (workers=2) or {2 * rounds} (workers=0) epochs per library, alternating; "
          f"worker start-up included; "
          f"{os.cpu_count()} CPUs")
    print("samples/s from each library's median epoch; ratio = median of paired epoch-time "
          "ratios (torch/ember); best = ratio of the best epochs")
    print(f"{'workload':<10} {'workers':>7} {'torch samples/s':>16} {'ember samples/s':>16} "
          f"{'ratio':>7} {'best':>6} {'CPU ms/epoch torch':>19} {'ember':>6}")
    for workload, workers, t, e, med, best_ratio, ct, ce in rows:
        print(f"{workload:<10} {workers:>7} {t:>16,.0f} {e:>16,.0f} {med:>6.2f}x "
              f"{best_ratio:>5.2f}x {ct:>19.0f} {ce:>6.0f}")
    print("ember >= torch everywhere (median of paired epochs)" if ok else
          "ember is SLOWER than torch somewhere (median of paired epochs)")


if __name__ == "__main__":
    main()
