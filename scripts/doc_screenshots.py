"""Make the screenshots in docs/img/ from real runs: run a flow, write its report, photograph it in Chromium.

The card pictures need pandas and matplotlib (the test extra has them).

Run: python scripts/doc_screenshots.py [--browser /usr/bin/chromium]

Each picture is taken of real output, from a scratch folder, as user "alice", so the pictures show no
machine of ours. Not run by the test suite: pictures change with fonts and browsers; regenerate them on
purpose when what the pages show changes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "img"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def flow(*args: str, cwd: Path) -> str:
    env = {**os.environ, "FLOWSHIP_USER": "alice", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "flowship", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"flow {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout + result.stderr


def photograph(browser: str, page: Path, picture: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
             f"--screenshot={picture}", f"--window-size={width},{height}", page.as_uri()],
            capture_output=True, timeout=120, check=True,
        )
    print(f"wrote {picture.relative_to(REPO)}")


def report_picture(browser: str, scratch: Path) -> None:
    shutil.copy(REPO / "tests" / "flows" / "report" / "retried_foreach.py", scratch / "retried_foreach.py")
    flow("run", "retried_foreach.py", "--datastore", "store", "--quiet", "--report", cwd=scratch)
    (page,) = scratch.glob("RetriedForeachFlow-*.html")
    photograph(browser, page, IMAGES / "report.png", 1100, 1200)


def card_pictures(browser: str, scratch: Path) -> None:
    """The docs' card pictures: a blank card of components and the default card of one showcase task."""
    shutil.copy(REPO / "tests" / "flows" / "cards" / "showcase.py", scratch / "showcase.py")
    flow("run", "showcase.py", "--datastore", "store", "--quiet", cwd=scratch)
    (run_id,) = os.listdir(scratch / "store" / "ShowcaseFlow" / "runs")
    for selection, name, height in ((["--id", "report"], "card-blank", 1150), (["--type", "default"], "card-default", 1950)):
        page = scratch / f"{name}.html"
        flow("card", "get", f"ShowcaseFlow/{run_id}/start", *selection, "-o", str(page), "--datastore", "store", cwd=scratch)
        photograph(browser, page, IMAGES / f"{name}.png", 1000, height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args()
    if not args.browser:
        raise SystemExit("no Chromium found: give --browser")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="project-") as scratch:
        report_picture(args.browser, Path(scratch))
    with tempfile.TemporaryDirectory(prefix="project-") as scratch:
        card_pictures(args.browser, Path(scratch))


if __name__ == "__main__":
    main()
