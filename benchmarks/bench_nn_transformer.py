"""Issue 3's transformer target: one training step (forward, MSE loss, backward, Adam update) of a
TransformerEncoderLayer (batch 8, seq 128, d_model 256, 4 heads, MLP 1024, dropout 0.1,
batch_first).  Target: ember within 2x of PyTorch eager on the same machine.

    python -m benchmarks.bench_nn_transformer [--threads N]
"""
from __future__ import annotations

import sys

from benchmarks.harness import interleaved, pin_threads, report, training_steps, try_torch

THREADS = pin_threads(sys.argv)  # before NumPy loads

import numpy as np  # noqa: E402

B, L, D, H, FF = 8, 128, 256, 4, 1024


def build(lib):
    return lib.nn.TransformerEncoderLayer(D, H, FF, batch_first=True)


def main():
    torch = try_torch()
    if torch and THREADS:
        torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, L, D)).astype(np.float32)
    target = rng.standard_normal((B, L, D)).astype(np.float32)

    ember_step, torch_step = training_steps(torch, build, "Adam", "mse_loss", x, target, lr=1e-4)
    row = interleaved(f"TransformerEncoderLayer training step, batch {B}, seq {L}, d_model {D}, "
                      f"{H} heads, MLP {FF} (Adam)", ember_step, torch_step, target=2.0, steps=15)
    report("ember.nn transformer encoder layer training step vs PyTorch eager", row, THREADS)


if __name__ == "__main__":
    main()
