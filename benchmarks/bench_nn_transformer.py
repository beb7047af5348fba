"""Issue 3's transformer target: one training step (forward, MSE loss, backward, Adam update) of a
TransformerEncoderLayer (batch 8, seq 128, d_model 256, 4 heads, MLP 1024, dropout 0.1,
batch_first).  Target: ember within 2x of PyTorch eager on the same machine.

    python -m benchmarks.bench_nn_transformer [--threads N]
"""
from __future__ import annotations

import os
import sys

# `--threads N` pins BLAS (ember's NumPy) and PyTorch to N threads; set before NumPy loads, since
# OpenBLAS reads it once.  On a busy machine, multi-threaded BLAS timings swing by 100x.
THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else None
if THREADS:
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(THREADS)

import numpy as np  # noqa: E402

import ember  # noqa: E402
from benchmarks.bench_nn_cnn import interleaved, report  # noqa: E402
from benchmarks.harness import try_torch  # noqa: E402

B, L, D, H, FF = 8, 128, 256, 4, 1024


def main():
    torch = try_torch()
    if torch and THREADS:
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, L, D)).astype(np.float32)
    target = rng.standard_normal((B, L, D)).astype(np.float32)

    em = ember.nn.TransformerEncoderLayer(D, H, FF, batch_first=True)
    e_opt = ember.optim.Adam(em.parameters(), lr=1e-4)
    ex, et = ember.tensor(x), ember.tensor(target)

    def ember_step():
        e_opt.zero_grad()
        loss = ember.nn.functional.mse_loss(em(ex), et)
        loss.backward()
        e_opt.step()

    torch_step = None
    if torch:
        tm = torch.nn.TransformerEncoderLayer(D, H, FF, batch_first=True)
        tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in em.state_dict().items()})
        t_opt = torch.optim.Adam(tm.parameters(), lr=1e-4)
        tx, tt = torch.tensor(x), torch.tensor(target)

        def torch_step():
            t_opt.zero_grad()
            loss = torch.nn.functional.mse_loss(tm(tx), tt)
            loss.backward()
            t_opt.step()

    row = interleaved(f"TransformerEncoderLayer training step, batch {B}, seq {L}, d_model {D}, "
                      f"{H} heads, MLP {FF} (Adam)", ember_step, torch_step, target=2.0, steps=15)
    report("ember.nn transformer encoder layer training step vs PyTorch eager", row)


if __name__ == "__main__":
    main()
