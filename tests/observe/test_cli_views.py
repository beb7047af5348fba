"""`ember ir dot` formats, `ember ir show --stage planned/--why/--no-source`, `ember ir report`,
`--version` and every subcommand's --help example."""
from __future__ import annotations

import html.parser
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember import cli
from ember.report import graph_dot

pytest.importorskip("graphviz")


@pytest.fixture(scope="module")
def step_file(tmp_path_factory):
    """A saved training step: GELU's pointwise chain fuses, cross_entropy has constants."""
    d = tmp_path_factory.mktemp("views")
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 4))

    def step(x, y):
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        return loss
    p = ember.jit.trace(step, (ember.randn(5, 8), ember.zeros(5, dtype=ember.int64)))
    p.save(d / "step.ember")
    return d / "step.ember"


def run(capsys, *args):
    rc = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


needs_renderer = pytest.mark.skipif(graph_dot.find_renderer() is None,
                                    reason="no dot / graphviz-pure renderer")


@needs_renderer
def test_dot_svg_is_xml_with_kernel_clusters_and_source_lines(step_file, tmp_path, capsys):
    out = tmp_path / "g.svg"
    rc, text, _ = run(capsys, "ir", "dot", step_file, "--stage", "fused", "-o", out)
    assert rc == 0 and "wrote" in text
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t and t.startswith("cluster_") for t in titles)       # fused kernels
    svg = out.read_text()
    assert "kernel 1: pointwise" in svg and "test_cli_views.py:" in svg


@needs_renderer
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")])
def test_dot_binary_formats(step_file, tmp_path, capsys, fmt, magic):
    out = tmp_path / f"g.{fmt}"
    rc, _, _ = run(capsys, "ir", "dot", step_file, "--stage", "planned", "-o", out)
    assert rc == 0 and out.read_bytes().startswith(magic)


def test_dot_text_and_clusters(step_file, tmp_path, capsys):
    rc, text, _ = run(capsys, "ir", "dot", step_file, "--stage", "fused")
    assert rc == 0 and text.startswith("digraph step {") and "subgraph cluster_1" in text
    assert 'label="kernel 1: pointwise [5,16]"' in text
    rc, traced, _ = run(capsys, "ir", "dot", step_file)       # traced: no clusters
    assert "cluster" not in traced and "x -> t1" in traced
    out = tmp_path / "g.dot"
    run(capsys, "ir", "dot", step_file, "--stage", "fused", "-o", out)
    assert out.read_text() == text


def test_dot_without_renderer_says_so(step_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(graph_dot, "find_renderer", lambda: None)
    rc, _, err = run(capsys, "ir", "dot", step_file, "-o", tmp_path / "g.svg")
    assert rc == 1 and "no Graphviz renderer found" in err and "graphviz-pure" in err
    assert not (tmp_path / "g.svg").exists()
    rc, _, err = run(capsys, "ir", "dot", step_file, "-o", tmp_path / "g.dot")   # text: fine
    assert rc == 0 and (tmp_path / "g.dot").read_text().startswith("digraph")
    rc, _, err = run(capsys, "ir", "dot", step_file, "-o", tmp_path / "g.jpg")
    assert rc == 1 and "cannot write 'jpg'" in err
    rc, _, err = run(capsys, "ir", "dot", step_file, "--stage", "nope")
    assert rc == 1 and "unknown stage 'nope'" in err


def test_show_planned_is_the_memory_plan(step_file, capsys):
    rc, text, _ = run(capsys, "ir", "show", step_file, "--stage", "planned")
    _, dce, _ = run(capsys, "ir", "show", step_file, "--stage", "dce")
    assert rc == 0 and text != dce
    assert text.startswith("# memory plan of step:") and "planned peak" in text
    assert re.search(r"^  B0: f32\[5,16\] 320 bytes <- t1", text, re.M)
    assert "-> B0" in text and "view of" in text and "(live " in text


def test_why_lists_real_refusals_with_contiguous_groups(step_file, capsys):
    rc, text, _ = run(capsys, "ir", "show", step_file, "--stage", "fused", "--why")
    assert rc == 0
    groups = [int(g) for g in re.findall(r"^group (\d+) ", text, re.M)]
    assert groups == list(range(len(groups))) and len(groups) > 3
    refusals = text.split("# not fused")[1].splitlines()[1:]
    assert refusals and not any("(full)" in line.split("->")[0] for line in refusals)
    for m in re.finditer(r"already fused into group (\d+)", text):
        assert int(m[1]) < len(groups)


def test_no_source_with_stage(step_file, capsys):
    _, with_src, _ = run(capsys, "ir", "show", step_file, "--stage", "cse")
    _, without, _ = run(capsys, "ir", "show", step_file, "--stage", "cse", "--no-source")
    assert "test_cli_views.py:" in with_src and "test_cli_views.py" not in without
    assert "matmul(x, t0)" in without


class _Sections(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.svgs, self.text = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs)["id"])
        if tag == "svg":
            self.svgs += 1

    def handle_data(self, data):
        self.text.append(data)


def _parse(path):
    p = _Sections()
    p.feed(path.read_text())
    return p, "".join(p.text)


def test_report_has_every_section(step_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    rc, text, _ = run(capsys, "ir", "report", step_file, "-o", out)
    assert rc == 0 and "wrote" in text
    p, body = _parse(out)
    assert p.ids == ["summary", "graph", "stages", "fusion", "memory-plan", "code", "profile",
                     "memory"]
    assert p.svgs >= 1                                       # the timeline (and the graph)
    for stage in ("traced", "functional", "cse", "dce", "planned"):
        assert stage in body
    assert "# not fused" in body and "def call(args, seeds, B):" in body
    assert "one run:" in body and "np.matmul" in body       # the profiled statements
    page = out.read_text()                                  # self-contained: nothing to fetch
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"(src|href)=[\"']https?:", page)


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"ember {ember.__version__}"
    r = subprocess.run([sys.executable, "-m", "ember", "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"ember {ember.__version__}"


@pytest.mark.parametrize("cmd", ["show", "stats", "dot", "report", "verify", "diff", "run"])
def test_every_subcommand_help_has_an_example(cmd, capsys):
    with pytest.raises(SystemExit):
        cli.main(["ir", cmd, "--help"])
    out = capsys.readouterr().out
    assert "example" in out and f"ember ir {cmd} " in out


def test_json_output_of_dot(step_file, capsys):
    rc, text, _ = run(capsys, "ir", "dot", step_file, "--json")
    assert rc == 0 and json.loads(text)["dot"].startswith("digraph")
