"""Cold compile: a static program's first compiled call imports neither sympy nor networkx (they
cost ~200 ms and ~65 ms, most of what the MLP step's first call took); symbolic ones still work."""
import os
import subprocess
import sys

import numpy as np

import ember
from ember.shapes import is_sym

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = """
import sys
import numpy as np
import ember
import ember.nn as nn
m = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 3))
opt = ember.optim.Adam(m.parameters(), lr=1e-3)

@ember.compile
def step(x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    return loss

x = ember.tensor(np.ones((5, 8), np.float32)); y = ember.tensor(np.array([0, 1, 2, 0, 1]))
for _ in range(3):
    step(x, y)
assert step.stats["compiles"] >= 1, step.stats
print(sorted(m for m in ("sympy", "networkx") if m in sys.modules))
"""


def test_static_compile_imports_no_sympy_or_networkx():
    env = dict(os.environ, EMBER_COMPILE_CACHE="0", PYTHONPATH=_ROOT)
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         env=env, cwd=_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_is_sym():
    import sympy
    assert not is_sym(3) and not is_sym(np.int64(3)) and not is_sym("s0")
    assert is_sym(sympy.Symbol("s0")) and is_sym(sympy.Integer(3))


def test_symbolic_compile_still_works():
    c = ember.compile(lambda x: (x * 2.0).sum(0), dynamic=True)
    for n in (3, 5):
        out = c(ember.tensor(np.ones((n, 4), np.float32)))
        np.testing.assert_array_equal(out._data, np.full(4, 2.0 * n, np.float32))
