"""Run the Triton backend tests on a real GPU (no interpreter) and print a table.

    python scripts/gpu_check.py            # needs a CUDA GPU, triton and ember's CUDA runtime

Until ember's CUDA runtime exists the kernels are launched on host memory only through the
interpreter, so on a GPU machine this script reports that the CUDA runtime is missing.
"""
import os
import subprocess
import sys
import time


def main():
    os.environ.pop("TRITON_INTERPRET", None)
    try:
        import ember.runtime.cuda  # noqa: F401  (the CUDA runtime issue)
    except ImportError:
        print("ember has no CUDA runtime yet: nothing to run on the GPU")
        return 2
    start = time.time()
    r = subprocess.run([sys.executable, "-m", "pytest", "tests/codegen_triton", "-q", "-rA"],
                       env=dict(os.environ, EMBER_TRITON_SWEEP="1", EMBER_TRITON_DEVICE="cuda"),
                       capture_output=True, text=True)
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith(("PASSED", "FAILED", "XFAIL",
                                                               "SKIPPED", "ERROR"))]
    print(f"{'status':8} test")
    for ln in rows:
        status, _, name = ln.partition(" ")
        print(f"{status:8} {name}")
    print(f"wall {time.time() - start:.1f}s, exit {r.returncode}")
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
