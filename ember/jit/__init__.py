"""ember.jit: trace a function or module into a Program, save it, load it without the user's code.

    program = ember.jit.trace(model, (x,), dynamic=True)
    program.save("model.ember")
    same = ember.jit.load("model.ember")
"""
from .program import Program, trace  # noqa: F401
from .serialize import load_program as load, ProgramFormatError  # noqa: F401
from ..frontend.trace import TraceError  # noqa: F401
from ..ir.interpret import InputError  # noqa: F401

ScriptModule = Program  # what torch.jit.trace returns is called ScriptModule there

__all__ = ["trace", "load", "Program", "ScriptModule", "TraceError", "InputError",
           "ProgramFormatError"]
