"""Issue 12's eager sweep: every elementwise primitive, every reduction (over all dims and over
rows) and the row ops and composites users call (softmax, layer_norm, var, logsumexp, gelu, ...),
at 4M float32 elements, ember eager against PyTorch eager.  Target: every ratio <= 1.5.

    python -m benchmarks sweep                         # or: python -m benchmarks.bench_sweep
    python -m benchmarks.bench_sweep --only sigmoid,softmax --repeat 9
    python -m benchmarks.bench_sweep --busy            # one spinning process per core (load)
    python -m benchmarks.bench_sweep --write out.md    # also write the table to a file

The op list is checked against ember's registry: a new elementwise or reduction primitive without
a row here is printed as "not in the sweep", so the sweep keeps covering every one.  Each row runs
one op on the same data on both sides, the two timed in alternation (median of `--repeat`
repeats of a ~30 ms loop each).
"""
from __future__ import annotations

import math
import sys

from benchmarks.harness import compare, machine, print_table, try_torch  # (first: --threads pins before NumPy loads)

import numpy as np  # noqa: E402


N = 4 * 1024 * 1024
ROWS = (2048, 2048)      # row ops and dim reductions: 2048 rows of 2048 (4M elements)
TARGET = 1.5


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(N).astype(np.float32)
    y = rng.standard_normal(N).astype(np.float32)
    return {
        "x": x, "y": y,
        "pos": (np.abs(x) + 0.5).astype(np.float32),       # log, sqrt, pow bases
        "unit": np.tanh(x).astype(np.float32) * 0.99,        # |u| < 1
        "m": x.reshape(ROWS), "my": y.reshape(ROWS),
        "b1": x > 0, "b2": y > 0,
        "i1": rng.integers(1, 1 << 20, N).astype(np.int32),
        "i2": rng.integers(1, 1 << 10, N).astype(np.int32),
        "cls": rng.integers(0, ROWS[1], ROWS[0]).astype(np.int64),
        "w": rng.standard_normal(ROWS[1]).astype(np.float32),
        "bias": rng.standard_normal(ROWS[1]).astype(np.float32),
    }


# (row name, primitive names it covers, function of (lib, F, tensors))
def _ops():
    u = []   # unary elementwise primitives, through the torch-level function of the same name

    def un(name, arg="x"):
        u.append((name, (name,), lambda L, F, t: getattr(L, name)(t[arg])))
    for name in ("neg", "exp", "expm1", "sin", "cos", "tanh", "sigmoid", "erf", "abs", "sign",
                 "floor", "ceil", "round", "trunc", "isnan"):
        un(name)
    for name in ("log", "log1p", "sqrt", "rsqrt", "reciprocal"):
        un(name, "pos")
    u += [
        ("relu", ("relu",), lambda L, F, t: F.relu(t["x"])),
        ("logical_not", ("logical_not",), lambda L, F, t: L.logical_not(t["b1"])),
        ("bitwise_not (int32)", ("bitwise_not",), lambda L, F, t: L.bitwise_not(t["i1"])),
    ]
    b = []

    def bi(name, a="x", c="y"):
        b.append((name, (name,), lambda L, F, t: getattr(L, name)(t[a], t[c])))
    for name in ("add", "sub", "mul", "div", "maximum", "minimum", "atan2", "eq", "ne", "lt",
                 "le", "gt", "ge"):
        bi(name)
    bi("pow", "pos", "y")
    bi("floor_divide", "x", "pos")
    bi("remainder", "x", "pos")
    bi("fmod", "x", "pos")
    for name in ("logical_and", "logical_or", "logical_xor"):
        bi(name, "b1", "b2")
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        bi(name, "i1", "i2")
    b += [
        ("where", ("where",), lambda L, F, t: L.where(t["b1"], t["x"], t["y"])),
        ("convert float32 -> float64", ("convert",), lambda L, F, t: t["x"].double()),
        ("add scalar", (), lambda L, F, t: t["x"] + 1.5),
        ("mul scalar", (), lambda L, F, t: t["x"] * 1.5),
        ("add row vector (broadcast)", (), lambda L, F, t: t["m"] + t["bias"]),
    ]
    r = []
    for name in ("sum", "prod", "amax", "amin", "argmax", "argmin", "mean", "var", "std",
                 "logsumexp", "norm"):
        if name == "logsumexp":
            full = lambda L, F, t: L.logsumexp(t["x"], 0)
        else:
            full = (lambda n: lambda L, F, t: getattr(t["x"], n)())(name)
        prim = (name,) if name in ("sum", "prod", "amax", "amin", "argmax", "argmin") else ()
        r.append((f"{name}, all 4M", prim, full))
        r.append((f"{name}(dim=-1), 2048x2048", prim,
                  (lambda n: lambda L, F, t: getattr(t["m"], n)(-1))(name)))
    r += [
        ("sum(dim=0), 2048x2048", (), lambda L, F, t: t["m"].sum(0)),
        ("cumsum(dim=-1), 2048x2048", ("cumsum",), lambda L, F, t: t["m"].cumsum(-1)),
        ("cumsum, all 4M", ("cumsum",), lambda L, F, t: t["x"].cumsum(0)),
        ("cumprod(dim=-1), 2048x2048", (), lambda L, F, t: t["m"].cumprod(-1)),
        ("var_mean(dim=-1)", (), lambda L, F, t: L.var_mean(t["m"], -1)),
        ("softmax(dim=-1)", (), lambda L, F, t: F.softmax(t["m"], -1)),
        ("log_softmax(dim=-1)", (), lambda L, F, t: F.log_softmax(t["m"], -1)),
        ("layer_norm (affine)", (), lambda L, F, t: F.layer_norm(t["m"], (ROWS[1],), t["w"],
                                                                 t["bias"])),
        ("rms_norm (weight)", (), lambda L, F, t: F.rms_norm(t["m"], (ROWS[1],), t["w"])),
        ("cross_entropy, 2048 rows of 2048", (), lambda L, F, t: F.cross_entropy(t["m"], t["cls"])),
        ("normalize (L2, dim=-1)", (), lambda L, F, t: F.normalize(t["m"], dim=-1)),
    ]
    c = [   # composites: activations and math users call on whole tensors
        ("gelu", (), lambda L, F, t: F.gelu(t["x"])),
        ("gelu (tanh)", (), lambda L, F, t: F.gelu(t["x"], approximate="tanh")),
        ("silu", (), lambda L, F, t: F.silu(t["x"])),
        ("softplus", (), lambda L, F, t: F.softplus(t["x"])),
        ("logsigmoid", (), lambda L, F, t: F.logsigmoid(t["x"])),
        ("mish", (), lambda L, F, t: F.mish(t["x"])),
        ("elu", (), lambda L, F, t: F.elu(t["x"])),
        ("leaky_relu", (), lambda L, F, t: F.leaky_relu(t["x"])),
        ("hardswish", (), lambda L, F, t: F.hardswish(t["x"])),
        ("hardtanh", (), lambda L, F, t: F.hardtanh(t["x"])),
        ("clamp(-0.5, 0.5)", (), lambda L, F, t: L.clamp(t["x"], -0.5, 0.5)),
        ("square", (), lambda L, F, t: L.square(t["x"])),
        ("log2", (), lambda L, F, t: L.log2(t["pos"])),
        ("exp2", (), lambda L, F, t: L.exp2(t["x"])),
        ("tan", (), lambda L, F, t: L.tan(t["unit"])),
        ("sinh", (), lambda L, F, t: L.sinh(t["x"])),
        ("cosh", (), lambda L, F, t: L.cosh(t["x"])),
        ("lerp(x, y, 0.3)", (), lambda L, F, t: L.lerp(t["x"], t["y"], 0.3)),
        ("addcmul", (), lambda L, F, t: L.addcmul(t["x"], t["y"], t["x"], value=0.5)),
        ("masked_fill", (), lambda L, F, t: t["x"].masked_fill(t["b1"], 0.0)),
        ("mse_loss", (), lambda L, F, t: F.mse_loss(t["x"], t["y"])),
        ("dropout(p=0.1, training)", (), lambda L, F, t: F.dropout(t["x"], 0.1, True)),
    ]
    return [("elementwise, unary", u), ("elementwise, binary", b),
            ("reductions and row ops", r), ("composites", c)]


