"""Run every program of this directory in one process and print {program: [output lines]} as
JSON.  ``--ember`` installs ember.torch_alias first, so ``import torch`` imports ember."""
import contextlib
import io
import json
import os
import runpy
import sys

PROGRAMS = ["gpt_trainer", "word_lstm", "vae", "lbfgs_sine", "resnet_blocks"]


def main():
    if "--ember" in sys.argv:
        import ember.torch_alias
        ember.torch_alias.install()
    here = os.path.dirname(os.path.abspath(__file__))
    results = {}
    for name in PROGRAMS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            runpy.run_path(os.path.join(here, name + ".py"), run_name="__main__")
        results[name] = out.getvalue().splitlines()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
