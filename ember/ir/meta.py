"""TensorMeta (shape + dtype of a graph value) and its printed form ``f32[s0,256]``.

Shapes hold ints or sympy expressions over size symbols (s0, s1, ...).  Dim expressions are printed
as Python expressions and read back with ``ast`` (never eval), so printing and parsing are exact
inverses: ``parse_type(format_type(m)) == m``.
"""
from __future__ import annotations

import ast

from .. import dtypes as dt
from ..ops.registry import Meta as TensorMeta
from ..shapes import is_sym, sym, sympy   # sympy: imported on first use

__all__ = ["TensorMeta", "format_type", "parse_type", "format_dim", "expr_from_ast", "IRSyntaxError"]


class IRSyntaxError(ValueError):
    """The IR text is not a well-formed ember program; the message names the line."""


def format_dim(d) -> str:
    if isinstance(d, int):
        return str(d)
    return str(d).replace(" ", "")


def format_type(meta) -> str:
    return f"{meta.dtype.short}[{','.join(format_dim(d) for d in meta.shape)}]"


def parse_type(text: str, line=None) -> TensorMeta:
    where = f"line {line}: " if line else ""
    head, sep, rest = text.partition("[")
    if not sep or not rest.endswith("]") or head not in dt.BY_SHORT:
        raise IRSyntaxError(f"{where}bad type {text!r} (expected e.g. 'f32[s0,256]')")
    body = rest[:-1].strip()
    if not body:
        return TensorMeta((), dt.BY_SHORT[head])
    try:
        tree = ast.parse(f"({body},)", mode="eval").body
    except SyntaxError:
        raise IRSyntaxError(f"{where}bad shape in type {text!r}") from None
    shape = tuple(_dim(expr_from_ast(e, line)) for e in tree.elts)
    return TensorMeta(shape, dt.BY_SHORT[head])


def _dim(e):
    if is_sym(e):
        return int(e) if e.is_Integer else e
    if isinstance(e, int) and not isinstance(e, bool):
        return e
    raise IRSyntaxError(f"a dim must be an int or a size expression, got {e!r}")


_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: sympy.Rational(a, b) if isinstance(a, int) and isinstance(b, int)
    else a / b,
    ast.FloorDiv: lambda a, b: a // b if isinstance(a, int) and isinstance(b, int)
    else sympy.floor(sympy.sympify(a) / b),
    ast.Mod: lambda a, b: a % b if isinstance(a, int) and isinstance(b, int) else sympy.Mod(a, b),
    ast.Pow: lambda a, b: a ** b,
}
_FUNCS = ("floor", "ceiling", "Mod", "Max", "Min")          # sympy functions, by name
_COMPARE = {ast.Eq: "Eq", ast.NotEq: "Ne", ast.Lt: "Lt", ast.LtE: "Le", ast.Gt: "Gt",
            ast.GtE: "Ge"}                                   # sympy relations, by name


def expr_from_ast(node, line=None):
    """An int or sympy expression from the ast of a size expression (names are size symbols)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(
            node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        return sym(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = expr_from_ast(node.operand, line)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](expr_from_ast(node.left, line), expr_from_ast(node.right, line))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS \
            and not node.keywords:
        return getattr(sympy, node.func.id)(*[expr_from_ast(a, line) for a in node.args])
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return getattr(sympy, _COMPARE[type(node.ops[0])])(expr_from_ast(node.left, line),
                                                           expr_from_ast(node.comparators[0],
                                                                         line))
    raise IRSyntaxError(f"line {getattr(node, 'lineno', line)}: not a size expression: "
                        f"{ast.unparse(node)}")


def format_relation(rel) -> str:
    """A guard as Python source: 's0 >= 2', 'Mod(s0, 2) == 0'."""
    ops = {sympy.Eq: "==", sympy.Ne: "!=", sympy.Lt: "<", sympy.Le: "<=", sympy.Gt: ">",
           sympy.Ge: ">="}
    for cls, op in ops.items():
        if isinstance(rel, cls):
            return f"{format_dim(rel.lhs)} {op} {format_dim(rel.rhs)}"
    raise ValueError(f"not a relation: {rel}")
