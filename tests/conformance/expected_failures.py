"""The one list of conformance entries ember is known to fail, each with its reason.

Keys are entry names (`op_db`: ``name[.variant]``; `module_db`: ``nn.X``; `optim_db`:
``Optimizer.config description``); values say why it fails (the first disagreement found).
The tests fail when a listed entry passes ("xpass is an error"), so this list only shrinks: fix
an op, then delete its line.  A new failure is a regression to fix, not a line to add.

``*_FULL_ONLY`` tables list entries that fail only on samples or dtypes that the default,
sampled run skips (they are expected to pass the sampled run, and to fail with
EMBER_CONFORMANCE=full).
"""

# --- generated below by `python -m tests.conformance.report --write-expected`
OPS = {}
MODULES = {}
OPTIMS = {}
OPS_FULL_ONLY = {}
MODULES_FULL_ONLY = {}
OPTIMS_FULL_ONLY = {}
