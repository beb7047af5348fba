"""Small training steps used by the compile tests and benchmarks: the same model, optimizer and
data built twice (one copy trained eagerly, one through ember.compile)."""
import numpy as np

import ember
import ember.nn as nn
import ember.nn.functional as F


def mlp(din=20, hidden=32, dout=5):
    return nn.Sequential(nn.Linear(din, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, dout))


class CNN(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)  # BN follows
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(6 * 2 * 2, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2)
        x = F.relu(self.conv2(x))
        return self.fc(self.drop(x.flatten(1)))


class TinyTransformer(nn.Module):
    def __init__(self, d=16, heads=2, classes=5, dropout=0.1):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=dropout,
                                                batch_first=True)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        return self.head(self.layer(x).mean(1))


def make(kind, opt="sgd", seed=0):
    ember.manual_seed(seed)
    model = {"mlp": mlp, "cnn": CNN, "transformer": TinyTransformer}[kind]()
    if opt == "sgd":
        o = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    elif opt == "adam":
        o = ember.optim.Adam(model.parameters(), lr=1e-2)
    else:
        o = ember.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    return model, o


def data(kind, n=8, seed=1):
    rng = np.random.default_rng(seed)
    shape = {"mlp": (n, 20), "cnn": (n, 1, 8, 8), "transformer": (n, 6, 16)}[kind]
    x = ember.tensor(rng.standard_normal(shape).astype(np.float32))
    y = ember.tensor(rng.integers(0, 5, size=(n,)))
    return x, y


def train_step_fn(model, opt, sched=None):
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        return loss
    return train_step
