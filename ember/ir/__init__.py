"""ember.ir: the graph IR (SSA nodes over values with symbolic shapes), its printed form (valid
Python, the saved format), the parser, verifier, reference interpreter, tracing and Programs."""
from .graph import Graph, Node, Value, INPUT_KINDS  # noqa: F401
from .meta import TensorMeta, format_type, parse_type, IRSyntaxError  # noqa: F401
from .printer import print_graph  # noqa: F401
from .parser import parse_graph  # noqa: F401
from .verify import verify, VerifyError  # noqa: F401
from .interpret import interpret, Interpreter, InputError  # noqa: F401
from .trace import Tracer, TraceError, data_dependent_error  # noqa: F401
from .program import Program, trace  # noqa: F401
from .nx_view import to_networkx, to_dot  # noqa: F401
from .serialize import save_program, load_program, ProgramFormatError  # noqa: F401
