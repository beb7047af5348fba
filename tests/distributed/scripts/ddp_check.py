"""Run on every rank (mpiexec): DistributedDataParallel training equals one process training on
the concatenated batch.  Each rank also trains the single-process reference itself (same seed,
all ranks' data), then compares parameters.  Writes {"results": {...}} to <out>/rank<r>.json.

argv: out_dir [configs...]; configs: default, tiny_buckets, no_sync, unused, compiled,
compiled_module, checks
"""
import json
import os
import sys
import warnings

import numpy as np

import ember
import ember.distributed as dist
import ember.nn as nn
import ember.nn.functional as F
from ember.nn.parallel import DistributedDataParallel as DDP

out_dir, configs = sys.argv[1], sys.argv[2:]
dist.init_process_group("mpi", timeout=60)
R, N = dist.get_rank(), dist.get_world_size()
B, STEPS, MICRO = 3, 4, 2          # per-rank batch, optimizer steps, micro-batches (no_sync)
rng = np.random.default_rng(0)
X = rng.standard_normal((STEPS, MICRO, N * B, 5)).astype(np.float32)
Y = rng.integers(0, 3, (STEPS, MICRO, N * B))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(5, 7)
        self.l2 = nn.Linear(7, 3)
        self.side = nn.Linear(7, 3)    # used on some steps only (find_unused_parameters)

    def forward(self, x, use_side=True):
        h = ember.tanh(self.l1(x))
        return self.l2(h) + self.side(h) if use_side else self.l2(h)


def make(seed):
    ember.manual_seed(seed)
    return Net()


def batch(step, m, rank=None):
    rows = slice(None) if rank is None else slice(rank * B, (rank + 1) * B)
    return ember.tensor(X[step, m, rows]), ember.tensor(Y[step, m, rows])


STATS = {}


def train(model, params_owner, rank, micro, use_side, compiled=False, sync_ctx=None):
    opt = ember.optim.SGD(params_owner.parameters(), lr=0.2, momentum=0.9)

    def step_fn(x, y, side):
        loss = F.cross_entropy(model(x, use_side=side), y)
        loss.backward()
        return loss

    def whole_step(x, y, side):       # the compiled case: the whole training step
        opt.zero_grad()
        loss = step_fn(x, y, side)
        opt.step()
        return loss

    if compiled:
        run = ember.compile(whole_step)
        for s in range(STEPS):
            run(*batch(s, 0, rank), use_side(s))
        STATS.update(graph_breaks=run.stats["graph_breaks"], calls=run.stats["calls"])
        return np.concatenate([p.detach().numpy().ravel() for p in params_owner.parameters()])
    run = step_fn
    for s in range(STEPS):
        opt.zero_grad()
        side = use_side(s)
        for m in range(micro):
            x, y = batch(s, m, rank)
            ctx = sync_ctx() if (sync_ctx is not None and m < micro - 1) else None
            if ctx is not None:
                with ctx:
                    run(x, y, side)
            else:
                run(x, y, side)
        opt.step()
    return np.concatenate([p.detach().numpy().ravel() for p in params_owner.parameters()])


def compare(name, **kw):
    ddp_kw = kw.pop("ddp", {})
    micro = kw.get("micro", 1)
    use_side = kw.get("use_side", lambda s: True)
    ref_model = make(0)
    reference = train(ref_model, ref_model, None, micro, use_side)
    model = make(R + 1)                 # each rank starts different: DDP broadcasts rank 0's...
    if R == 0:
        model.load_state_dict(make(0).state_dict())   # ...which is the reference's start
    ddp = DDP(model, **ddp_kw)
    forward = ember.compile(ddp) if kw.get("compile_module") else ddp
    got = train(forward, ddp, R, micro, use_side, compiled=kw.get("compiled", False),
                sync_ctx=ddp.no_sync if micro > 1 else None)
    err = float(np.abs(got - reference).max())
    return {"max_abs_err": err, "n_buckets": len(ddp._buckets)}


results = {}
for cfg in configs:
    if cfg == "default":
        results[cfg] = compare(cfg)
    elif cfg == "tiny_buckets":       # every bucket smaller than one parameter
        results[cfg] = compare(cfg, ddp={"bucket_cap_mb": 1e-6})
    elif cfg == "no_sync":
        results[cfg] = compare(cfg, micro=MICRO, ddp={"bucket_cap_mb": 1e-4})
    elif cfg == "unused":
        results[cfg] = compare(cfg, use_side=lambda s: s % 2 == 0,
                               ddp={"find_unused_parameters": True, "bucket_cap_mb": 1e-4})
    elif cfg == "compiled":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[cfg] = compare(cfg, compiled=True, ddp={"bucket_cap_mb": 1e-4})
            results[cfg].update(STATS)
    elif cfg == "compiled_module":    # ember.compile(ddp_model): forward compiled, eager step
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[cfg] = compare(cfg, compile_module=True, ddp={"bucket_cap_mb": 1e-4})
    elif cfg == "checks":
        model = make(R + 1)
        ddp = DDP(model, bucket_cap_mb=1e-4)
        keys = list(ddp.state_dict())
        # the first bucket (the last layer's parameters) is launched while backward still has
        # the first layer to do: its gradient is not there yet
        launched_early = []
        original = ddp._launch_ready

        def spy():
            if ddp._next == 0 and ddp._buckets[0].pending == 0:
                launched_early.append(model.l1.weight.grad is None)
            original()
        ddp._launch_ready = spy
        x, y = batch(0, 0, R)
        F.cross_entropy(ddp(x), y).backward()
        # parameters unused without find_unused_parameters: the next forward says so
        ddp2 = DDP(make(0))
        F.cross_entropy(ddp2(x, use_side=False), y).backward()
        try:
            ddp2(x)
            unfinished = None
        except RuntimeError as e:
            unfinished = str(e)
        results[cfg] = {"keys": keys, "launched_early": launched_early,
                        "same_after_broadcast": float(model.l1.weight.sum()),
                        "unfinished_error": unfinished}

with open(os.path.join(out_dir, f"rank{R}.json"), "w") as f:
    json.dump({"results": results}, f)
dist.destroy_process_group()
