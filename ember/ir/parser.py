"""Parse the printed form back into a Graph with ``ast`` and ``tokenize`` only (never eval/exec).

Every construct the printer emits is accepted; anything else is an IRSyntaxError naming the line.
"""
from __future__ import annotations

import ast
import io
import tokenize

from .. import dtypes as dt
from ..ops.registry import REGISTRY
from .graph import Graph
from .meta import IRSyntaxError, expr_from_ast, parse_type


def _comments(text):
    """line number -> the comment text on that line."""
    out = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string[1:].strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _fail(node, msg):
    raise IRSyntaxError(f"line {getattr(node, 'lineno', '?')}: {msg}")


def _param(node):
    """A node param from its ast: ints, floats (float('inf') spelled out), bools, None, strings,
    tuples, dtypes (f32) and size expressions (s0 * 2)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_param(e) for e in node.elts)
    if isinstance(node, ast.Name) and node.id in dt.BY_SHORT:
        return dt.BY_SHORT[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float" \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant) \
            and node.args[0].value in ("inf", "-inf", "nan"):
        return float(node.args[0].value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(
            node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        return -node.operand.value
    return expr_from_ast(node)


def _annotation(arg):
    ann = arg.annotation
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        return parse_type(ann.value, arg.lineno), "input", None
    if isinstance(ann, ast.Call) and isinstance(ann.func, ast.Name) and ann.func.id in (
            "param", "buffer", "const") and not ann.keywords and ann.args and all(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in ann.args):
        kind = ann.func.id
        want = 1 if kind == "const" else 2
        if len(ann.args) != want:
            _fail(arg, f"{kind}(...) takes {want} string argument(s)")
        target = ann.args[1].value if want == 2 else None
        return parse_type(ann.args[0].value, arg.lineno), kind, target
    _fail(arg, f"argument {arg.arg!r} needs a type annotation like \"f32[2,3]\"")


def parse_graph(text: str) -> Graph:
    try:
        module = ast.parse(text)
    except SyntaxError as e:
        raise IRSyntaxError(f"line {e.lineno}: {e.msg}") from None
    defs = [s for s in module.body if isinstance(s, ast.FunctionDef)]
    if len(defs) != 1 or len(module.body) != 1:
        raise IRSyntaxError("an ember program is exactly one function definition")
    fn = defs[0]
    a = fn.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults:
        _fail(fn, "the function takes plain positional arguments only")
    comments = _comments(text)
    g = Graph(fn.name)
    env = {}
    for arg in a.args:
        meta, kind, target = _annotation(arg)
        if arg.arg in env:
            _fail(arg, f"argument {arg.arg!r} is defined twice")
        env[arg.arg] = g.add_input(meta, arg.arg, kind, target)
    returned = False
    for st in fn.body:
        if returned:
            _fail(st, "statements after return")
        if isinstance(st, ast.Assert):
            rel = expr_from_ast(st.test, st.lineno)
            g.guards.append(rel)
        elif isinstance(st, ast.AnnAssign):
            _node(g, st, env, comments)
        elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and isinstance(
                st.value.func, ast.Attribute) and st.value.func.attr == "copy_":
            call = st.value
            target, value = call.func.value, call.args[0] if len(call.args) == 1 else None
            if not isinstance(target, ast.Name) or not isinstance(value, ast.Name) or \
                    call.keywords:
                _fail(st, "expected `input.copy_(value)`")
            tv, vv = _lookup(env, target), _lookup(env, value)
            if tv.kind is None:
                _fail(st, f"copy_ writes back into graph inputs only, not {target.id!r}")
            g.mutations[tv] = vv
        elif isinstance(st, ast.Return):
            if not isinstance(st.value, ast.Tuple):
                _fail(st, "return a tuple of values")
            g.outputs = [_lookup(env, e) for e in st.value.elts]
            returned = True
        else:
            _fail(st, f"unexpected statement: {ast.unparse(st)[:60]}")
    if not returned:
        _fail(fn, "the function has no return statement")
    return g


def _lookup(env, name_node):
    if not isinstance(name_node, ast.Name):
        _fail(name_node, f"expected a value name, got {ast.unparse(name_node)}")
    v = env.get(name_node.id)
    if v is None:
        _fail(name_node, f"{name_node.id!r} is used before it is defined")
    return v


def _node(g, st, env, comments):
    if not isinstance(st.target, ast.Name) or not (
            isinstance(st.annotation, ast.Constant) and isinstance(st.annotation.value, str)):
        _fail(st, "expected `name: \"type\" = primitive(...)`")
    call = st.value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        _fail(st, "the right-hand side must be a primitive call")
    prim = REGISTRY.get(call.func.id)
    if prim is None:
        _fail(st, f"unknown primitive {call.func.id!r}")
    name = st.target.id
    if name in env:
        _fail(st, f"{name!r} is assigned twice (the IR is SSA)")
    inputs = [_lookup(env, a) for a in call.args]
    params = {}
    for kw in call.keywords:
        if kw.arg is None:
            _fail(st, "**kwargs are not allowed")
        try:
            params[kw.arg] = _param(kw.value)
        except IRSyntaxError:
            raise
        except Exception as e:
            _fail(st, f"bad value for param {kw.arg!r}: {e}")
    meta = parse_type(st.annotation.value, st.lineno)
    g.add_node(prim, inputs, params, meta, comments.get(st.lineno))
    out = g.nodes[-1].out
    out.name = name
    env[name] = out
