"""The HTML renderers in a real browser: headless Chromium lays out the hand-made report.

A probe script in the test page (the rendered HTML has none) measures the layout after load and
writes it as JSON into the page, which ``--dump-dom`` returns: columns line up across nesting
levels, names indent by depth, no cell wraps, a folded container hides its rows, text colour is
inherited from a dark page, hostile names run nothing and hide nothing. A screenshot checks that
pixels are drawn. Needs ``chromium`` (``apt-get install chromium``); no TensorFlow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from modelscope.analysis.view import display_name
from modelscope.model.traced import build_report
from modelscope.render.html import render_diff_html, render_report_html, render_stats_html

from .handmade import residual_model
from .htmltree import parse
from .test_html import _stats, comparison, hostile_report

pytestmark = pytest.mark.xdist_group("chromium")  # one browser at a time

DARK = "background:#1e1e1e;color:rgb(212, 212, 212)"
PROBE = r"""
<pre id="probe"></pre>
<script>
(() => {
  const ch = document.createElement("span");
  ch.style.cssText = "display:inline-block;width:1ch";
  document.querySelector(".modelscope").appendChild(ch);
  const chWidth = ch.getBoundingClientRect().width;
  ch.remove();
  const textBox = (el) => { const r = document.createRange(); r.selectNodeContents(el); return r; };
  const lines = (el) => new Set([...textBox(el).getClientRects()].map((b) => Math.round(b.top))).size;
  const tables = [...document.querySelectorAll(".modelscope .tb")].map((tb) => ({
    height: tb.getBoundingClientRect().height,
    rows: [...tb.querySelectorAll(".r")].map((r) => ({
      tag: r.tagName.toLowerCase(),
      classes: r.className,
      visible: r.checkVisibility(),
      background: getComputedStyle(r).backgroundColor,
      cells: [...r.children].map((c) => {
        const b = c.getBoundingClientRect();
        return {
          text: c.textContent, left: b.left, right: b.right,
          textLeft: c.textContent ? textBox(c).getBoundingClientRect().left : null,
          lines: c.textContent ? lines(c) : 0, breaks: c.querySelectorAll("br").length + 1,
          color: getComputedStyle(c).color, marker: getComputedStyle(c, "::before").content,
        };
      }),
    })),
  }));
  const svgs = [...document.querySelectorAll(".modelscope svg")].map((s) => {
    const b = s.getBoundingClientRect(); return [b.width, b.height];
  });
  document.getElementById("probe").textContent = JSON.stringify({
    ch: chWidth, tables, svgs, title: document.title, bodyColor: getComputedStyle(document.body).color,
    scripts: document.querySelectorAll("script").length, images: document.querySelectorAll("img").length,
  });
})();
</script>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((p for p in ("/usr/bin/chromium", *map(shutil.which, ("chromium", "chromium-browser",
                                                                        "google-chrome"))) if p and os.path.exists(p)),
                 None)  # fmt: skip
    if found is None:
        message = "headless Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(chromium: str, tmp_path: Path, html: str, *args: str, style: str = "") -> subprocess.CompletedProcess[str]:
    page = tmp_path / "page.html"
    page.write_text(f'<!doctype html><html><head><meta charset="utf-8"><title>page</title></head>'
                    f'<body style="{style}">{html}</body></html>', encoding="utf-8")  # fmt: skip
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def probe(chromium: str, tmp_path: Path, html: str, style: str = "") -> dict[str, Any]:
    dom = run(chromium, tmp_path, html + PROBE, "--dump-dom", style=style).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found and found.group(1), dom[-2000:]
    return json.loads(parse(found.group(1), strict=False).text())  # the JSON, entities decoded


def body_rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in table["rows"] if "hr" not in r["classes"].split()]


def test_dom_lists_every_layer_in_order(chromium: str, tmp_path: Path) -> None:
    report = build_report(residual_model())
    dom = run(chromium, tmp_path, render_report_html(report), "--dump-dom").stdout
    tree = parse(dom, strict=False)
    table = tree.find_all("div", "tb")[0]
    rows = [n for n in table.iter() if "r" in n.classes and "hr" not in n.classes]
    assert [r.cells()[0].text() for r in rows] == [display_name(l) for l in report.layers] + ["(own weights)"]


