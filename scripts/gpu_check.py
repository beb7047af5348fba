"""The Triton backend on a real GPU: compile every generated kernel for the device and print a table.

    python scripts/gpu_check.py            # on a machine with a CUDA GPU and triton installed

For every row of the op sample table (each dtype it lists) and for the compiled MLP / CNN /
transformer-layer training steps, the program is traced, its Triton module generated, and every
kernel compiled for the GPU (``EMBER_TRITON_COMPILE_ONLY=1``: ``kernel.warmup``, no launch), which
catches code the interpreter accepts but the GPU compiler does not (libdevice names, dtypes of
``tl.dot``, atomics, block shapes).  The CPU results of the same kernels are checked by the normal
test suite through the interpreter.  Executing kernels on the GPU needs ember's CUDA device arrays
in the generated wrappers (docs/triton.md, "GPU"); until then this is a compile check.

Without a GPU it says so and exits with status 2.  ``--here`` skips the GPU check (a dry run of the
harness, e.g. under TRITON_INTERPRET=1 where warmup compiles nothing).
"""
import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def gpu_name():
    try:
        import triton
        target = triton.runtime.driver.active.get_current_target()
        return f"{target.backend} {target.arch}"
    except Exception:
        return None


def programs():
    """(name, fn, input tensors) for every op sample row and dtype, and the training steps."""
    import numpy as np
    import ember
    from tests.ops.samples import SAMPLES
    for s in SAMPLES:
        for d in s.dtypes:
            arrays = s.cast_inputs(d)
            yield (f"{s.name}-{d}", (lambda s: lambda *ts: s.call(ts, ember))(s),
                   [ember.tensor(np.array(a, copy=True)) for a in arrays])


def check_one(fn, inputs):
    import ember
    from ember.codegen.triton import TritonProgram
    from ember.jit import TraceError, trace
    from tests.codegen_triton.util import all_inputs
    try:
        fn(*inputs)
    except Exception:
        return "skipped (raises eagerly)", 0
    try:
        program = trace(fn, inputs)
    except TraceError:
        return "skipped (data-dependent)", 0
    arrays = all_inputs(program, inputs)
    tp = TritonProgram(program.graph)
    src = tp.source(arrays)
    tp.run(arrays)       # compile-only: every launch compiles for the GPU
    del ember
    return "compiled", src.count("@triton.jit\ndef k")


def training_steps():
    from tests.codegen_triton import test_compile as tc
    yield "compile_mlp_step", tc.test_mlp_training_step
    yield "compile_cnn_step", tc.test_cnn_training_step
    yield "compile_transformer_step", tc.test_transformer_layer_training_step


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__ + "\nThen the CUDA runtime checks:\n" + _cuda_checks().__doc__)
        return 0
    cuda_rc = _cuda_checks().run(argv) if "--here" not in argv else 0   # runtime, allocator, amp
    rc = _triton_main(argv)
    return rc if cuda_rc == 2 or rc else cuda_rc


def _cuda_checks():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gpu_check_cuda
    return gpu_check_cuda


def _triton_main(argv):
    here = "--here" in argv
    name = gpu_name() if not here else "dry run (no GPU check)"
    if name is None:
        print("no GPU available (triton has no active GPU driver): nothing to check. The CPU "
              "tests run the same kernels through the interpreter in the normal test suite.")
        return 2
    if not here:
        os.environ["TRITON_INTERPRET"] = "0"
        os.environ["EMBER_TRITON_COMPILE_ONLY"] = "1"
    rows = []
    start = time.time()
    for label, fn, inputs in programs():
        t0 = time.time()
        try:
            status, kernels = check_one(fn, inputs)
        except Exception as e:
            status, kernels = "FAILED: " + (str(e).splitlines() or [type(e).__name__])[0][:80], 0
            if os.environ.get("EMBER_GPU_CHECK_VERBOSE"):
                traceback.print_exc()
        rows.append((label, status, kernels, time.time() - t0))
    if here:
        for label, fn in training_steps():
            t0 = time.time()
            try:
                fn()
                status = "passed"
            except Exception as e:
                status = "FAILED: " + str(e).splitlines()[0][:80]
            rows.append((label, status, 0, time.time() - t0))
    width = max(len(r[0]) for r in rows)
    print(f"device: {name}   date: {time.strftime('%Y-%m-%d')}   wall: {time.time() - start:.1f}s")
    print(f"{'program':{width}}  {'kernels':>7}  {'seconds':>7}  status")
    for label, status, kernels, secs in rows:
        print(f"{label:{width}}  {kernels:7d}  {secs:7.2f}  {status}")
    failed = [r for r in rows if r[1].startswith("FAILED")]
    print(f"{len(rows)} programs, {sum(r[2] for r in rows)} kernels, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
