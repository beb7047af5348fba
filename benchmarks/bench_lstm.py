"""Issue 12: a 2-layer LSTM language model's training step, where per-op cost dominates
(embedding and hidden 32, sequence 20, batch 20, vocabulary 50; SGD with gradient clipping, as
PyTorch's word_language_model example).  Targets: ember eager <= 2.0x PyTorch eager,
ember.compile <= 1.0x.

    python -m benchmarks.bench_lstm [--threads N] [--no-compile] [--no-torch-compile] [--busy]
"""
from __future__ import annotations

from benchmarks.small_models import lstm_lm, run  # (first: --threads pins before NumPy loads)

import numpy as np  # noqa: E402


VOCAB, EMB, HIDDEN, LAYERS, SEQ, BATCH = 50, 32, 32, 2, 20, 20


def build(lib):
    return lstm_lm(lib, VOCAB, EMB, HIDDEN, LAYERS)


def optim(lib, params):
    return lib.optim.SGD(params, lr=1.0)


def main():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, VOCAB, (SEQ, BATCH))
    targets = rng.integers(0, VOCAB, (SEQ, BATCH))
    return run(f"LSTM LM {LAYERS} layers, emb/hidden {HIDDEN}, seq {SEQ}, batch {BATCH} (SGD, "
               "clip 0.25)", build, optim, (idx, targets), clip=0.25)


if __name__ == "__main__":
    main()
