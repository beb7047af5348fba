"""Carrying an exception from a worker to the main process with the worker's traceback."""
from __future__ import annotations

import pickle
import sys
import traceback


class KeyErrorMessage(str):
    """KeyError repr()s its message; this str keeps a multi-line traceback readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception plus its formatted traceback; ``reraise()`` raises the same type in the main
    process, its message naming the worker and quoting the original traceback (as PyTorch)."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where
        try:  # the class travels by reference; fall back when it cannot (e.g. defined locally)
            pickle.loads(pickle.dumps(self.exc_type))
        except Exception:
            self.exc_type = RuntimeError

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # constructors that need other arguments
            raise RuntimeError(msg) from None
        raise exception
