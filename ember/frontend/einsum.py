"""einsum as a composite: repeated labels become diagonals, labels nobody needs are summed out, and
operands are contracted pairwise (left to right) with one batched matmul each.  Written on the
Tensor API, so it runs eagerly, traces into primitives and needs no gradient rule."""
from __future__ import annotations

from ..shapes import prod as _prod
from .tensor import Tensor


def _parse(equation, operands):
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        more = "more" if len(operands) > len(terms) else "fewer"
        raise RuntimeError(f"einsum(): {more} operands were provided than specified in the "
                           "equation")
    n_ell = 0
    for t, x in zip(terms, operands):
        if "..." in t:
            n_ell = max(n_ell, x.ndim - (len(t) - 3))
    ell = [f"...{k}" for k in range(n_ell)]   # ellipsis dims, right-aligned across operands
    labels = []
    for i, (t, x) in enumerate(zip(terms, operands)):
        if "..." in t:
            before, after = t.split("...")
            k = x.ndim - len(before) - len(after)
            ls = list(before) + ell[n_ell - k:] + list(after)
        else:
            ls = list(t)
        if len(ls) != x.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(ls)}) "
                               f"does not match the number of dimensions ({x.ndim}) for operand "
                               f"{i}" + ("" if "..." in t else " and no ellipsis was given"))
        labels.append(ls)
    if arrow:
        if "..." in out:
            before, after = out.split("...")
            out_labels = list(before) + ell + list(after)
        else:
            out_labels = list(out)
    else:
        counts = {}
        for ls in labels:
            for label in ls:
                counts[label] = counts.get(label, 0) + 1
        out_labels = ell + sorted(l for l, c in counts.items() if c == 1 and not l.startswith("."))
    return labels, out_labels


def _take_diagonals(x, ls):
    """Repeated labels within one operand ('ii') select the diagonal."""
    while True:
        dup = next((l for l in ls if ls.count(l) > 1), None)
        if dup is None:
            return x, ls
        i = ls.index(dup)
        j = ls.index(dup, i + 1)
        x = x.diagonal(0, i, j)    # the diagonal becomes the last dim
        ls = [l for k, l in enumerate(ls) if k not in (i, j)] + [dup]


def _sum_out(x, ls, keep):
    dims = [i for i, l in enumerate(ls) if l not in keep]
    if not dims:
        return x, ls
    return x.sum(tuple(dims)), [l for l in ls if l in keep]


def _contract(a, la, b, lb, keep):
    batch = [l for l in la if l in lb and l in keep]
    contr = [l for l in la if l in lb and l not in keep]
    a_free = [l for l in la if l not in lb]
    b_free = [l for l in lb if l not in la]
    a = a.permute(*[la.index(l) for l in batch + a_free + contr])
    b = b.permute(*[lb.index(l) for l in batch + contr + b_free])
    size = {}
    for l, n in list(zip(batch + a_free + contr, a.shape)) + list(zip(batch + contr + b_free,
                                                                          b.shape)):
        size[l] = n if size.get(l, 1) == 1 else size[l]
    a = a.expand(*[size[l] for l in batch + a_free + contr])
    b = b.expand(*[size[l] for l in batch + contr + b_free])
    nb, na, nc, nf = (_prod([size[l] for l in g]) for g in (batch, a_free, contr, b_free))
    out = a.reshape(nb, na, nc).matmul(b.reshape(nb, nc, nf))
    return out.reshape(tuple(size[l] for l in batch + a_free + b_free)), batch + a_free + b_free


def einsum(equation, *operands):
    for x in operands:
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, not {type(x).__name__}")
    labels, out_labels = _parse(equation, operands)
    xs, ls = [], []
    for x, lab in zip(operands, labels):
        x, lab = _take_diagonals(x, lab)
        xs.append(x)
        ls.append(lab)
    acc, la = xs[0], ls[0]
    for i in range(1, len(xs) + 1):
        later = set(out_labels).union(*ls[i:]) if i < len(xs) else set(out_labels)
        if i == len(xs):
            acc, la = _sum_out(acc, la, later)
            break
        b, lb = xs[i], ls[i]
        acc, la = _sum_out(acc, la, later | set(lb))
        b, lb = _sum_out(b, lb, later | set(la))
        acc, la = _contract(acc, la, b, lb, later)
    missing = [l for l in out_labels if l not in la]
    if missing:
        raise RuntimeError(f"einsum(): output subscript {missing[0]} does not appear in the "
                           "equation for any input operand")
    return acc.permute(*[la.index(l) for l in out_labels]) if la != out_labels else acc
