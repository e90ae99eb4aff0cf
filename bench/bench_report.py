"""Benchmark the run report on a run of about a thousand tasks: reading, writing, and a browser loading it.

Run: python bench/bench_report.py [--width 1000] [--browser /usr/bin/chromium]

Runs bench/flows/wide_retried.py locally (a foreach of --width items, every
50th retried once), then prints the time `flow report` takes as a whole
process, the page's size, and, when a Chromium is found, how long the page
takes to load in it (milliseconds from navigation start to its load event,
best of three).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOW = REPO / "bench" / "flows" / "wide_retried.py"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# performance.now() in the load event: milliseconds from navigation start until the page and its parts were loaded
PROBE = "<script>addEventListener('load',()=>{document.body.dataset.loaded=performance.now()})</script>"


def flow(*args: str, cwd: str) -> float:
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "flowship", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"flow {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - began


def load_ms(browser: str, page: Path, scratch: str) -> float:
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={scratch}/profile", "--dump-dom",
         probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    ).stdout
    marker = 'data-loaded="'
    if marker not in dom:
        raise SystemExit("the browser did not report a load time")
    return float(dom.split(marker, 1)[1].split('"', 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        ran = flow("run", str(FLOW), "--width", str(args.width), "--datastore", "store", "--quiet", cwd=scratch)
        run_id = os.listdir(Path(scratch, "store", "WideRetriedFlow", "runs"))[0]
        tasks = args.width + 3
        print(f"run of {tasks} tasks ({args.width // 50} retried): {ran:.1f} s")
        took = min(flow("report", f"WideRetriedFlow/{run_id}", "--datastore", "store", "-o", "r.html", cwd=scratch)
                   for _ in range(3))
        page = Path(scratch, "r.html")
        print(f"flow report (whole process, best of 3): {took:.2f} s; page {page.stat().st_size / 1024:.0f} KiB")
        if not args.browser:
            print("browser load: no Chromium found (give --browser)")
            return
        best = min(load_ms(args.browser, page, scratch) for _ in range(3))
        print(f"browser load (navigation start to load event, best of 3): {best:.0f} ms")


if __name__ == "__main__":
    main()
