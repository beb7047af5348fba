"""Train an MLP on scikit-learn's handwritten digits (8x8 images, 1797 samples, shipped with the
package: no download) with ember, written exactly as a PyTorch user would write it.

    python examples/mlp_digits.py [--epochs 30]

Prints a progress bar per epoch and a final test accuracy line (>= 95% expected).
"""
from __future__ import annotations

import time

from _common import accuracy, digits_split, parse_args, progress, report_final

import ember as torch
import ember.nn as nn


class MLP(nn.Module):
    def __init__(self, n_in=64, hidden=128, n_out=10, p_drop=0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, n_out))

    def forward(self, x):
        return self.net(x)


def main():
    args = parse_args(epochs=30, batch_size=64, lr=1e-3)
    torch.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = digits_split(args.seed, images=False)

    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    n = x_train.shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n)
        total = 0.0
        bar = progress(range(steps), epoch, args.epochs)
        for step in bar:
            idx = perm[step * args.batch_size:(step + 1) * args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            total += loss.item()
            bar.set_postfix(loss=f"{total / (step + 1):.4f}")
        print(f"epoch {epoch:2d}/{args.epochs} loss {total / steps:.4f} test acc "
              f"{accuracy(model, x_test, y_test):.4f}")
    return report_final(model, x_test, y_test, start)


if __name__ == "__main__":
    main()
