"""The layering of docs/design.md, enforced: every import in ember/ (function-local ones too) is
read with ``ast`` and checked against the layer table below.  There is no exceptions list: an
import that breaks the order is a design change (move the code, or add an entry point that the
higher layer installs), not an entry here.

A new top-level part of ``ember`` must be added to ``LAYERS``: the test fails and says so.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ember"

# The order, bottom to top.  A part may import the parts of its own layer that it lists and every
# part of the layers below; "*" means every part of its own layer (libraries use each other).
# Add a new top-level package or module of ember/ to the layer it belongs to.
LAYERS = [
    # _logging (the EMBER_LOGS topics) imports nothing from ember, so every layer may log
    ("base", ["dtypes", "shapes", "_logging"], {"shapes": {"dtypes", "_logging"}}),
    # runtime (CPU pool, CUDA runtime, allocator) depends only on dtypes/shapes
    ("runtime", ["runtime"], {}),
    ("ops", ["ops"], {}),
    ("ir", ["ir"], {}),
    ("passes", ["passes"], {}),
    ("codegen", ["codegen"], {}),
    # Tensor, bind, autograd, tracing, eager execution; "ember" is the root package (it
    # re-exports the frontend; upper layers are reached through it by name only, lazily)
    # legacy_tensors (LongTensor, ...) and settings (set_num_threads, ...) are root-package names
    ("frontend", ["frontend", "ember", "legacy_tensors", "settings"],
     {"ember": {"frontend", "legacy_tensors", "settings"},
      "legacy_tensors": {"frontend"}, "settings": {"frontend"}}),
    # libraries on the frontend (they may use each other, without cycles)
    ("libraries", ["nn", "optim", "amp", "cuda", "utils", "multiprocessing", "serialization",
                   "testing", "distributed", "profiler", "hub", "backends",
                   "accelerator", "special", "fft", "linalg", "masked", "sparse", "quantization",
                   "autograd", "func", "export", "library", "overrides", "random", "types",
                   "signal", "torch_alias"],
     "*"),
    # report: the HTML page and pictures of compiled programs (used by the CLI and fn.report)
    # onnx exports a traced Program (ember.jit), so it sits beside jit
    ("top", ["compiler", "jit", "report", "onnx", "cli", "__main__"], "*"),
]
# runtime sits beside ops/ir/passes: it may not use them, and only codegen and above use it
RUNTIME_USERS_FROM = "codegen"
NO_TRITON = {"dtypes", "shapes", "ops", "ir", "passes"}


def _layer_of():
    out = {}
    for rank, (layer, parts, _) in enumerate(LAYERS):
        for p in parts:
            out[p] = (rank, layer)
    return out


LAYER_OF = _layer_of()
RANK = {layer: rank for rank, (layer, _, _) in enumerate(LAYERS)}


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@functools.lru_cache(maxsize=None)
def imports_of(path, text=None):
    """[(line, imported module)] for every import statement in the file (or in ``text`` as if it
    were that file), nested ones too; ``from pkg import name`` counts as importing ``pkg.name``
    when that is a module."""
    return list(_imports(path, path.read_text() if text is None else text))


@functools.lru_cache(maxsize=None)
def _is_module(dotted):
    p = ROOT.parent.joinpath(*dotted.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def _imports(path, text):
    mod = _module_name(path)
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    tree = ast.parse(text, str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for a in node.names:
                sub = f"{target}.{a.name}"
                yield node.lineno, sub if _is_module(sub) else target


def _part(dotted):
    """The top-level part of ember an import names ('ember' itself for the root package)."""
    bits = dotted.split(".")
    return bits[1] if len(bits) > 1 else "ember"


def _allowed(src, dst):
    if src == dst:
        return True
    rs, ls = LAYER_OF[src]
    rd, ld = LAYER_OF[dst]
    if dst == "runtime":
        return rs >= RANK[RUNTIME_USERS_FROM]
    if src == "runtime":
        return ld == "base"
    if rd < rs:
        return True
    if rd == rs:
        extra = LAYERS[rs][2]
        return extra == "*" or dst in extra.get(src, ())
    return False


def _files():
    return sorted(ROOT.rglob("*.py"))


def test_every_part_of_ember_has_a_layer():
    missing = []
    for f in _files():
        part = _part(_module_name(f))
        if part not in LAYER_OF:
            missing.append(f"{f.relative_to(ROOT.parent)} (part {part!r})")
    assert not missing, ("these parts of ember are in no layer; add each to LAYERS in "
                         "tests/test_layers.py (and to the picture in docs/design.md): "
                         + ", ".join(sorted(set(missing))))


def test_imports_follow_the_layers():
    bad = []
    for f in _files():
        mod = _module_name(f)
        src = _part(mod)
        if src not in LAYER_OF:
            continue   # reported by the test above
        for line, target in imports_of(f):
            if target == "triton" or target.startswith("triton."):
                if src in NO_TRITON:
                    bad.append(f"{f.relative_to(ROOT.parent)}:{line}: {src} imports triton")
                continue
            if target != "ember" and not target.startswith("ember."):
                continue
            dst = _part(target)
            if dst not in LAYER_OF:
                bad.append(f"{f.relative_to(ROOT.parent)}:{line}: imports {target}, which is in "
                           f"no layer")
            elif not _allowed(src, dst):
                bad.append(f"{f.relative_to(ROOT.parent)}:{line}: {src} ({LAYER_OF[src][1]}) "
                           f"imports {target} ({LAYER_OF[dst][1]})")
    assert not bad, "imports against the layer order (docs/design.md):\n" + "\n".join(bad)


def test_libraries_do_not_import_each_other_in_a_cycle():
    libs = {p for layer, parts, _ in LAYERS if layer == "libraries" for p in parts}
    edges = {}
    for f in _files():
        src = _part(_module_name(f))
        if src not in libs:
            continue
        for _, target in imports_of(f):
            if target.startswith("ember."):
                dst = _part(target)
                if dst in libs and dst != src:
                    edges.setdefault(src, set()).add(dst)
    state, cycle = {}, []

    def visit(n, path):
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                cycle.append(" -> ".join(path[path.index(m):] + [m]) if m in path else m)
            elif m not in state:
                visit(m, path + [m])
        state[n] = 2
    for n in sorted(edges):
        if n not in state:
            visit(n, [n])
    assert not cycle, f"library packages import each other in a cycle: {cycle}"


def test_the_checker_sees_what_it_must():
    """The scan itself: relative, nested and `from pkg import module` imports are all found, and
    upward ones are refused (a checker that cannot fail is no check)."""
    probe = ROOT / "ops" / "conv.py"
    text = "def f():\n    from ..frontend import dispatch\n    from .. import nn\n"
    assert [t for _, t in imports_of(probe, text)] == ["ember.frontend.dispatch", "ember.nn"]
    assert not _allowed("ops", "frontend") and not _allowed("runtime", "ops")
    assert not _allowed("nn", "compiler") and _allowed("compiler", "nn")
    assert _allowed("codegen", "runtime") and not _allowed("passes", "runtime")
    assert not _allowed("frontend", "nn") and _allowed("nn", "amp")
    assert not _allowed("ir", "passes") and _allowed("passes", "ir")
    assert sum(len(imports_of(f)) for f in _files()) > 500
