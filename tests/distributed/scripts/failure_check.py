"""Run on every rank (mpiexec): rank 1 fails in the way argv[2] says; the others time the
DistBackendError their next collective raises and record it in <out>/rank<r>.json (stdout is not
reliable once mpiexec has seen a rank die).

modes: kill (rank 1 is killed by SIGKILL), hang (rank 1 never joins the collective),
       raise (rank 1 raises; meant for the launcher, which must name it)
"""
import json
import os
import signal
import sys
import time

import ember
import ember.distributed as dist

out_dir, mode = sys.argv[1], sys.argv[2]
TIMEOUT = 3.0
# a generous timeout to start up (imports on a loaded machine can take seconds per rank), then the
# short timeout under test (the group's timeout, which init_process_group(timeout=) sets)
dist.init_process_group("mpi", timeout=120)
R = dist.get_rank()
group = None
dist.barrier()
dist.GroupMember.WORLD.timeout = TIMEOUT
if R == 1:
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "hang":
        time.sleep(60)
    elif mode == "raise":
        raise ValueError("rank one gives up")
t0 = time.monotonic()
record = {"raised": None}
try:
    t = ember.ones(1000)
    dist.all_reduce(t, group=group)
except dist.DistBackendError as e:
    record = {"raised": str(e), "after": time.monotonic() - t0, "timeout": TIMEOUT}
    try:
        dist.barrier(group=group)    # the group stays unusable: raises at once
    except dist.DistBackendError as again:
        record["again"] = str(again)
with open(os.path.join(out_dir, f"rank{R}.json"), "w") as f:
    json.dump(record, f)
if record["raised"]:
    raise SystemExit(3)
