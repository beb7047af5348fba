"""Data-parallel training of the digits MLP on 2 processes with DistributedDataParallel, written
exactly as a PyTorch user would write it (torch.distributed -> ember.distributed).

    python -m ember.distributed.run --nproc-per-node 2 examples/ddp_digits.py [--epochs 10]
    mpiexec -n 2 python examples/ddp_digits.py        # the same job, started by MPI directly

Each rank reads its half of every epoch (DistributedSampler) and DDP averages the gradients, so
2 ranks with --batch-size 32 train like one process with batch 64.  Rank 0 prints the progress
and the final test accuracy (>= 95% expected).  Needs `pip install ember[distributed]`.
"""
from __future__ import annotations

import time

from _common import digits_split, parse_args, progress, report_final

import ember as torch
import ember.distributed as dist
import ember.nn as nn
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.utils.data import DataLoader, DistributedSampler, TensorDataset


def main():
    args = parse_args(epochs=10, batch_size=32, lr=2e-3)
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed + rank)         # dropout differs per rank; weights come from rank 0
    x_train, x_test, y_train, y_test = digits_split(args.seed, images=False)

    model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    ddp = DDP(model)                            # broadcasts rank 0's parameters and buffers
    optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    sampler = DistributedSampler(TensorDataset(x_train, y_train), seed=args.seed)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                        sampler=sampler, drop_last=True)
    if rank == 0:
        print(f"{world} ranks, {len(sampler)} training images each per epoch")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)                # a new shuffle, the same on every rank
        for step, (x, y) in enumerate(loader, 1):
            optimizer.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()                     # gradients averaged across ranks here
            optimizer.step()
            if rank == 0:
                progress(epoch, args.epochs, step, len(loader), loss.item())
        if rank == 0:
            print()
    if rank == 0:
        report_final(model, x_test, y_test, start)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
