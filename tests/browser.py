"""Headless Chromium for the tests that look at a page after its scripts ran (cards, the run report).

``chromium()`` finds a Chromium, installing Debian's ``chromium`` package once per test session when
none is installed and we may (root, apt-get present); otherwise the test is skipped with the reason, or
fails under CI (the CI set-up must provide one). ``render_page(path)`` loads a local HTML file with no
network (every host name fails to resolve, so a page that needs a CDN shows it) and returns the DOM after its scripts ran and what the page logged to its console as errors;
``screenshot=`` also saves a PNG of the page. Chromium is driven through its command line only
(``--dump-dom``, ``--screenshot``, ``--enable-logging``): no extra Python package.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

__all__ = ["chromium", "render_page", "RenderedPage"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # no network: a page that fetches fails here
)
# Chromium logs every console message at one level ([..:INFO:CONSOLE:12] "message", source: ...), so errors are
# told apart by a hook run before the page's own scripts, which keeps them on the <html> element; what reaches
# the log as uncaught or refused is counted too.
_CONSOLE = re.compile(r':(?:INFO|WARNING|ERROR):CONSOLE[^\]]*\] "(?P<message>.*)", source: (?P<source>.*)$')
_LOGGED_ERRORS = ("Uncaught", "Refused", "Failed to load")
_HOOK = """<script>(function () {
  var errors = [];
  function keep(text) { errors.push(String(text)); document.documentElement.setAttribute(
    "data-console-errors", JSON.stringify(errors)); }
  var original = console.error;
  console.error = function () { keep(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
  window.addEventListener("error", function (e) {
    keep(e.message || ("failed to load " + ((e.target && (e.target.src || e.target.href)) || "a resource")));
  }, true);
  window.addEventListener("unhandledrejection", function (e) { keep("unhandled rejection: " + e.reason); });
})();</script>"""
_KEPT = re.compile(r'\sdata-console-errors="(?P<errors>[^"]*)"')


@dataclass
class RenderedPage:
    dom: str  # the document's HTML after scripts ran
    console_errors: list[str]  # errors the page reported (uncaught exceptions, console.error, refused loads)


def _found() -> str | None:
    return next((path for path in map(shutil.which, _NAMES) if path), None)


@cache
def _install() -> str | None:
    """Install Debian's chromium once; None when that is not possible here."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return _found()


def chromium() -> str:
    """The path of a Chromium to run; installs one when possible, else skips the test (fails it under CI)."""
    path = _found() or _install()
    if path is None:
        reason = "no Chromium found (chromium, chromium-browser, google-chrome) and none could be installed"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must provide one (apt-get install chromium)")
        pytest.skip(f"{reason}: the browser tests need it (as root, they install Debian's chromium package)")
    return path


def _run(args: list[str], profile: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), *_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def render_page(html_path: str | Path, screenshot: str | Path | None = None, *, width: int = 1200) -> RenderedPage:
    """Load ``html_path`` in headless Chromium; the DOM after its scripts ran, and its console errors."""
    page = Path(html_path).resolve()
    text = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    at = head.end() if head else 0
    with tempfile.TemporaryDirectory(prefix="flowship-chromium-") as profile:
        hooked = page.with_name(f".{page.stem}.hooked{page.suffix}")  # beside it: relative links still resolve
        hooked.write_text(text[:at] + _HOOK + text[at:], encoding="utf-8")
        budget = "--virtual-time-budget=10000"  # timers and promises settle before the DOM is read
        try:
            dumped = _run([budget, "--enable-logging=stderr", "--v=0", "--dump-dom", hooked.as_uri()], profile)
        finally:
            hooked.unlink()
        if dumped.returncode != 0 and not dumped.stdout:
            raise RuntimeError(f"chromium could not load {page}: {dumped.stderr[-2000:]}")
        kept = _KEPT.search(dumped.stdout)
        errors = json.loads(html.unescape(kept.group("errors"))) if kept else []
        for line in dumped.stderr.splitlines():
            match = _CONSOLE.search(line)
            if match and match.group("message").startswith(_LOGGED_ERRORS) and match.group("message") not in errors:
                errors.append(f"{match.group('message')} ({match.group('source')})")
        dom = _KEPT.sub("", dumped.stdout, count=1)
        dom = dom.replace(_HOOK, "", 1)
        if screenshot is not None:
            with tempfile.TemporaryDirectory(prefix="flowship-chromium-") as second:
                target = Path(screenshot).resolve()
                shot = _run([budget, f"--screenshot={target}", f"--window-size={width},1600", page.as_uri()], second)
                if not target.exists():
                    raise RuntimeError(f"chromium made no screenshot of {page}: {shot.stderr[-2000:]}")
        return RenderedPage(dom, errors)
