"""Run on every rank (mpiexec): each collective, for every dtype, against a NumPy reference.

Every rank's input is a function of (rank, dtype, case), so each rank computes the expected result
itself.  Values are small integers, exact in every dtype (float16/bfloat16 included), so results
are compared exactly.  Writes {"checked": n, "failures": [...]} to <out>/rank<r>.json.
"""
import json
import os
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember.distributed import ReduceOp

out_dir = sys.argv[1]
dist.init_process_group("mpi", timeout=60)
R, N = dist.get_rank(), dist.get_world_size()
DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "bool"]
failures, checked = [], [0]


def np_dtype(name):
    return ember.tensor([], dtype=getattr(ember, name if name != "bool" else "bool")).numpy().dtype


def data(rank, name, case, shape=(2, 3)):
    rng = np.random.default_rng([rank, DTYPES.index(name), case])
    if name == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    low = 0 if name == "uint8" else -3
    return rng.integers(low, 4, shape).astype(np_dtype(name))


def T(a):
    return ember.from_numpy(np.array(a, copy=True))


def check(what, got, want):
    checked[0] += 1
    got = np.asarray(got.numpy() if isinstance(got, ember.Tensor) else got)
    want = np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype or not np.array_equal(
            got.astype(np.float64), want.astype(np.float64)):
        failures.append(f"{what}: got {got.dtype}{list(got.shape)} {got.ravel()[:6].tolist()}, "
                        f"want {want.dtype}{list(want.shape)} {want.ravel()[:6].tolist()}")


def reference(op, stacked, name):
    if name == "bool":
        b = stacked.astype(bool)
        f = {ReduceOp.SUM: np.logical_or, ReduceOp.MAX: np.logical_or, ReduceOp.BOR: np.logical_or,
             ReduceOp.PRODUCT: np.logical_and, ReduceOp.MIN: np.logical_and,
             ReduceOp.BAND: np.logical_and, ReduceOp.BXOR: np.logical_xor}[op]
        return f.reduce(b, axis=0)
    wide = stacked.astype(np.float64) if stacked.dtype.kind == "f" or name == "bfloat16" \
        else stacked.astype(np.int64)
    f = {ReduceOp.SUM: np.sum, ReduceOp.PRODUCT: np.prod, ReduceOp.MIN: np.min,
         ReduceOp.MAX: np.max, ReduceOp.AVG: lambda a, axis: np.sum(a, axis) / N,
         ReduceOp.BAND: np.bitwise_and.reduce, ReduceOp.BOR: np.bitwise_or.reduce,
         ReduceOp.BXOR: np.bitwise_xor.reduce}[op]
    return f(wide, axis=0).astype(stacked.dtype)


def ops_for(name):
    if name == "bool":
        return [ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX, ReduceOp.BAND,
                ReduceOp.BOR, ReduceOp.BXOR]
    floating = name in ("float16", "bfloat16", "float32", "float64")
    base = [ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]
    return base + ([ReduceOp.AVG] if floating else [ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR])


