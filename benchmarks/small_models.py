"""Small models where per-op cost dominates (issue 12): a GPT-style language model and a 2-layer
LSTM language model, each one training step (forward, cross-entropy, backward, optimizer step)
timed as ember eager, PyTorch eager, ember.compile and torch.compile from identical weights and
inputs.  ``bench_gpt`` and ``bench_lstm`` run them; this module holds what they share.

Each model is written once against a library namespace (``lib`` is ``ember`` or ``torch``), the
way a user writes it, so both sides run the same program.
"""
from __future__ import annotations

import math
import sys
import time

from benchmarks.harness import interleaved, print_table, try_torch  # (first: --threads pins before NumPy loads)

import numpy as np  # noqa: E402



def gpt(lib, vocab, d_model, heads, layers, seq):
    """minGPT-style decoder: token + position embeddings, pre-LayerNorm blocks of causal
    multi-head self-attention (explicit matmuls, mask, softmax) and a GELU MLP, a final LayerNorm
    and a linear head.  forward(idx, targets) -> mean cross-entropy."""
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
            self.qkv, self.proj = nn.Linear(d_model, 3 * d_model), nn.Linear(d_model, d_model)
            self.fc, self.out = nn.Linear(d_model, 4 * d_model), nn.Linear(4 * d_model, d_model)
            self.register_buffer("mask", lib.tril(lib.ones(seq, seq)).view(1, 1, seq, seq) == 0)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
            q = q.view(B, T, heads, C // heads).transpose(1, 2)
            k = k.view(B, T, heads, C // heads).transpose(1, 2)
            v = v.view(B, T, heads, C // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // heads))
            att = F.softmax(att.masked_fill(self.mask[:, :, :T, :T], float("-inf")), dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            x = x + self.proj(y)
            return x + self.out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, d_model), nn.Embedding(seq, d_model)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f, self.head = nn.LayerNorm(d_model), nn.Linear(d_model, vocab, bias=False)
            self.register_buffer("positions", lib.arange(seq))

        def forward(self, idx, targets):
            x = self.tok(idx) + self.pos(self.positions[:idx.shape[1]])
            for block in self.blocks:
                x = block(x)
            logits = self.head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
    return GPT()


def lstm_lm(lib, vocab, emb, hidden, layers):
    """The word-language-model example's LSTM: embedding, a multi-layer LSTM (sequence first),
    a linear decoder.  forward(idx [seq, batch], targets) -> mean cross-entropy."""
    nn, F = lib.nn, lib.nn.functional

    class LSTMLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, emb)
            self.rnn = nn.LSTM(emb, hidden, layers)
            self.decoder = nn.Linear(hidden, vocab)

        def forward(self, idx, targets):
            out, _ = self.rnn(self.encoder(idx))
            return F.cross_entropy(self.decoder(out).view(-1, vocab), targets.view(-1))
    return LSTMLM()


def make_step(lib, model, optimizer, clip=None):
    """zero_grad, loss, backward, (gradient clipping), optimizer step; returns the loss."""
    params = list(model.parameters())

    def step(idx, targets):
        optimizer.zero_grad()
        loss = model(idx, targets)
        loss.backward()
        if clip is not None:
            lib.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        return loss
    return step


def copy_weights(src, dst, lib):
    """dst (any library) takes src's (ember) parameters and buffers."""
    dst.load_state_dict({k: lib.tensor(np.array(v.detach().numpy()))
                         for k, v in src.state_dict().items()})


def run(title, build, optim, inputs, torch_compile=True, steps=20, clip=None):
    """Time one training step four ways and print the table.  build(lib) -> model;
    optim(lib, params) -> optimizer; inputs: NumPy (idx, targets)."""
    import ember
    torch = try_torch()
    argv = sys.argv[1:]
    torch_compile = torch_compile and torch is not None and "--no-torch-compile" not in argv
    do_compile = "--no-compile" not in argv
    ember.manual_seed(0)
    reference = build(ember)
    variants = {}

    def add(name, lib, compiled):
        model = build(lib)
        copy_weights(reference, model, lib)
        step = make_step(lib, model, optim(lib, model.parameters()), clip)
        if compiled:
            step = (ember.compile if lib is ember else lib.compile)(step)
        x, y = (lib.tensor(a) for a in inputs)
        variants[name] = (lambda: step(x, y))
    add("ember eager", ember, False)
    if torch is not None:
        add("torch eager", torch, False)
    if do_compile:
        add("ember.compile", ember, True)
    if torch_compile:
        add("torch.compile", torch, True)

    # the first step of each from the same weights: the losses must agree
    first, errors = {}, {}
    for name, fn in list(variants.items()):
        t0 = time.perf_counter()
        try:
            first[name] = float(fn().item())
        except Exception as e:   # a compile that fails is reported, not fatal
            errors[name] = f"{type(e).__name__}: {str(e)[:160]}"
            del variants[name]
            continue
        print(f"{name}: first step {time.perf_counter() - t0:.2f} s, loss {first[name]:.6f}",
              flush=True)
    for name, err in errors.items():
        print(f"{name}: FAILED {err}")
    base = first["ember eager"]
    for name, loss in first.items():
        if abs(loss - base) > 1e-4 * max(1.0, abs(base)):
            print(f"LOSS MISMATCH: {name} {loss} vs ember eager {base}")

    rows = []
    tref = variants.get("torch eager")
    for name, fn in variants.items():
        if name == "torch eager":
            continue
        target = {"ember eager": 2.0, "ember.compile": 1.0}.get(name)
        rows.append(interleaved(f"{name} vs torch eager", fn, tref, target, steps=steps))
    print_table(f"{title}, one training step", rows)
    return rows
