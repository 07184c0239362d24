"""A published site opened in a real browser: Chromium, driven by Playwright, from file://.

`nbody-bench publish --check` loads every page of the site it built with the network cut
off, and says how long each took to load (the browser's own Navigation Timing: its load
event) and every console error. The dashboard's browser test (tests/test_publish_browser.py)
opens the site the same way.

Playwright's own browsers are downloaded from a CDN; this uses the system's Chromium
(Debian's `chromium` package), found on PATH or named by NBODY_BENCH_CHROMIUM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")


class BrowserUnavailable(RuntimeError):
    """No Chromium or no Playwright here; the message says how to get them."""


def chromium_path():
    named = os.environ.get("NBODY_BENCH_CHROMIUM")
    if named:
        return named
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable(
        "no Chromium on PATH (looked for " + ", ".join(NAMES) + "); fix: apt-get install "
        "chromium (./dev test does it as root), or set NBODY_BENCH_CHROMIUM to a Chromium"
    )


@contextlib.contextmanager
def browser():
    """A headless Chromium with no network, closed on exit."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(
            f"Playwright is not installed ({exc}); fix: pip install playwright "
            "(the project's test extra has it)"
        ) from exc
    executable = chromium_path()
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium refuses to start as root with its sandbox (CI runs as root).
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """One page of a site opened offline, with the console errors it logged."""

    def __init__(self, browser_, path):
        self.context = browser_.new_context(offline=True)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(Path(path).resolve().as_uri())

    def draw_all(self):
        """Draw every graph of a graphs page (each is drawn as it scrolls into view)."""
        self.page.evaluate("window.nbodyBench.drawAll()")
        self.page.wait_for_function(
            "[...document.querySelectorAll('.graph')].every(d => d.dataset.drawn)"
        )

    def load_seconds(self):
        """From the start of navigation to the end of the load event, as the browser times it."""
        end = self.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        return end / 1e3

    def close(self):
        self.context.close()


def check_site(site, screenshot=None, graph=None, out=print):
    """Open every page of `site` offline, `out` each one's load time and console errors
    (on the graphs page, after every graph is drawn), and with `screenshot` write a PNG of
    one graph (`graph`, a workload, or the first). Returns True when no page logged an
    error."""
    from .publish import anchor

    pages = sorted(Path(site).glob("*.html"))
    if not pages:
        raise BrowserUnavailable(f"no pages in {site}")
    clean = True
    with browser() as chromium:
        for path in pages:
            page = Page(chromium, path)
            out(f"{path.name}: loaded in {page.load_seconds():.3f} s (Chromium, offline)")
            if path.name == "graphs.html":
                page.draw_all()
            for error in page.errors:
                out(f"  console error: {error}")
                clean = False
            if screenshot and path.name == "graphs.html":
                where = f"#{anchor(graph)}" if graph else "section"
                section = page.page.locator(where).first
                section.scroll_into_view_if_needed()
                screenshot = Path(screenshot)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                partial = screenshot.with_name(f".{screenshot.name}.partial.png")
                section.screenshot(path=str(partial))
                os.replace(partial, screenshot)
                out(f"  screenshot: {screenshot}")
            page.close()
    return clean
