"""ember against PyTorch's own test databases (op_db, module_db, optim_db); see runner modules.

Each entry is one test.  Entries listed in expected_failures.py must fail (and pass the test by
failing); an entry listed there that passes is an error, so the list only shrinks.  The default
run checks a stable subset of samples per entry; EMBER_CONFORMANCE=full checks every sample and
more integer dtypes.
"""
import pytest

pytest.importorskip("torch")
pytest.importorskip("expecttest")  # torch's test databases import it

from . import expected_failures as XF  # noqa: E402
from . import module_runner, op_runner, optim_runner  # noqa: E402

FULL = op_runner.FULL
OPS = op_runner.all_entries()
MODULES = module_runner.all_entries()
OPTIMS = optim_runner.all_entries()


def _expected(table, full_only, name):
    if name in table:
        return table[name]
    if FULL and name in full_only:
        return full_only[name]
    return None


def _verdict(result, expected, name):
    ok, reason = result
    if expected is not None:
        if ok:
            pytest.fail(f"{name} passes now: delete its line from "
                        f"tests/conformance/expected_failures.py (xpass is an error)")
        return  # fails as recorded
    assert ok, f"{name}: {reason}"


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_db(name):
    _verdict(op_runner.run_entry(OPS[name]), _expected(XF.OPS, XF.OPS_FULL_ONLY, name), name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_db(name):
    _verdict(module_runner.run_entry(MODULES[name]),
             _expected(XF.MODULES, XF.MODULES_FULL_ONLY, name), name)


@pytest.mark.parametrize("name", sorted(OPTIMS))
def test_optim_db(name):
    _verdict(optim_runner.run_entry(OPTIMS[name]),
             _expected(XF.OPTIMS, XF.OPTIMS_FULL_ONLY, name), name)
