"""The report as a user opens it: headless Chromium loads the file with no console error,
decodes every image, and paints something. `make test` installs Debian's chromium when
it is missing and it can; otherwise these tests are skipped and say why."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.image import imread

from orchestrator.report.page import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed and could not be (`make test` installs Debian's "
    "chromium package when apt-get is available as root)",
)

# Written into a copy of the page: once it has loaded, the body records how many images
# there are and how many decoded.
PROBE = (
    "<script>window.addEventListener('load', () => { const imgs = [...document.images];"
    " document.body.setAttribute('data-images', imgs.length + ':' +"
    " imgs.filter(i => i.complete && i.naturalWidth > 0).length); });</script></body>"
)


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp_path / 'profile'}",  # never a profile another run uses
        "--virtual-time-budget=5000",
    ]
    return subprocess.run([*flags, *args], capture_output=True, text=True, timeout=180)


def _open(page: Path, tmp_path: Path) -> tuple[str, list[str], str]:
    """The loaded DOM, the console messages, and the images line `total:decoded`."""
    probe = tmp_path / f"probe-{page.stem}.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE))
    done = _chromium(tmp_path, "--dump-dom", probe.as_uri())
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    images = re.search(r'data-images="(\d+):(\d+)"', done.stdout)
    assert images is not None, f"the page did not load: {done.stderr[-2000:]}"
    return done.stdout, console, f"{images[1]}:{images[2]}"


def test_the_console_check_would_catch_an_error(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><img src='data:image/png;base64,AAAA'>"
        "<script>undefinedFunction();</script></body></html>"
    )
    _, console, images = _open(bad, tmp_path)
    assert any("undefinedFunction" in line for line in console) and images == "1:0"


def test_the_report_opens_every_image_decodes_and_it_is_not_blank(mixed_run, tmp_path):
    page = write_report(mixed_run, tmp_path / "report.html")
    _, console, images = _open(page, tmp_path)
    assert console == []
    assert images == "5:5"
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri())
    pixels = imread(shot)[..., :3]
    assert pixels.std() > 0.01  # not a single colour
    saturation = pixels.max(axis=-1) - pixels.min(axis=-1)
    assert (saturation > 0.3).sum() > 500  # coloured curves are painted, not only text


@pytest.mark.parametrize(
    ("fixture", "says"),
    [("empty_run", "No trial has started yet"), ("diverged_run", "Every trial diverged")],
)
def test_empty_and_all_diverged_reports_open_and_say_so(fixture, says, tmp_path, request):
    run_dir = request.getfixturevalue(fixture)
    page = write_report(run_dir, tmp_path / "report.html")
    dom, console, images = _open(page, tmp_path)
    assert console == []
    total, decoded = images.split(":")
    assert total == decoded
    assert says in re.sub(r"<[^>]+>", "", dom)
