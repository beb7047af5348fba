"""Issue 12's two forward workloads, eager and compiled, as ratios to PyTorch eager:

* the elementwise chain ``gelu(x * w + b) * sigmoid(x)`` on 4M float32 (x [4096, 1024], w and b
  rows of 1024 broadcast over it); targets: eager <= 1.5, compiled <= 0.6 and >= 60% of the
  machine's copy bandwidth (the chain reads x once and writes once when fused: 32 MB);
* ``softmax(layer_norm(x))`` on 4096x1024 float32; targets: eager <= 1.5, compiled <= 0.9.

    python -m benchmarks.bench_workloads [--threads N] [--no-torch-compile] [--busy] [--repeat N]

Columns: ember eager, ember.compile, torch.compile, each against torch eager timed in
alternation with it (harness.compare).
"""
from __future__ import annotations

import sys

from benchmarks.harness import compare, machine, print_table, time_per_call, try_torch  # (first: --threads pins before NumPy loads)

import numpy as np  # noqa: E402


ROWS, COLS = 4096, 1024


def chain(lib):
    F = lib.nn.functional
    return lambda x, w, b: F.gelu(x * w + b) * lib.sigmoid(x)


def softmax_layer_norm(lib):
    F = lib.nn.functional
    return lambda x: F.softmax(F.layer_norm(x, (COLS,)), dim=-1)


def copy_bandwidth(x, repeat=7):
    """Bytes per second of the best NumPy copy of x into a preallocated array (read + write)."""
    out = np.empty_like(x)
    best = min(time_per_call(lambda: np.copyto(out, x), 10) for _ in range(repeat))
    return 2 * x.nbytes / best


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 7
    import ember
    torch = try_torch()
    if torch is None:
        sys.exit("bench_workloads compares against PyTorch eager; torch is not installed")
    rng = np.random.default_rng(0)
    arrays = (rng.standard_normal((ROWS, COLS)).astype(np.float32),
              rng.standard_normal(COLS).astype(np.float32),
              rng.standard_normal(COLS).astype(np.float32))
    workloads = [("gelu(x*w+b)*sigmoid(x), 4M float32", chain, arrays, 1.5, 0.6),
                 ("softmax(layer_norm(x)), 4096x1024", softmax_layer_norm, arrays[:1], 1.5, 0.9)]
    rows, notes = [], []
    for name, build, inputs, eager_target, compiled_target in workloads:
        e_args = [ember.tensor(a) for a in inputs]
        t_args = [torch.tensor(a) for a in inputs]
        e_fn, t_fn = build(ember), build(torch)
        ref = t_fn(*t_args).numpy()
        err = float(np.abs(e_fn(*e_args).numpy() - ref).max())
        t_eager = lambda: t_fn(*t_args)   # noqa: E731
        rows.append(compare(f"{name}: ember eager", lambda: e_fn(*e_args), t_eager,
                            eager_target, repeat))
        compiled = ember.compile(e_fn)
        try:
            err_c = float(np.abs(compiled(*e_args).numpy() - ref).max())
            row = compare(f"{name}: ember.compile", lambda: compiled(*e_args), t_eager,
                          compiled_target, repeat)
            rows.append(row)
            if build is chain:
                bw = copy_bandwidth(inputs[0])
                moved = 2 * inputs[0].nbytes
                notes.append(f"{name}: ember.compile moves {moved / row.ember_s / 1e9:.1f} GB/s "
                             f"= {100 * moved / row.ember_s / bw:.0f}% of the copy bandwidth "
                             f"({bw / 1e9:.1f} GB/s; target >= 60%)")
            notes.append(f"{name}: max |ember - torch| eager {err:.2e}, compiled {err_c:.2e}")
        except Exception as e:   # report, keep going
            notes.append(f"{name}: ember.compile FAILED {type(e).__name__}: {str(e)[:120]}")
        if "--no-torch-compile" not in argv:
            try:
                tc = torch.compile(t_fn)
                tc(*t_args)
                rows.append(compare(f"{name}: torch.compile", lambda: tc(*t_args), t_eager,
                                    None, repeat))
            except Exception as e:
                notes.append(f"{name}: torch.compile FAILED {type(e).__name__}: {str(e)[:120]}")
    print_table("issue 12 workloads vs torch eager (the torch column)", rows)
    for n in notes:
        print(n)
    print(f"({machine()})")
    return rows


if __name__ == "__main__":
    main()
