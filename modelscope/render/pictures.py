"""What ``modelscope.graph()`` returns: the drawing as ``str`` (SVG, DOT) or ``bytes`` (PNG,
PDF), which a notebook displays as the picture itself.

They are plain strings and bytes (write them to a file, compare them, slice them), with the
IPython display hooks added and a one-line ``repr``, so a cell ending in ``modelscope.graph(m)``
shows the graph instead of an escaped string.
"""

from __future__ import annotations


class SvgImage(str):
    """SVG text that displays as the picture."""

    def _repr_svg_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<SVG image, {len(self):,} characters>"


class DotSource(str):
    """Graphviz DOT text; a notebook displays it rendered as SVG."""

    def _repr_svg_(self) -> str:
        from modelscope.render.graphviz import render_graph

        return render_graph(str(self), "svg").decode("utf-8")

    def __repr__(self) -> str:
        return f"<Graphviz DOT, {len(self):,} characters>"


class PngImage(bytes):
    """PNG bytes that display as the picture."""

    def _repr_png_(self) -> bytes:
        return bytes(self)

    def __repr__(self) -> str:
        return f"<PNG image, {len(self):,} bytes>"


class PdfImage(bytes):
    """PDF bytes (notebooks that render PDF show it)."""

    def _repr_pdf_(self) -> bytes:
        return bytes(self)

    def __repr__(self) -> str:
        return f"<PDF document, {len(self):,} bytes>"


def picture(data: bytes, fmt: str) -> SvgImage | DotSource | PngImage | PdfImage:
    """``data`` rendered as ``fmt`` (svg, dot, png, pdf), as the type that displays it."""
    if fmt == "svg":
        return SvgImage(data.decode("utf-8"))
    if fmt == "dot":
        return DotSource(data.decode("utf-8"))
    return PngImage(data) if fmt == "png" else PdfImage(data)
