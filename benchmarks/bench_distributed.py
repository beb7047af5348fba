"""ember.distributed on 2 ranks of this machine (started through mpiexec by this script).

    python -m benchmarks.bench_distributed            # both parts
    python -m benchmarks.bench_distributed --quick    # fewer repeats

1. all_reduce bus bandwidth, ember.distributed.all_reduce on an ember tensor against raw mpi4py
   ``comm.Allreduce(IN_PLACE, ...)`` on the same buffer (float32 SUM), sizes 4 KiB to 16 MiB.
   Bus bandwidth = 2 (n-1)/n * bytes / time (NCCL's convention).  The two are interleaved (one
   call each per round, after a barrier); the median and the best time per size are reported.
2. Overlap of backward and communication in a DDP step of an MLP (784-1024-1024-1024-10, 2.9M
   parameters, batch 64 per rank): the DDP step (forward + backward with the bucketed all-reduce)
   against forward + backward without communication (``no_sync``) and the all-reduce of the same
   gradients alone, and those two run one after the other (what a step without overlap costs,
   including the wait for the slower rank that the separate timings leave out).

Ranks run single-threaded (OpenBLAS, EMBER_NUM_THREADS): 2 ranks on 2 cores.  Timings on a shared
machine: the load average is printed with the results.
"""
from __future__ import annotations

import os
import subprocess
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "EMBER_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

SIZES = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20]


def _median_time(fn, comm, rounds):
    times = []
    for _ in range(rounds):
        comm.Barrier()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def bandwidth(rounds):
    import ember
    import ember.distributed as dist
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    n = comm.Get_size()
    rows = []
    for nbytes in SIZES:
        buf = np.ones(nbytes // 4, np.float32)
        t = ember.from_numpy(buf)
        ours, raw = [], []
        for _ in range(rounds):       # interleaved: one call of each per round
            ours += _median_time(lambda: dist.all_reduce(t), comm, 1)
            raw += _median_time(lambda: comm.Allreduce(MPI.IN_PLACE, buf), comm, 1)
        # the slowest rank decides a collective's time
        bus = 2 * (n - 1) / n * nbytes
        row = [nbytes]
        for pick in (np.median, np.min):
            t_ours = comm.allreduce(float(pick(ours)), MPI.MAX)
            t_raw = comm.allreduce(float(pick(raw)), MPI.MAX)
            row += [bus / t_ours / 1e9, bus / t_raw / 1e9, t_raw / t_ours]
        rows.append(row)
    return rows


def overlap(rounds, bucket_cap_mb):
    import ember
    import ember.distributed as dist
    import ember.nn as nn
    import ember.nn.functional as F
    from ember.nn.parallel import DistributedDataParallel as DDP
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    x, y = ember.randn(64, 784), ember.randint(0, 10, (64,))
    flat = ember.zeros(sum(p.numel() for p in model.parameters()))

    def step():
        for p in model.parameters():
            p.grad = None
        F.cross_entropy(ddp(x), y).backward()

    def local():
        with ddp.no_sync():
            step()

    def comm_only():
        dist.all_reduce(flat)

    def sequential():     # no overlap: backward, then one all-reduce of all gradients
        local()
        comm_only()

    for f in (step, local, comm_only, sequential):   # warm up
        f()
    res = {"step": [], "backward": [], "all_reduce": [], "sequential": []}
    for _ in range(rounds):
        res["step"] += _median_time(step, comm, 1)
        res["backward"] += _median_time(local, comm, 1)
        res["all_reduce"] += _median_time(comm_only, comm, 1)
        res["sequential"] += _median_time(sequential, comm, 1)
    med = {k: comm.allreduce(float(np.median(v)), MPI.MAX) for k, v in res.items()}
    med["buckets"] = len(ddp._buckets)
    return med


def worker(quick):
    import ember.distributed as dist
    dist.init_process_group("mpi", timeout=600)
    load_before = os.getloadavg()
    rounds = 10 if quick else 40
    bw = bandwidth(rounds)
    ov = [(cap, overlap(max(5, rounds // 2), cap)) for cap in (25, 2)]
    if dist.get_rank() == 0:
        print(f"load average before: {load_before}")
        print("\nall_reduce float32 SUM, 2 ranks: bus bandwidth GB/s (median | best)")
        print(f"{'size':>10} {'ember':>7} {'mpi4py':>7} {'ratio':>6} | {'ember':>7} "
              f"{'mpi4py':>7} {'ratio':>6}")
        for nbytes, ours, raw, ratio, b_ours, b_raw, b_ratio in bw:
            print(f"{nbytes >> 10:>8}KiB {ours:7.3f} {raw:7.3f} {ratio:6.2f} | {b_ours:7.3f} "
                  f"{b_raw:7.3f} {b_ratio:6.2f}")
        print("\nDDP step, MLP 784-1024x3-10 (2.9M params), batch 64 per rank, 2 ranks (median ms)")
        print(f"{'bucket_cap_mb':>13} {'buckets':>7} {'DDP step':>8} {'fwd+bwd':>8} "
              f"{'all_reduce':>10} {'sum':>8} {'fwd+bwd, then all_reduce':>25}")
        for cap, m in ov:
            total = m["backward"] + m["all_reduce"]
            print(f"{cap:>13} {m['buckets']:>7} {m['step'] * 1e3:8.1f} {m['backward'] * 1e3:8.1f} "
                  f"{m['all_reduce'] * 1e3:10.1f} {total * 1e3:8.1f} "
                  f"{m['sequential'] * 1e3:25.1f}")
        print(f"load average after: {os.getloadavg()}")
    dist.destroy_process_group()


def main():
    quick = "--quick" in sys.argv
    if "--worker" in sys.argv:
        return worker(quick)
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [mpiexec, "-n", "2", sys.executable, "-m", "benchmarks.bench_distributed", "--worker"]
    return subprocess.call(cmd + (["--quick"] if quick else []), cwd=root, env=env)


if __name__ == "__main__":
    sys.exit(main())
