"""The memory timeline plot of the HTML report, drawn with matplotlib (``ember[viz]``) as SVG
text: bytes live at each position of the program as planned, the planned buffers, and what a
profiled run allocated (tracemalloc) at each generated statement."""
from __future__ import annotations

import io


def memory_timeline_svg(live, naive, planned_bytes, measured=None, measured_peak=None,
                        title="memory over the program"):
    """SVG text, or None when matplotlib is not installed.  ``live``/``naive``: bytes per node
    position; ``measured``: bytes allocated per executed statement (spread over the same axis)."""
    try:
        from matplotlib.figure import Figure    # no pyplot: the user's backend is left alone
    except ImportError:
        return None
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    xs = list(range(len(live)))
    ax.step(xs, naive, where="post", color="#bbbbbb", label="no reuse (every value kept)")
    ax.step(xs, live, where="post", color="#1f77b4", label="live values (freed after last use)")
    ax.axhline(planned_bytes, color="#ff7f0e", linestyle="--",
               label=f"planned buffers ({_fmt(planned_bytes)})")
    if measured:
        scale = max(len(live) - 1, 1) / max(len(measured) - 1, 1)
        ax.plot([i * scale for i in range(len(measured))], measured, color="#2ca02c",
                label="measured: allocated by the run (per statement)")
    if measured_peak is not None:
        ax.axhline(measured_peak, color="#2ca02c", linestyle=":",
                   label=f"measured peak ({_fmt(measured_peak)})")
    ax.set_xlabel("position in the program (node)")
    ax.set_ylabel("bytes")
    ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]     # drop the XML prolog: the SVG sits inside HTML


def _fmt(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
