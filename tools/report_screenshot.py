"""Write a run's report and photograph it in headless chromium (the README's docs/images/report.png).

    python tools/report_screenshot.py RUN_DIR OUT.png [--width 1200] [--height 900] [--colours 256]

--height 0 photographs the whole page. The browser is Debian's chromium driven
through Debian's chromedriver (apt install chromium chromium-driver), named by
path so that selenium downloads nothing. --colours N stores the picture with a
palette of N colours (0: full colour), which keeps a page of flat colours small.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from gankit.report import write_report

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def browser(profile: Path, width: int, height: int) -> webdriver.Chrome:
    """Headless chromium with a fresh profile, no network chatter and no downloads of its own."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def screenshot(page: Path, out: Path, width: int, height: int) -> tuple[int, int]:
    """Photograph ``page`` ``width`` pixels wide: its top ``height`` pixels, or all of it (height 0)."""
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(Path(profile), width, height or 1000)
        try:
            driver.get(page.resolve().as_uri())
            wanted = height or driver.execute_script("return document.documentElement.scrollHeight")
            inner = driver.execute_script("return window.innerHeight")  # the window less its frame
            driver.set_window_size(width, driver.get_window_size()["height"] + wanted - inner)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    with Image.open(out) as img:
        return img.size


def quantize(path: Path, colours: int) -> None:
    """Store the picture with a palette of ``colours`` colours (smaller for flat-coloured pages)."""
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path, help="the screenshot, a .png")
    parser.add_argument("--width", type=int, default=1200, help="window width in pixels (default 1200)")
    parser.add_argument("--height", type=int, default=900, help="pixels of the page's top to keep; 0: all")
    parser.add_argument("--colours", type=int, default=256, help="palette size of the PNG; 0: full colour")
    args = parser.parse_args()
    page = write_report([args.run_dir])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    size = screenshot(page, args.out, args.width, args.height)
    if args.colours:
        quantize(args.out, args.colours)
    print(f"wrote {page} and {args.out} ({size[0]}x{size[1]}, {args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
