"""The Triton tests run kernels on the CPU through Triton's interpreter.  TRITON_INTERPRET must be
set before triton is first imported; nothing in ember imports triton at import time (generated
modules do, when loaded), so setting it here is early enough even with other test packages in the
same session."""
import os
import tempfile

os.environ["TRITON_INTERPRET"] = "1"  # these tests hand kernels host memory
os.environ.setdefault("EMBER_TRITON_CACHE", os.path.join(tempfile.gettempdir(),
                                                         f"ember-triton-test-{os.getuid()}"))