for name in DTYPES:
    every = lambda case, shape=(2, 3): np.stack([data(k, name, case, shape) for k in range(N)])
    # all_reduce with every op (blocking and async), reduce to the last rank
    for i, op in enumerate(ops_for(name)):
        t = T(data(R, name, i))
        work = dist.all_reduce(t, op=op, async_op=(i % 2 == 1))
        if work is not None:
            work.wait()
            assert work.is_completed()
        check(f"all_reduce {name} {op.name}", t, reference(op, every(i), name))
        t = T(data(R, name, 50 + i))
        dist.reduce(t, dst=N - 1, op=op)
        if R == N - 1:
            check(f"reduce {name} {op.name}", t, reference(op, every(50 + i), name))
    # non-contiguous (a transposed view), 0-d and empty tensors
    t = T(data(R, name, 10, (3, 2))).t()
    dist.all_reduce(t, op=ReduceOp.MAX)
    check(f"all_reduce non-contiguous {name}", t,
          reference(ReduceOp.MAX, every(10, (3, 2)), name).T)
    t = T(data(R, name, 11, ()))
    dist.all_reduce(t, op=ReduceOp.MIN)
    check(f"all_reduce 0-d {name}", t, reference(ReduceOp.MIN, every(11, ()), name))
    t = T(data(R, name, 12, (0, 3)))
    dist.all_reduce(t)
    check(f"all_reduce empty {name}", t, data(R, name, 12, (0, 3)))
    # broadcast from rank 1
    t = T(data(R, name, 13))
    dist.broadcast(t, src=1)
    check(f"broadcast {name}", t, data(1, name, 13))
    # all_gather (list), all_gather_into_tensor (concatenated and stacked)
    outs = [T(np.zeros((2, 3), np_dtype(name))) for _ in range(N)]
    dist.all_gather(outs, T(data(R, name, 14)))
    for k in range(N):
        check(f"all_gather {name} [{k}]", outs[k], data(k, name, 14))
    cat = T(np.zeros((2 * N, 3), np_dtype(name)))
    dist.all_gather_into_tensor(cat, T(data(R, name, 15)))
    check(f"all_gather_into_tensor {name}", cat, every(15).reshape(2 * N, 3))
    stacked = T(np.zeros((N, 2, 3), np_dtype(name)))
    dist.all_gather_into_tensor(stacked, T(data(R, name, 15)), async_op=True).wait()
    check(f"all_gather_into_tensor stacked {name}", stacked, every(15))
    # reduce_scatter (list) and reduce_scatter_tensor
    op = ReduceOp.MAX if name == "bool" else ReduceOp.SUM
    ins = [T(data(R, name, 16 + k)) for k in range(N)]
    o = T(np.zeros((2, 3), np_dtype(name)))
    dist.reduce_scatter(o, ins, op=op)
    want = reference(op, np.stack([data(k, name, 16 + R) for k in range(N)]), name)
    check(f"reduce_scatter {name}", o, want)
    big = np.concatenate([data(R, name, 30 + k) for k in range(N)])
    o = T(np.zeros((2, 3), np_dtype(name)))
    dist.reduce_scatter_tensor(o, T(big), op=op)
    want = reference(op, np.stack([data(k, name, 30 + R) for k in range(N)]), name)
    check(f"reduce_scatter_tensor {name}", o, want)
    # gather to rank 0, scatter from the last rank
    lst = [T(np.zeros((2, 3), np_dtype(name))) for _ in range(N)] if R == 0 else None
    dist.gather(T(data(R, name, 17)), lst, dst=0)
    if R == 0:
        for k in range(N):
            check(f"gather {name} [{k}]", lst[k], data(k, name, 17))
    o = T(np.zeros((2, 3), np_dtype(name)))
    src_list = [T(data(N - 1, name, 40 + k)) for k in range(N)] if R == N - 1 else None
    dist.scatter(o, src_list, src=N - 1)
    check(f"scatter {name}", o, data(N - 1, name, 40 + R))
    # all_to_all_single (even split) and all_to_all (uneven sizes: rank k sends j+1 rows to j)
    inp = np.concatenate([data(R, name, 60 + j, (1, 3)) for j in range(N)])
    o = T(np.zeros((N, 3), np_dtype(name)))
    dist.all_to_all_single(o, T(inp))
    check(f"all_to_all_single {name}", o,
          np.concatenate([data(k, name, 60 + R, (1, 3)) for k in range(N)]))
    ins = [T(data(R, name, 70 + j, (j + 1, 2))) for j in range(N)]
    outs = [T(np.zeros((R + 1, 2), np_dtype(name))) for _ in range(N)]
    dist.all_to_all(outs, ins)
    for k in range(N):
        check(f"all_to_all {name} [{k}]", outs[k], data(k, name, 70 + R, (R + 1, 2)))
    # point to point: a ring with send/recv, and the other way round with isend/irecv
    t = T(np.zeros((2, 3), np_dtype(name)))
    if R % 2 == 0:
        dist.send(T(data(R, name, 18)), dst=(R + 1) % N)
        src = dist.recv(t, src=(R - 1) % N)
    else:
        src = dist.recv(t)
        dist.send(T(data(R, name, 18)), dst=(R + 1) % N)
    check(f"send/recv {name}", t, data((R - 1) % N, name, 18))
    check(f"recv source rank {name}", np.array(src), np.array((R - 1) % N))
    t = T(np.zeros((2, 3), np_dtype(name)))
    works = [dist.isend(T(data(R, name, 19)), dst=(R - 1) % N, tag=7),
             dist.irecv(t, src=(R + 1) % N, tag=7)]
    for w in works:
        w.wait()
    check(f"isend/irecv {name}", t, data((R + 1) % N, name, 19))

dist.barrier()
# a sub-group of the odd ranks: global ranks in src/dst, group-local ranks from get_rank(group)
odd = dist.new_group([k for k in range(N) if k % 2 == 1])
if R % 2 == 1:
    t = T(np.array([float(R)]))
    dist.all_reduce(t, group=odd)
    check("new_group all_reduce", t, np.array([float(sum(range(1, N, 2)))]))
    t = T(np.array([float(R)]))
    dist.broadcast(t, src=N - 1, group=odd)
    check("new_group broadcast from global rank", t, np.array([float(N - 1)]))
    check("new_group get_rank", np.array(dist.get_rank(odd)), np.array(R // 2))
else:
    check("non-member get_rank", np.array(dist.get_rank(odd)), np.array(-1))
objs = [None] * N
dist.all_gather_object(objs, {"rank": R, "name": "x" * R})
checked[0] += 1
if objs != [{"rank": k, "name": "x" * k} for k in range(N)]:
    failures.append(f"all_gather_object: {objs}")
lst = [{"a": 1}, "two", 3] if R == 0 else [None, None, None]
dist.broadcast_object_list(lst, src=0)
checked[0] += 1
if lst != [{"a": 1}, "two", 3]:
    failures.append(f"broadcast_object_list: {lst}")

with open(os.path.join(out_dir, f"rank{R}.json"), "w") as f:
    json.dump({"checked": checked[0], "failures": failures}, f)
dist.destroy_process_group()
