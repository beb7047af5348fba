"""The Triton backend launches as many kernels as the kernel plan (passes/fusion.py) has groups,
for the row kernels and an Adam update (TRITON_INTERPRET=1 on small shapes, as the other tests)."""
import pytest

import ember
import ember.nn.functional as F
from ember.codegen.triton import TritonProgram
from ember.jit import trace
from ember.passes import run_pipeline
from tests.helpers import all_inputs

from .util import kernel_count


def _adam(p, g, m, v):
    m2 = m * 0.9 + g * 0.1
    v2 = v * 0.999 + g * g * 0.001
    return p - 0.01 * (m2 / 0.1) / ((v2 / 0.001).sqrt() + 1e-8), m2, v2


@pytest.mark.parametrize("name,fn,shapes", [
    ("softmax", lambda x: F.softmax(x, -1), [(5, 7)]),
    ("log_softmax", lambda x: F.log_softmax(x, -1), [(5, 7)]),
    ("layer_norm", lambda x: F.layer_norm(x, (7,)), [(5, 7)]),
    ("adam_update", _adam, [(6, 8)] * 4),
])
def test_triton_kernels_equal_the_plan(name, fn, shapes):
    ins = [ember.randn(*s) for s in shapes]
    program = trace(fn, ins)
    arrays = all_inputs(program, ins)
    graph = run_pipeline(program.graph, keep_stages=False).graph
    plan = [g for g in graph.fusion.kernels if g.shape != ()]   # 0-d scalar math is inlined
    tp = TritonProgram(graph)
    assert kernel_count(tp, arrays) == len(plan), tp.explain(arrays)
