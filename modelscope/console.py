"""Where a result shown from Python goes: a notebook's display, else the terminal.

``modelscope.summary`` (and ``%modelscope``) end here, the way ``model.summary()`` prints
where it is called: as HTML in a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), as the
table on standard output elsewhere (styled on a terminal, plain in a pipe or a file).
"""

from __future__ import annotations

import sys
from typing import Any


def in_kernel() -> bool:
    """True inside a Jupyter kernel (not a terminal IPython, not plain Python)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(view: Any) -> None:
    """Display ``view`` (a :class:`modelscope.render.views.Shown`) where the user is."""
    if in_kernel():
        from IPython.display import display

        # the table as HTML, and as text for front ends without HTML (jupyter console, nbconvert to text)
        display({"text/html": view._repr_html_(), "text/plain": view.table().plain}, raw=True)
        return
    if sys.stdout.isatty():
        from rich.console import Console

        console = Console()
        console.print(view.table(console.width), soft_wrap=True, end="")
        return
    sys.stdout.write(view.table().plain)
    sys.stdout.flush()
