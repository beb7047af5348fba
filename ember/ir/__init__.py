"""ember.ir: the graph IR (SSA nodes over values with symbolic shapes), its printed form (valid
Python, the saved format), the parser, verifier and reference interpreter.  Tracing Python code
into a graph is the frontend's (``ember.frontend.trace``); Programs and ``.ember`` files are
``ember.jit``'s."""
from .graph import Graph, Node, Value, INPUT_KINDS  # noqa: F401
from .meta import TensorMeta, format_type, parse_type, IRSyntaxError  # noqa: F401
from .printer import print_graph  # noqa: F401
from .parser import parse_graph  # noqa: F401
from .verify import verify, VerifyError  # noqa: F401
from .interpret import interpret, Interpreter, InputError  # noqa: F401
from .nx_view import to_networkx, to_dot  # noqa: F401
