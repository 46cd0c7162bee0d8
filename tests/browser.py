"""Headless Chromium (Debian's chromium and chromium-driver) driven by selenium, for the page tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    not (CHROMEDRIVER and CHROMIUM), reason="needs Debian's chromium and chromium-driver"
)


@contextmanager
def chromium(width: int = 1200, height: int = 1600) -> Iterator:
    """A selenium driver of a headless Chromium window, quit after the block."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def search_on_page(driver, base: str, query: str, results: int = 10, timeout: float = 30):
    """Open the page at `base`, wait for the index, search `query`, wait for `results` sounds; the
    WebDriverWait used, for what the caller waits for next."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    driver.get(base)
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "sounds"))
    driver.find_element(By.ID, "query").send_keys(query)
    driver.find_element(By.ID, "search-button").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.sound")) == results)
    return wait
