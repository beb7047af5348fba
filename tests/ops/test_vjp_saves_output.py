"""A vjp that reads `out` must be declared saves_output=True, or the tape hands it None."""
import dis

import pytest

from ember.ops import REGISTRY


def _reads_out(fn):
    code = fn.__code__
    if code.co_argcount < 2 or code.co_varnames[1] != "out":
        return False
    return any(ins.argval == "out" and ins.opname.startswith("LOAD")
               for ins in dis.get_instructions(fn))


@pytest.mark.parametrize("name", sorted(n for n, p in REGISTRY.items() if p.vjp is not None))
def test_vjp_that_reads_out_saves_it(name):
    prim = REGISTRY[name]
    if _reads_out(prim.vjp):
        assert prim.saves_output, f"{name}: vjp reads `out` but saves_output=False"


def test_the_check_can_fail():
    assert _reads_out(lambda g, out, x: (g * out,))
    assert not _reads_out(lambda g, out, x: (g * x,))
