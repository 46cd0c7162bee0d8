"""Screenshots of the page for the README: `python docs/screenshots.py --data-dir D` (D with an index,
e.g. after `audiotag demo --no-serve`), headless Chromium; writes docs/page-desktop.png and
docs/page-phone.png. Nothing in D is changed."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.catalogue.db import Catalogue  # noqa: E402
from index.catalogue.queries import live_sound_files  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.conftest import running_server  # noqa: E402

QUERY = "dog barking"
LABELS = "dog, rain, engine, bell, door, explosion"


def _whole_page(driver, width: int, most: int = 4000) -> None:
    """Make the window as tall as the page (up to `most` pixels) and scroll to its top."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 140, most))
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--clip", type=Path, help="the clip to upload (default: a catalogue sound)")
    args = parser.parse_args()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    catalogue = Catalogue(f"sqlite:///{args.data_dir / 'catalogue.db'}")
    clip = args.clip or Path(
        next(f.file_path for f in live_sound_files(catalogue) if "dog" in f.file_path.lower())
    )
    catalogue.close()
    with running_server(args.data_dir) as base, chromium(1200, 2000) as driver:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{base}/?q={QUERY.replace(' ', '+')}")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.sound")) == 10)
        driver.find_element(By.ID, "file").send_keys(str(clip))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#similar li.sound")) == 5)
        driver.find_element(By.ID, "labels").send_keys(LABELS)
        driver.find_element(By.ID, "classify-button").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#scores li"))
        driver.execute_script("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
        wait.until(
            lambda d: d.execute_script("return [...document.images].every(i => i.hidden || i.complete)")
        )
        driver.find_element(By.CSS_SELECTOR, "#results li.sound button.suggest").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#results .chip"))
        _whole_page(driver, 1200)
        driver.save_screenshot(str(ROOT / "docs" / "page-desktop.png"))
        driver.set_window_size(390, 1800)
        driver.get(f"{base}/?q={QUERY.replace(' ', '+')}")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#results li.sound")) == 10)
        wait.until(
            lambda d: d.execute_script("return [...document.images].every(i => i.hidden || i.complete)")
        )
        _whole_page(driver, 390, most=2400)
        driver.save_screenshot(str(ROOT / "docs" / "page-phone.png"))
    for name in ("page-desktop.png", "page-phone.png"):
        _smaller(ROOT / "docs" / name)
    print("wrote docs/page-desktop.png and docs/page-phone.png")


def _smaller(path: Path) -> None:
    """The screenshot in 256 colours: a third of the bytes, the same to the eye."""
    from PIL import Image

    Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


if __name__ == "__main__":
    main()
