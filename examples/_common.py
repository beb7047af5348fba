"""What the digits examples share: arguments, the data split, the progress bar (tqdm, shown only
when stdout is a terminal: logs get one line per epoch instead), test accuracy and the final line.  The model and the training loop stay in each example: they are its point.

Imported as `from _common import ...`: `python examples/X.py` puts examples/ on sys.path.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import ember as torch


def parse_args(epochs, batch_size, lr):
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def digits_split(seed, images):
    """scikit-learn's 1797 digits scaled to 0..1, split 75/25 stratified: (x_train, x_test,
    y_train, y_test) as ember tensors.  images=True gives N x 1 x 8 x 8, else N x 64."""
    digits = load_digits()
    x = (digits.images[:, None] if images else digits.data) / 16.0   # pixel values 0..16 -> 0..1
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float32), digits.target, test_size=0.25, random_state=seed,
        stratify=digits.target)
    return (torch.tensor(x_train), torch.tensor(x_test),
            torch.tensor(y_train, dtype=torch.long), torch.tensor(y_test, dtype=torch.long))


def progress(iterable, epoch, epochs, total=None):
    """A tqdm bar over one epoch's batches on a terminal; silent when stdout is not one (no
    carriage returns in logs).  ``bar.set_postfix(loss=...)`` shows the running loss."""
    return tqdm(iterable, total=total, desc=f"epoch {epoch:2d}/{epochs}", unit="batch",
                file=sys.stdout, leave=False, disable=not sys.stdout.isatty())


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    model.train()
    return (pred == y).float().mean().item()


def report_final(model, x_test, y_test, start):
    """Prints and returns the final test accuracy; start: perf_counter() when training began."""
    acc = accuracy(model, x_test, y_test)
    print(f"final test accuracy: {acc * 100:.2f}% ({x_test.shape[0]} test images, "
          f"{time.perf_counter() - start:.1f} s)")
    return acc
