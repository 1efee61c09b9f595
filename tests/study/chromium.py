"""Open an HTML file in headless Chromium; report console messages and rendered figures
(test helper, no tests here).

The page is copied beside itself with a small script appended that, on load, records for each
``<img>`` whether it decoded (``naturalWidth > 0``) and for each inline ``<svg>`` whether it has
a size, into a ``data-check`` attribute; ``--dump-dom`` prints the DOM and
``--enable-logging=stderr`` prints every console message (errors, failed loads, uncaught
exceptions) as a ``CONSOLE`` line. Chromium comes from Debian's ``chromium`` package; without
it the caller skips, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var images = Array.from(document.images).map(function (i) {
    return i.complete && i.naturalWidth > 0;
  });
  var svgs = Array.from(document.querySelectorAll('svg')).map(function (s) {
    return s.getBoundingClientRect().width > 0;
  });
  document.body.setAttribute('data-check', JSON.stringify({images: images, svgs: svgs}));
});
</script>"""
CHECK_ATTRIBUTE = re.compile(r'data-check="([^"]*)"')


@dataclass(frozen=True)
class PageCheck:
    images: list[bool]  # one per <img>: decoded with a width
    svgs: list[bool]  # one per inline <svg>: laid out with a width
    console: list[str]  # every console message (the report has no script: all are problems)


def chromium() -> str:
    """The Chromium binary; skip without one, fail under CI."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium not found (Debian: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must have it")
    pytest.skip(message)


def check_page(page: Path) -> PageCheck:
    """Load ``page`` (via a checked copy beside it) in headless Chromium."""
    text = page.read_text(encoding="utf-8")
    assert "</body>" in text, "not a complete HTML page"
    probe = page.with_name(page.stem + ".check.html")
    probe.write_text(text.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = CHECK_ATTRIBUTE.search(done.stdout)
    assert found, f"the page did not finish loading:\n{done.stderr[-2000:]}"
    record = json.loads(html.unescape(found.group(1)))
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return PageCheck(images=record["images"], svgs=record["svgs"], console=console)
