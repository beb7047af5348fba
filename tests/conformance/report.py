"""Pass rates of ember against PyTorch's op_db, module_db and optim_db.

    python -m tests.conformance.report                 # print the rates (sampled run)
    EMBER_CONFORMANCE=full python -m tests.conformance.report --write-docs
    python -m tests.conformance.report --write-expected   # regenerate expected_failures.py

``--write-docs`` rewrites docs/conformance.md with the rates and the command; ``--write-expected``
rewrites the expected-failure table from this run (the sampled run writes OPS/MODULES/OPTIMS; a
full run writes the *_FULL_ONLY tables: entries that fail only on samples the sampled run skips).
Regenerating may only remove entries: review the diff, a new entry is a regression.
"""
from __future__ import annotations

import argparse
import os
import pprint
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_all(kind, names=None, progress=False):
    from . import module_runner, op_runner, optim_runner
    runner = {"ops": op_runner, "modules": module_runner, "optims": optim_runner}[kind]
    entries = runner.all_entries()
    results = {}
    for name in names or entries:
        t = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok, reason = runner.run_entry(entries[name])
        results[name] = (ok, reason, time.time() - t)
        if progress:
            print(f"{'PASS' if ok else 'FAIL'} {kind} {name}: {reason or ''}", file=sys.stderr,
                  flush=True)
    return entries, results


def rate(results, names):
    names = list(names)
    passed = sum(1 for n in names if results[n][0])
    return passed, len(names)


def fmt(p, n):
    return f"{p} of {n} ({100.0 * p / max(n, 1):.1f}%)"


def _write_expected(tables):
    from . import expected_failures as XF
    full = os.environ.get("EMBER_CONFORMANCE", "") == "full"
    current = {k: dict(getattr(XF, k)) for k in ("OPS", "MODULES", "OPTIMS", "OPS_FULL_ONLY",
                                                  "MODULES_FULL_ONLY", "OPTIMS_FULL_ONLY")}
    for kind, results in tables.items():
        key = kind.upper()
        fails = {n: r[1] for n, r in sorted(results.items()) if not r[0]}
        if full:
            current[key + "_FULL_ONLY"] = {n: r for n, r in fails.items()
                                           if n not in current[key]}
        else:
            current[key] = fails
    path = Path(__file__).with_name("expected_failures.py")
    head = path.read_text().split("# --- generated below", 1)[0]
    body = ["# --- generated below by `python -m tests.conformance.report --write-expected`\n"]
    for key, table in current.items():
        body.append(f"{key} = {pprint.pformat(table, width=100, sort_dicts=True)}\n\n")
    path.write_text(head + "".join(body).rstrip() + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["ops", "modules", "optims"], action="append")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--write-expected", action="store_true")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args(argv)
    from . import op_runner
    kinds = args.only or ["ops", "modules", "optims"]
    t0 = time.time()
    tables, lines = {}, []
    for kind in kinds:
        entries, results = run_all(kind, progress=args.progress)
        tables[kind] = results
        if kind == "ops":
            core = [n for n, op in entries.items() if op_runner.is_core(op)]
            lines.append(f"op_db core: {fmt(*rate(results, core))}")
            lines.append(f"op_db all: {fmt(*rate(results, results))}")
        else:
            lines.append(f"{'module_db' if kind == 'modules' else 'optim_db'}: "
                         f"{fmt(*rate(results, results))}")
    elapsed = time.time() - t0
    mode = "full" if op_runner.FULL else "sampled"
    print("\n".join(lines))
    print(f"({mode} run, {elapsed:.0f} s)")
    slow = sorted(((r[2], k, n) for k, res in tables.items() for n, r in res.items()),
                  reverse=True)[:10]
    print("slowest:", ", ".join(f"{n} {s:.1f}s" for s, k, n in slow))
    if args.write_expected:
        _write_expected(tables)
    if args.write_docs:
        _write_docs(lines, mode, elapsed)


def _write_docs(lines, mode, elapsed):
    path = ROOT / "docs" / "conformance.md"
    text = path.read_text() if path.exists() else ""
    start, end = "<!-- rates: generated -->", "<!-- end of rates -->"
    cmd = ("EMBER_CONFORMANCE=full python -m tests.conformance.report --write-docs"
           if mode == "full" else "python -m tests.conformance.report --write-docs")
    block = (f"{start}\nMeasured with `{cmd}` ({mode} run, {elapsed:.0f} s, "
             f"{time.strftime('%Y-%m-%d', time.gmtime())}):\n\n"
             + "\n".join(f"- {line}" for line in lines) + f"\n{end}")
    if start in text:
        text = text.split(start)[0] + block + text.split(end, 1)[1]
    else:
        text = text + "\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