def uncovered():
    """Elementwise and reduction primitives of ember's registry that no row exercises."""
    from ember.ops import REGISTRY
    covered = {p for _, rows in _ops() for _, prims, _ in rows for p in prims}
    return sorted(n for n, p in REGISTRY.items()
                  if p.family in ("elementwise", "reduce") and n not in covered)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    only = set(argv[argv.index("--only") + 1].split(",")) if "--only" in argv else None
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 5
    import ember
    torch = try_torch()
    if torch is None:
        sys.exit("bench_sweep compares against PyTorch eager; torch is not installed")
    arrays = _data()
    e = {k: ember.tensor(v) for k, v in arrays.items()}
    t = {k: torch.tensor(v) for k, v in arrays.items()}
    eF, tF = ember.nn.functional, torch.nn.functional
    lines, worst = [], []
    for section, rows in _ops():
        table = []
        for name, _, fn in rows:
            if only and not any(o in name for o in only):
                continue
            try:
                row = compare(name, lambda: fn(ember, eF, e), lambda: fn(torch, tF, t),
                              target=TARGET, repeat=repeat, budget=0.03)
            except Exception as err:   # an op ember lacks: a row that says so, not a crash
                print(f"| {name} | FAILED: {type(err).__name__}: {str(err)[:100]} |", flush=True)
                continue
            print(f"  {name}: {row.ratio:.2f}", file=sys.stderr, flush=True)
            table.append(row)
            worst.append(row)
        if table:
            print_table(f"eager sweep, {section}, 4M float32", table)
            lines.append((section, table))
    missing = uncovered()
    if missing:
        print(f"\nnot in the sweep (add a row): {', '.join(missing)}")
    misses = sorted((r for r in worst if r.ratio > TARGET), key=lambda r: -r.ratio)
    print(f"\n{len(worst)} ops, {len(misses)} above {TARGET}: "
          + ", ".join(f"{r.name} {r.ratio:.2f}" for r in misses))
    ratios = [r.ratio for r in worst if r.ratio]
    if ratios:
        print(f"geometric mean ratio {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}  "
              f"({machine()})")
    if "--write" in argv:
        _write(argv[argv.index("--write") + 1], lines)
    return worst


def _write(path, sections):
    from benchmarks.harness import _fmt_time
    with open(path, "w") as f:
        f.write(f"eager sweep, 4M float32 ({machine()})\n\n")
        f.write("| op | ember | torch | ratio | |\n|---|---|---|---|---|\n")
        for section, rows in sections:
            f.write(f"| **{section}** | | | | |\n")
            for r in rows:
                f.write(f"| {r.name} | {_fmt_time(r.ember_s)} | {_fmt_time(r.torch_s)} | "
                        f"{r.ratio:.2f} | {r.verdict} |\n")


if __name__ == "__main__":
    main()
