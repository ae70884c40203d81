"""Make the README's pictures of what a notebook shows (docs/notebook_*.png).

    python docs/notebook_pictures.py

Renders the real HTML of ``modelscope.summary`` and ``modelscope.stats`` for the bundled hybrid
CNN, as a notebook output cell holds it, in headless Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PAGE = ('<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0;padding:14px 18px;'
        'background:#fff;color:#1f2328;font-size:13px">{cell}</body></html>')  # fmt: skip
CELL = ('<div style="font-family:ui-monospace,monospace;color:#6e7781;margin-bottom:6px">{prompt}</div>'
        '<div style="border-left:3px solid #d0d7de;padding-left:12px">{html}</div>')  # fmt: skip


def screenshot(html: str, target: Path, size: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={tmp}/profile", f"--window-size={size}",
                        f"--screenshot={target}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
    print(f"wrote {target.relative_to(ROOT)}")


def main() -> None:
    sys.path.insert(0, str(ROOT / "samples"))
    from hybrid_cnn import CNN_Model

    import modelscope

    model = CNN_Model()
    report = modelscope.inspect(model, (None, 28, 28, 1))
    prompt = "modelscope.summary(CNN_Model(), input_shape=(None, 28, 28, 1))"
    screenshot(PAGE.format(cell=CELL.format(prompt=prompt, html=report._repr_html_())),
               ROOT / "docs" / "notebook_summary.png", "860,470")  # fmt: skip
    stats = modelscope.stats(model, (None, 28, 28, 1))
    prompt = "modelscope.stats(model, (None, 28, 28, 1))"
    screenshot(PAGE.format(cell=CELL.format(prompt=prompt, html=stats._repr_html_())),
               ROOT / "docs" / "notebook_stats.png", "1100,400")  # fmt: skip


if __name__ == "__main__":
    main()
