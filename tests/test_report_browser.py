"""The report in a real browser: Debian's headless chromium, driven through Debian's chromedriver.

The browser and its driver are named by path, so selenium never downloads one;
the module is skipped where they are not installed (apt install chromium chromium-driver).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from gankit.report import write_report
from gankit.run import RunDir
from gankit.train.loop import train

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
    reason=f"{CHROMIUM} or {CHROMEDRIVER} is absent: install Debian's chromium and chromium-driver")


@pytest.fixture
def browser(tmp_path):
    """Headless chromium with a fresh profile and no network chatter, its console log kept."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def report(tiny_config, tmp_path) -> Path:
    """The report of a real tiny run with 3 epoch grids (64 images of batch 32: 2 steps an epoch, 6 steps)."""
    cfg = tiny_config(data__subset=64, model__width=8, train__steps=6, log__every=2, checkpoint__every=1000)
    run = RunDir.create(tmp_path / "run", cfg.name)
    train(cfg, run, verbose=False)
    assert len(run.epoch_grids()) == 3
    return write_report([run.path])


def severe(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_report_works_in_a_browser(browser, report):
    grids = sorted(report.parent.glob("samples/epoch-*.png"))
    uris = ["data:image/png;base64," + base64.b64encode(g.read_bytes()).decode() for g in grids]
    browser.get(report.resolve().as_uri())
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert browser.title == "gankit report: tiny"
    assert severe(browser) == []
    # every picture decoded: no broken data: URI
    assert browser.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)") is True

    box = browser.find_element(By.CSS_SELECTOR, ".epochs")
    slider = box.find_element(By.CSS_SELECTOR, "input[type=range]")
    shown = box.find_element(By.TAG_NAME, "img")
    label = box.find_element(By.CSS_SELECTOR, ".epoch-label")
    assert (shown.get_attribute("src"), label.text) == (uris[2], "epoch 3 of 3")

    # the keyboard, as a user moves a focused slider
    slider.send_keys(Keys.ARROW_LEFT)
    assert (slider.get_attribute("value"), shown.get_attribute("src"), label.text) == ("1", uris[1], "epoch 2 of 3")
    slider.send_keys(Keys.HOME)
    assert (shown.get_attribute("src"), label.text) == (uris[0], "epoch 1 of 3")
    # the mouse: a click at the slider's right end
    webdriver.ActionChains(browser).move_to_element_with_offset(slider, slider.size["width"] // 2 - 2, 0).click() \
        .perform()
    assert (shown.get_attribute("src"), label.text) == (uris[2], "epoch 3 of 3")
    assert severe(browser) == []

    # what a user sees is a page, not a blank: many colours, and far from flat
    picture = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    pixels = np.asarray(picture)
    assert picture.size[0] >= 1000 and pixels.std() > 20
    assert len(picture.getcolors(maxcolors=1 << 20)) > 200
