"""Session-wide test setup.

Triton reads TRITON_INTERPRET when it is first imported.  Several test directories import Triton
(through ember.codegen.triton) while they are collected, before the Triton directories' own
conftest files run, so the interpreter switch is set here, first: without a GPU every Triton
kernel in the suite runs in Triton's interpreter.  ``EMBER_TEST_DEVICE=cuda`` (a real GPU) leaves
it alone.
"""
import os

if os.environ.get("EMBER_TEST_DEVICE") != "cuda":
    os.environ["TRITON_INTERPRET"] = "1"
