"""A published site opened in a real browser: Chromium, driven by Playwright, from file://.

    python -m nbody_bench.browser build/site [--screenshot docs/img/dashboard.png]

loads every page of the site with the network cut off, prints how long each took to
load (the browser's own Navigation Timing: its load event) and every console error, and
exits 1 if any page logged one. The dashboard's browser test (tests/test_publish_browser.py)
opens the site the same way.

Playwright's own browsers are downloaded from a CDN; this uses the system's Chromium
(Debian's `chromium` package), found on PATH or named by NBODY_BENCH_CHROMIUM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
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
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(Path(path).resolve().as_uri())

    def load_seconds(self):
        """From the start of navigation to the end of the load event, as the browser times it."""
        end = self.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        return end / 1e3

    def close(self):
        self.context.close()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m nbody_bench.browser", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("site", type=Path, help="the folder nbody-bench publish wrote")
    parser.add_argument("--screenshot", type=Path, help="a PNG of the graphs page's first graph")
    args = parser.parse_args(argv)
    pages = sorted(args.site.glob("*.html"))
    if not pages:
        print(f"browser: no pages in {args.site}; build them: nbody-bench publish", file=sys.stderr)
        return 2
    failed = False
    try:
        with browser() as chromium:
            for path in pages:
                page = Page(chromium, path)
                print(f"{path.name}: loaded in {page.load_seconds():.3f} s")
                for error in page.errors:
                    print(f"  console error: {error}")
                    failed = True
                if args.screenshot and path.name == "graphs.html":
                    first = page.page.locator(".graph").first
                    first.scroll_into_view_if_needed()
                    page.page.wait_for_selector(".graph[data-drawn] .main-svg")
                    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.page.locator("section").first.screenshot(path=str(args.screenshot))
                    print(f"  screenshot: {args.screenshot}")
                page.close()
    except BrowserUnavailable as exc:
        print(f"browser: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
