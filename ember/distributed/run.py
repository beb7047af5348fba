"""``python -m ember.distributed.run``: torchrun's common flags, ranks started through mpiexec.

    python -m ember.distributed.run --nproc-per-node 2 train.py --epochs 3
    python -m ember.distributed.run --nnodes 2 --nproc-per-node 4 --hostfile hosts train.py

Each rank gets torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
MASTER_ADDR, MASTER_PORT).  Several machines: MPI's launcher starts the remote ranks itself (over
ssh, from a host file), so this command runs once, on one machine, with ``--hostfile``.  When a
rank fails the job is stopped, and the exit status is non-zero with the failing rank named.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

_PREFIX = "[ember.distributed.run]"


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m ember.distributed.run",
        description="Start a data-parallel job (torchrun's flags) through MPI's mpiexec.")
    p.add_argument("--nproc-per-node", "--nproc_per_node", default="1",
                   help="processes per machine (an integer; 'cpu' or 'auto': this machine's CPUs)")
    p.add_argument("--nnodes", default="1", help="number of machines (needs --hostfile when > 1)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0,
                   help="accepted for torchrun compatibility; must be 0 (mpiexec starts every "
                        "machine's ranks from this one)")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1",
                   help="exported as MASTER_ADDR (MPI needs no rendezvous address)")
    p.add_argument("--master-port", "--master_port", type=int, default=29500,
                   help="exported as MASTER_PORT")
    p.add_argument("--hostfile", "--host-file", default=None,
                   help="MPI host file (one 'host[:slots]' per line) for several machines")
    p.add_argument("--standalone", action="store_true", help="accepted (single machine)")
    p.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: the one "
                   "installed beside this Python, then PATH)")
    p.add_argument("--mpiexec-args", default="", help="extra arguments for mpiexec")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the target as a module (python -m)")
    p.add_argument("--no-python", "--no_python", action="store_true",
                   help="run the target as an executable, not a Python script (it then gets "
                        "MPI's PMI_RANK/PMI_SIZE, not torchrun's RANK/WORLD_SIZE)")
    p.add_argument("target", help="the training script (or module with -m)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    return p


def find_mpiexec(explicit=None):
    if explicit:
        return explicit
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        raise SystemExit(f"{_PREFIX} mpiexec not found: pip install ember[distributed] "
                         f"(mpi4py and mpich)")
    return found


def _nproc(value):
    if value in ("cpu", "auto"):
        return os.cpu_count() or 1
    return int(value)


def build_command(opts, status_dir):
    nproc, nnodes = _nproc(opts.nproc_per_node), int(opts.nnodes.split(":")[-1])
    if opts.node_rank != 0:
        raise SystemExit(f"{_PREFIX} --node-rank {opts.node_rank}: with MPI the job is started "
                         f"once, from one machine, with --hostfile listing every machine")
    if nnodes > 1 and not opts.hostfile:
        raise SystemExit(f"{_PREFIX} --nnodes {nnodes} needs --hostfile (the machines mpiexec "
                         f"starts ranks on; see docs/distributed.md)")
    cmd = [find_mpiexec(opts.mpiexec), "-n", str(nproc * nnodes)]
    if opts.hostfile:
        cmd += ["-f", opts.hostfile, "-ppn", str(nproc)]
    cmd += opts.mpiexec_args.split()
    if opts.no_python:
        return cmd + [opts.target] + opts.args
    boot = [sys.executable, "-m", "ember.distributed._bootstrap"]
    return cmd + boot + (["-m"] if opts.module else []) + [opts.target] + opts.args


def _pump(stream, sink, lines):
    """Copy one of mpiexec's streams through, keeping the lines that name a dead process."""
    for line in iter(stream.readline, ""):
        sink.write(line)
        sink.flush()
        if "PID" in line or "EXIT CODE" in line or "signal" in line:
            lines.append(line)


def diagnose(status_dir, world, hydra_lines):
    """Lines naming the failing ranks, from the ranks' records and mpiexec's report."""
    records = {}
    for name in os.listdir(status_dir):
        if name.endswith(".json"):
            with open(os.path.join(status_dir, name)) as f:
                r = json.load(f)
            records[r["rank"]] = r
    out = []
    failed = sorted((r for r in records.values() if r["state"] in ("raised", "exit")),
                    key=lambda r: r["time"])
    for r in failed:
        what = r.get("error") or f"exited with status {r['code']}"
        out.append(f"rank {r['rank']} failed: {what}")
    pid_of = {r["pid"]: k for k, r in records.items()}
    named = set()
    for line in hydra_lines:
        m = re.search(r"PID (\d+)", line)
        k = pid_of.get(int(m.group(1))) if m else None
        if k is not None and records[k]["state"] == "started" and k not in named:
            named.add(k)
            out.append(f"rank {k} died (mpiexec: its process {m.group(1)} terminated "
                       f"abnormally)")
    silent = [k for k, r in sorted(records.items()) if r["state"] == "started" and k not in named]
    if silent:
        out.append(f"ranks {silent} stopped without reporting (killed by a signal, or stopped "
                   f"by mpiexec after another rank failed)")
    never = [k for k in range(world) if k not in records]
    if never:
        out.append(f"ranks {never} never started")
    return out


def main(argv=None):
    opts = _parser().parse_args(argv)
    if opts.args[:1] == ["--"]:
        opts.args = opts.args[1:]
    status_dir = tempfile.mkdtemp(prefix="ember-run-")
    env = dict(os.environ, MASTER_ADDR=opts.master_addr, MASTER_PORT=str(opts.master_port),
               EMBER_RUN_STATUS_DIR=status_dir)
    cmd = build_command(opts, status_dir)
    world = _nproc(opts.nproc_per_node) * int(opts.nnodes.split(":")[-1])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    hydra_lines = []    # mpiexec reports a dead process (by PID) on stdout
    pumps = [threading.Thread(target=_pump, args=(src, sink, hydra_lines), daemon=True)
             for src, sink in ((proc.stdout, sys.stdout), (proc.stderr, sys.stderr))]
    for pump in pumps:
        pump.start()
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait()
    for pump in pumps:
        pump.join(timeout=5)
    try:
        if rc != 0:
            for line in diagnose(status_dir, world, hydra_lines) or ["a rank failed"]:
                print(f"{_PREFIX} {line}", file=sys.stderr)
            print(f"{_PREFIX} job failed (mpiexec exit status {rc})", file=sys.stderr)
    finally:
        shutil.rmtree(status_dir, ignore_errors=True)
    return rc if rc > 0 else 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
