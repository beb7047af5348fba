"""ember.compile on whole training steps (forward, cross-entropy, backward, optimizer step).

    python -m benchmarks.bench_compile                  # single-threaded, then default threads
    python -m benchmarks.bench_compile --threads 1      # one configuration only
    python -m benchmarks.bench_compile --no-torch-compile

With no ``--threads`` the script runs itself twice, one configuration after the other: pinned to
one thread (OpenBLAS, ``EMBER_NUM_THREADS``, PyTorch; the numbers that hold on a loaded machine)
and with every library's default thread count.  torch.compile's cold compile (minutes) is timed in
the default-threads run only.  The load average is printed before and after each run.

Rows: compiled ember vs PyTorch eager (ratio < 1: ember faster), compiled vs ember eager, cold
compile times (trace + passes + codegen, disk cache off) vs torch.compile's cold compile, peak
traced memory (tracemalloc) of a compiled step vs an eager step, the slowest statements of the
compiled MLP step, and per native group of each step its NumPy statements (``EMBER_NATIVE=0``)
against its Numba kernel, each timed in place.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc


def _pin_threads(argv):
    """--threads N: every library to N threads (before NumPy loads: OpenBLAS reads it once)."""
    if "--threads" not in argv:
        return None
    n = argv[argv.index("--threads") + 1]
    if n == "default":
        return None
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "EMBER_NUM_THREADS"):
        os.environ[var] = n
    return int(n)


THREADS = _pin_threads(sys.argv[1:]) if __name__ == "__main__" else None

import numpy as np  # noqa: E402

os.environ.setdefault("EMBER_COMPILE_CACHE", "0")   # cold compiles are measured cold

import ember  # noqa: E402
from benchmarks.harness import compare, machine, print_table, try_torch  # noqa: E402


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


class _Tr:
    def __init__(self, nn, lib):
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0,
                                                        batch_first=True)
                self.head = nn.Linear(64, 10)

            def forward(self, x):
                return self.head(self.layer(x).mean(1))
        self.M = M


def transformer(nn, lib):
    return _Tr(nn, lib).M()


WORKLOADS = {
    "mlp": (lambda nn, lib: mlp(nn), (64, 784)),
    "cnn": (lambda nn, lib: cnn(nn), (32, 1, 28, 28)),
    "transformer": (transformer, (16, 12, 64)),
}


def _load_weights(dst, src):
    for (_, p), (_, q) in zip(dst.named_parameters(), src.named_parameters()):
        p.data.copy_(p.new_tensor(q.detach().numpy()) if hasattr(p, "new_tensor") else q)


def setup(kind, lib, x, y, seed=0):
    lib.manual_seed(seed)
    build, _ = WORKLOADS[kind]
    model = build(lib.nn, lib)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    F = lib.nn.functional

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss
    return model, step, lib.tensor(x), lib.tensor(y)


def data(kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(WORKLOADS[kind][1]).astype(np.float32)
    y = rng.integers(0, 10, WORKLOADS[kind][1][0])
    return x, y


def cold_compile(kind):
    x, y = data(kind)
    _, step, ex, ey = setup(kind, ember, x, y)
    c = ember.compile(step)
    t0 = time.perf_counter()
    c(ex, ey)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    c(ex, ey)            # Adam's state now exists: the steady-state variant compiles here
    second = time.perf_counter() - t0
    t0 = time.perf_counter()
    c(ex, ey)            # that variant's second call: Numba compiles its native kernels here
    third = time.perf_counter() - t0
    return first, second, (third, c.variants[-1].module), c


def torch_cold_compile(torch, kind):
    x, y = data(kind)
    _, step, tx, ty = setup(kind, torch, x, y)
    try:
        import torch._dynamo
        torch._dynamo.reset()
        c = torch.compile(step)
        t0 = time.perf_counter()
        c(tx, ty)
        return time.perf_counter() - t0
    except Exception as e:  # no C++ compiler, ...
        return f"failed: {type(e).__name__}: {str(e)[:80]}"


def peak_bytes(fn, n=3):
    fn()
    tracemalloc.start()
    for _ in range(n):
        fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def kernel_profile(c, ex, ey, top=8, calls=30):
    """The slowest lines of the generated module: each statement of ``call`` timed in place over
    `calls` real steps (the module is re-executed with a timer around every statement)."""
    v = c.variants[-1]
    head, sep, body = v.module.source.partition("def call(args, seeds, B):\n")
    if not sep:
        return []
    lines = body.rstrip("\n").split("\n")
    timed = ["def call(args, seeds, B):", "    _p = _perf"]
    for i, ln in enumerate(lines):
        st = ln.strip()
        indent = ln[:len(ln) - len(ln.lstrip())]
        # block headers (a native group's if/else), comments and the return stay as they are
        if st.startswith(("return", "#")) or st.endswith(":") or not indent:
            timed.append(ln)
            continue
        timed.append(f"{indent}_s = _p(); {st}; _T[{i}] += _p() - _s")
    ns = {"_perf": time.perf_counter, "_T": [0.0] * len(lines)}
    exec(compile(head + "\n".join(timed) + "\n", "<profiled>", "exec"), ns)
    # the native kernels the variant loaded (re-executing the head reset them to None)
    ns.update({k: x for k, x in v.module.ns.items() if k[:1] == "K" and k[1:].isdigit()})
    original = v.module.call
    v.module.call = ns["call"]
    try:
        c(ex, ey)
        ns["_T"][:] = [0.0] * len(lines)
        for _ in range(calls):
            c(ex, ey)
    finally:
        v.module.call = original
    rows = sorted(((t / calls, lines[i].strip()) for i, t in enumerate(ns["_T"])), reverse=True)
    return rows[:top]


def native_groups(kind, calls=100):
    """Per native group of `kind`'s compiled step: its NumPy statements (summed, from a run with
    EMBER_NATIVE=0) against its kernel call, both timed in place by kernel_profile."""
    timed = {}
    for mode in ("0", "1"):
        old = os.environ.get("EMBER_NATIVE")
        os.environ["EMBER_NATIVE"] = mode
        try:
            x, y = data(kind)
            _, step, ex, ey = setup(kind, ember, x, y)
            c = ember.compile(step)
            for _ in range(3):
                c(ex, ey)
            timed[mode] = {ln: t for t, ln in kernel_profile(c, ex, ey, top=10 ** 6, calls=calls)}
            src = c.code()
        finally:
            if old is None:
                os.environ.pop("EMBER_NATIVE", None)
            else:
                os.environ["EMBER_NATIVE"] = old
    rows = []
    body = src.partition("def call(args, seeds, B):\n")[2].split("\n")
    for i, ln in enumerate(body):
        if not (ln.startswith("    if K") and ln.endswith(":")):
            continue
        call = body[i + 1].strip()
        j = i + 1
        while body[j] != "    else:":
            j += 1
        stmts = []
        for ln2 in body[j + 1:]:
            if not ln2.startswith("        "):
                break
            stmts.append(ln2.strip())
        what = body[i - 1].strip("# ").split(" in one pass")[0]
        shape = _kernel_shape(src, call.split("(")[0][1:])
        rows.append((what, shape, sum(timed["0"].get(st, 0.0) for st in stmts),
                     timed["1"].get(call, float("nan"))))
    return rows


def _kernel_shape(src, index):
    marker = f"# kernel k{index}: "
    at = src.find(marker)
    return src[at:].split(" over ")[1].split(" in one loop")[0] if at >= 0 else "?"


def _both(argv):
    """Run the single-threaded and the default-threads configuration, one after the other."""
    rc = 0
    for label, extra in (("single-threaded (--threads 1)", ["--threads", "1",
                                                            "--no-torch-compile"]),
                         ("default threads", ["--threads", "default"])):
        print(f"\n## {label}\n", flush=True)
        env = dict(os.environ)
        rc |= subprocess.call([sys.executable, "-m", "benchmarks.bench_compile"] + argv + extra,
                              env=env)
    return rc


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--threads" not in argv:
        return _both(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    torch = try_torch()
    if torch is not None and THREADS:
        torch.set_num_threads(THREADS)
    if torch is not None:
        print(f"threads: torch {torch.get_num_threads()}, EMBER_NUM_THREADS="
              f"{os.environ.get('EMBER_NUM_THREADS', 'default')}, OPENBLAS_NUM_THREADS="
              f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    rows, cold, mem, prof, groups = [], [], [], [], []
    targets = {"mlp": 1.0, "cnn": 2.0, "transformer": 1.4}
    for kind in ("mlp", "cnn", "transformer"):
        x, y = data(kind)
        first, second, native, c = cold_compile(kind)
        tc = torch_cold_compile(torch, kind) if torch is not None and \
            "--no-torch-compile" not in argv else None
        cold.append((kind, first, second, native, tc, c))
        _, estep, ex, ey = setup(kind, ember, x, y)
        _, cstep_fn, cx, cy = setup(kind, ember, x, y)
        cstep = ember.compile(cstep_fn)
        cstep(cx, cy)
        cstep(cx, cy)
        if torch is not None:
            _, tstep, tx, ty = setup(kind, torch, x, y)
            rows.append(compare(f"{kind} step: compiled ember vs torch eager",
                                lambda: cstep(cx, cy), lambda: tstep(tx, ty),
                                target=targets[kind]))
        rows.append(compare(f"{kind} step: compiled ember vs ember eager",
                            lambda: cstep(cx, cy), lambda: estep(ex, ey),
                            target=round(1 / 1.3, 3) if kind == "mlp" else None))
        mem.append((kind, peak_bytes(lambda: cstep(cx, cy)), peak_bytes(lambda: estep(ex, ey))))
        if kind == "mlp":
            prof = kernel_profile(cstep, cx, cy)
        # (per-group NumPy-vs-kernel timings: see benchmarks/bench_kernels.py and the
        # kernels' own launch counters; the old per-statement parser was for codegen/native.py)
    print_table("ember.compile training steps (Adam)", rows)
    print("\n| cold compile | ember first call | ember 2nd variant | its 2nd call: native kernels "
          "(Numba) | torch.compile first call |")
    print("|---|---|---|---|---|")
    for kind, first, second, (third, mod), tc, c in cold:
        tcs = "-" if tc is None else (tc if isinstance(tc, str) else f"{tc:.2f} s")
        nat = f"{third * 1e3:.0f} ms ({len(mod.native_loaded)}/{len(mod.kernels)} kernels " \
              f"compiled so far, in the background)" if mod.kernels else "- (no kernels)"
        if mod.native_error:
            nat += f" [{mod.native_error}]"
        print(f"| {kind} | {first * 1e3:.0f} ms | {second * 1e3:.0f} ms | {nat} | {tcs} |")
    print("\n| peak traced memory per step | compiled ember | eager ember |")
    print("|---|---|---|")
    for kind, pc, pe in mem:
        print(f"| {kind} | {pc / 1e6:.2f} MB | {pe / 1e6:.2f} MB |")
    if prof:
        print("\n| MLP step: slowest statements of the generated code | time per step |")
        print("|---|---|")
        for t, line in prof:
            print(f"| `{line[:100]}` | {t * 1e6:.1f} us |")
    if groups:
        print("\n| native group (statements timed in place) | shape | NumPy statements | kernel |")
        print("|---|---|---|---|")
        for kind, what, shape, tn, tk in groups:
            print(f"| {kind}: {what} | {shape} | {tn * 1e6:.1f} us | {tk * 1e6:.1f} us |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n({machine()})")


if __name__ == "__main__":
    sys.exit(main())