def test_columns_line_up_across_nesting_and_nothing_wraps(chromium: str, tmp_path: Path) -> None:
    got = probe(chromium, tmp_path, render_report_html(build_report(residual_model())), style=DARK)
    table = got["tables"][0]
    rows = table["rows"]
    assert all(r["visible"] for r in rows)
    for k in range(len(rows[0]["cells"])):  # every column starts and ends at the same x in every row
        lefts = {round(r["cells"][k]["left"], 1) for r in rows}
        rights = {round(r["cells"][k]["right"], 1) for r in rows}
        assert len(lefts) == 1 and len(rights) == 1, (k, lefts, rights)
    for r in rows:  # the widths in ch fit every cell: a cell has as many lines as it has line breaks
        for c in r["cells"]:
            assert c["lines"] <= c["breaks"], (c["text"], c["lines"], c["breaks"])
    body = body_rows(table)
    depth = {r["cells"][0]["text"]: int(re.search(r"\bd(\d+)\b", r["classes"]).group(1)) for r in body}
    top = body[0]["cells"][0]["textLeft"]
    for r in body:  # names indent 2ch per level; the marker keeps depth-1 names level with each other
        name = r["cells"][0]
        assert name["textLeft"] - top == pytest.approx(2 * got["ch"] * (depth[name["text"]] - 1), abs=0.6)
    markers = {r["cells"][0]["text"]: r["cells"][0]["marker"] for r in body}
    assert markers["block (residual_block)"] == '"▾"' and markers["stem"] == '""'
    assert {r["cells"][2]["color"] for r in body if r["cells"][2]["text"] != "not called"} == {got["bodyColor"]}
    assert got["bodyColor"] == "rgb(212, 212, 212)"  # inherited from the (dark) page, not set


def test_a_folded_container_hides_its_rows(chromium: str, tmp_path: Path) -> None:
    html = render_report_html(build_report(residual_model()))
    assert html.count("<details open>") == 1
    opened = probe(chromium, tmp_path, html)["tables"][0]
    folded = probe(chromium, tmp_path, html.replace("<details open>", "<details>"))["tables"][0]
    visible = {r["cells"][0]["text"]: r["visible"] for r in body_rows(folded)}
    assert visible == {"stem": True, "block (residual_block)": True, "conv": False, "norm": False, "tied": True,
                       "spare": True, "(own weights)": True}  # fmt: skip
    assert folded["height"] < opened["height"]
    marker = next(r for r in body_rows(folded) if r["tag"] == "summary")["cells"][0]["marker"]
    assert marker == '"▸"'


def test_hostile_names_run_nothing_and_hide_nothing(chromium: str, tmp_path: Path) -> None:
    got = probe(chromium, tmp_path, render_report_html(hostile_report()))
    assert got["title"] == "page" and got["scripts"] == 1 and got["images"] == 0  # only the probe's script
    rows = got["tables"][0]["rows"]
    assert all(r["visible"] for r in rows)  # an input named '</style><style>*{display:none}' styles nothing
    assert body_rows(got["tables"][0])[0]["cells"][0]["text"].endswith("(<script>alert(1)</script>)")


def test_stats_and_diff_draw_histograms_and_tints(chromium: str, tmp_path: Path) -> None:
    stats = _stats()
    got = probe(chromium, tmp_path, render_stats_html(stats), style=DARK)
    assert got["svgs"] == [[80, 16]] * len(stats.variables)
    flagged = [r for r in body_rows(got["tables"][0]) if "fl" in r["classes"].split()]
    assert len(flagged) == 1 and flagged[0]["background"].startswith("rgba(218, 54, 51")
    got = probe(chromium, tmp_path, render_diff_html(comparison()))
    tints = [r["background"] for r in body_rows(got["tables"][0])]
    assert [t.rsplit(",", 1)[0] for t in tints] == ["rgba(212, 160, 23", "rgba(46, 160, 67", "rgba(218, 54, 51"]


def _png(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed (still filtered) scanlines of a PNG, with the stdlib."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, size, idat = 8, None, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert size is not None
    return size[0], size[1], zlib.decompress(idat)


def test_screenshot_draws_the_table(chromium: str, tmp_path: Path) -> None:
    shots = {}
    for name, html in (("blank", ""), ("report", render_report_html(build_report(residual_model())))):
        png = tmp_path / f"{name}.png"
        run(chromium, tmp_path, html, f"--screenshot={png}", "--window-size=1000,700")
        shots[name] = _png(png)
    for width, height, _ in shots.values():
        assert (width, height) == (1000, 700)
    # a blank page filters to a handful of byte values; antialiased text gives every value
    assert len(set(shots["blank"][2])) < 16 <= 200 < len(set(shots["report"][2]))
