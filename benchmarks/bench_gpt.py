"""Issue 12: a GPT-style language model's training step, where per-op cost dominates (2 layers,
d_model 64, 2 heads, sequence 32, batch 8, vocabulary 65, AdamW).  Targets: ember eager <= 2.0x
PyTorch eager, ember.compile <= 1.0x.

    python -m benchmarks.bench_gpt [--threads N] [--no-compile] [--no-torch-compile] [--busy]
"""
from __future__ import annotations

from benchmarks.small_models import gpt, run  # (first: --threads pins before NumPy loads)

import numpy as np  # noqa: E402


VOCAB, D, HEADS, LAYERS, SEQ, BATCH = 65, 64, 2, 2, 32, 8


def build(lib):
    return gpt(lib, VOCAB, D, HEADS, LAYERS, SEQ)


def optim(lib, params):
    return lib.optim.AdamW(params, lr=1e-3)


def main():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, VOCAB, (BATCH, SEQ))
    targets = rng.integers(0, VOCAB, (BATCH, SEQ))
    return run(f"GPT {LAYERS} layers, d_model {D}, {HEADS} heads, seq {SEQ}, batch {BATCH} "
               "(AdamW)", build, optim, (idx, targets))


if __name__ == "__main__":
    main()
