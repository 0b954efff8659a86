"""The compare HTML page in a real headless browser at desktop (1400 px) and phone (390 px)
widths: the page itself never scrolls sideways (the table scrolls in its own box) and the
plots fit the viewport. Runs where Chromium is installed (Debian: apt-get install chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") \
    or shutil.which("chromium-headless-shell") \
    or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium/Chrome installed")

# Reports the page's layout into the DOM, which --dump-dom prints after scripts ran.
PROBE = """
<script>
window.addEventListener("load", () => {
  const doc = document.documentElement;
  const svgs = [...document.querySelectorAll("figure svg")]
    .map(s => s.getBoundingClientRect().width);
  const box = document.querySelector(".scroll");
  (window.parent || window).document.body.setAttribute("data-probe", JSON.stringify({
    viewport: window.innerWidth, page: doc.scrollWidth,
    widest_svg: Math.max(0, ...svgs), table_box: box ? box.getBoundingClientRect().width : -1,
  }));
});
</script>
"""


def _page(tmp_path: Path) -> Path:
    from archlint.compare_cli import run_compare
    from archlint.source import SourceOptions

    html = run_compare(["llama3", "mixtral", "deepseek-v3", "gpt-oss"], fmt="html",
                       source_options=SourceOptions(prefer="catalog"))
    path = tmp_path / "compare.html"
    path.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    return path


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert BROWSER is not None
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--allow-file-access-from-files", *args],
                          capture_output=True, text=True, timeout=120)


def _frame(page: Path, width: int, height: int) -> Path:
    """The page in an iframe of ``width`` px: headless windows are at least 500 px wide, so a
    phone's 390 px viewport is a frame's."""
    outer = page.with_name(f"frame-{width}.html")
    outer.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{page.name}" '
                     f'width="{width}" height="{height}" style="border:0"></iframe></body></html>')
    return outer


@pytest.mark.parametrize("width", [1400, 390])
def test_layout_fits_the_viewport(tmp_path: Path, width: int) -> None:
    import json

    page = _page(tmp_path)
    outer = _frame(page, width, 1800)
    proc = _chromium(f"--window-size={max(width, 500) + 20},1800", "--virtual-time-budget=5000",
                     "--dump-dom", outer.as_uri())
    found = re.search(r'data-probe="([^"]+)"', proc.stdout)
    assert found, proc.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["viewport"] <= width
    assert probe["page"] <= probe["viewport"]  # nothing overflows the page sideways
    assert 0 < probe["widest_svg"] <= probe["viewport"]
    assert 0 < probe["table_box"] <= probe["viewport"]
    shot = Path(os.environ.get("ARCHLINT_SCREENSHOTS", tmp_path)) / f"compare-{width}.png"
    _chromium(f"--window-size={max(width, 500) + 20},1800", f"--screenshot={shot}",
              outer.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
