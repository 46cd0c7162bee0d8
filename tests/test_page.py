"""The web page in headless Chromium: searches as URLs, pages, spectrograms, keyboard and phone width.

Nothing here depends on which sound ranks first (that moves with the CPU's arithmetic): the tests
compare the page with itself (a link, a reload, back and forward show the same sounds) and with the
API's own answer for the same search."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.browser import chromium, needs_chromium
from tests.conftest import indexed_copy, running_server, tone, write_audio

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TOKEN = "page-test-token"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def base(trained_data_dir: Path, tmp_path_factory):
    data = indexed_copy(trained_data_dir, tmp_path_factory.mktemp("page"))
    with running_server(data, api_token=TOKEN) as url:
        yield url


def _shown_ids(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#results li.sound')].map(li => li.dataset.id)"
    )


def _wait_for_ids(wait, ids: list[str]) -> None:
    wait.until(lambda d: _shown_ids(d) == ids)


def _api_ids(base: str, **params) -> list[str]:
    body = httpx.get(f"{base}/api/v1/search", params={"k": 10, **params}, timeout=30).json()
    return [str(x["id"]) for x in body["results"]]


def test_a_search_is_a_url_that_reload_back_and_forward_restore(base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page_two = _api_ids(base, q="rain", mode="sound", page=2)
    page_one = _api_ids(base, q="rain", mode="sound", page=1)
    assert len(page_two) == 10 and page_two != page_one
    with chromium() as driver:
        wait = WebDriverWait(driver, 30)
        driver.get(f"{base}/?q=rain&mode=sound&page=2")  # a pasted link
        _wait_for_ids(wait, page_two)
        assert driver.find_element(By.ID, "query").get_attribute("value") == "rain"
        assert driver.find_element(By.ID, "mode").get_attribute("value") == "sound"
        assert driver.find_element(By.ID, "page-label").text == "page 2"
        assert driver.execute_script("return document.getElementById('results').start") == 11
        driver.find_element(By.ID, "prev").click()
        _wait_for_ids(wait, page_one)
        assert "page=" not in driver.current_url and "mode=sound" in driver.current_url
        driver.back()
        _wait_for_ids(wait, page_two)
        driver.forward()
        _wait_for_ids(wait, page_one)
        driver.refresh()
        _wait_for_ids(wait, page_one)
        filtered = _api_ids(base, q="rain", tag="door")
        driver.get(f"{base}/?q=rain&tag=door")
        _wait_for_ids(wait, filtered)
        assert driver.find_element(By.ID, "tag").get_attribute("value") == "door"
        chips = driver.find_elements(By.CSS_SELECTOR, "#results li.sound")
        assert chips and all("door" in li.find_element(By.CSS_SELECTOR, ".tags").text.split() for li in chips)
        served = httpx.get(f"{base}/api/v1/search", params={"q": "rain", "tag": "door"}, timeout=30).json()
        shown = {li.get_attribute("data-id"): li.text for li in chips}
        both = [x for x in served["results"] if str(x["id"]) in shown]
        assert both and all(
            f"relevance {x['relevance']}" in shown[str(x["id"])] for x in both
        )  # fitted 0–100
        driver.get(f"{base}/?q=qwzxv")
        wait.until(lambda d: "qwzxv" in d.find_element(By.ID, "search-note").text)
        assert "error" in driver.find_element(By.ID, "search-note").get_attribute("class")


def test_spectrograms_keyboard_and_phone_width(base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        wait = WebDriverWait(driver, 30)
        driver.get(base)
        wait.until(lambda d: "sounds" in d.find_element(By.ID, "status").text)
        active = driver.switch_to.active_element
        assert active.get_attribute("id") == "query"  # the search box has the focus at once
        active.send_keys("door", Keys.ENTER)  # Enter searches
        wait.until(lambda d: len(_shown_ids(d)) == 10)
        loaded = (
            "return [...document.querySelectorAll('#results img.spectrogram')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        driver.execute_script("document.querySelectorAll('#results img').forEach(i => i.loading = 'eager')")
        wait.until(lambda d: d.execute_script(loaded))
        for _ in range(30):  # Tab from the search box reaches the first sound
            driver.switch_to.active_element.send_keys(Keys.TAB)
            if driver.execute_script("return document.activeElement.matches('#results li.sound')"):
                break
        else:
            pytest.fail("Tab never reached a sound")
        first = driver.switch_to.active_element
        ranged = driver.execute_async_script(  # what the player's seeking asks: a byte range
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0].querySelector('audio').src, {headers: {Range: 'bytes=0-99'}})"
            ".then(r => r.arrayBuffer()"
            ".then(b => done([r.status, b.byteLength, r.headers.get('content-type')])))",
            first,
        )
        assert ranged[:2] == [206, 100] and ranged[2].startswith("audio/"), ranged
        first.send_keys(Keys.SPACE)  # Space plays it
        playing = "return !document.activeElement.querySelector('audio').paused"
        wait.until(lambda d: d.execute_script(playing))
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "page-desktop.png"))
        driver.set_window_size(390, 1200)
        wait.until(lambda d: d.execute_script("return window.innerWidth") <= 400)
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        wide = driver.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > window.innerWidth).slice(0, 5).map(e => e.tagName + '.' + e.className)"
        )
        assert width[0] <= width[1], f"the page scrolls sideways at phone width: {width}, {wide}"
        driver.save_screenshot(str(ARTIFACTS / "page-phone.png"))


def test_a_tag_confirmed_on_the_page_shows_on_the_sound_after_a_reload(base: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{base}/?q=rain&mode=sound")
        wait.until(lambda d: len(_shown_ids(d)) == 10)
        first = driver.find_element(By.CSS_SELECTOR, "#results li.sound")
        sound_id = first.get_attribute("data-id")
        first.find_element(By.CSS_SELECTOR, "button.suggest").click()
        wait.until(lambda d: first.find_elements(By.CSS_SELECTOR, ".chip"))
        chips = first.find_elements(By.CSS_SELECTOR, ".chip")
        confirmed, rejected = chips[0].get_attribute("data-tag"), chips[1].get_attribute("data-tag")
        chips[0].find_element(By.CSS_SELECTOR, "button.confirm").click()  # no token yet: asked for
        wait.until(lambda d: "write token" in d.find_element(By.ID, "search-note").text)
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        chips[0].find_element(By.CSS_SELECTOR, "button.confirm").click()
        chips[1].find_element(By.CSS_SELECTOR, "button.reject").click()
        wait.until(lambda d: confirmed in first.find_element(By.CSS_SELECTOR, ".tags").text.split())
        wait.until(lambda d: len(first.find_elements(By.CSS_SELECTOR, ".chip")) == len(chips) - 2)
        driver.refresh()
        wait.until(lambda d: len(_shown_ids(d)) == 10)
        again = driver.find_element(By.CSS_SELECTOR, f"#results li.sound[data-id='{sound_id}']")
        assert confirmed in again.find_element(By.CSS_SELECTOR, ".tags").text.split()
        again.find_element(By.CSS_SELECTOR, "button.suggest").click()
        wait.until(lambda d: again.find_elements(By.CSS_SELECTOR, ".chip") or "nothing" in again.text)
        offered = {c.get_attribute("data-tag") for c in again.find_elements(By.CSS_SELECTOR, ".chip")}
        assert confirmed not in offered and rejected not in offered  # neither is offered again
        clip = write_audio(tmp_path / "new clip.wav", tone(1500.0, 1.1, seed=9), 22050)
        driver.find_element(By.ID, "file").send_keys(str(clip))  # an upload offered for the catalogue
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#suggested .choice"))
        chosen = driver.find_element(By.CSS_SELECTOR, "#suggested .choice")
        chosen_tag = chosen.text
        chosen.click()
        assert chosen.get_attribute("aria-pressed") == "true"
        driver.find_element(By.ID, "add-button").click()
        wait.until(lambda d: "added as sound" in d.find_element(By.ID, "add-note").text)
        added = driver.find_element(By.ID, "add-note").text.split("added as sound ")[1].split()[0]
    new = httpx.get(f"{base}/api/v1/sounds/{added}", timeout=30).json()
    assert new["name"] == "new clip" and chosen_tag in new["tags"]
    body = httpx.get(f"{base}/api/v1/sounds/{sound_id}", timeout=30).json()
    assert {(v["tag"], v["verdict"]) for v in body["verdicts"]} >= {
        (confirmed, "confirmed"),
        (rejected, "rejected"),
    }


def test_the_page_says_why_when_no_index_is_published(trained_data_dir: Path, tmp_path: Path) -> None:
    import shutil

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    data = Path(shutil.copytree(trained_data_dir, tmp_path / "data", symlinks=True))
    shutil.rmtree(data / "indices", ignore_errors=True)
    with running_server(data, ready_path="/api/v1/health") as url, chromium() as driver:
        wait = WebDriverWait(driver, 30)
        driver.get(f"{url}/?q=rain")
        wait.until(lambda d: "not ready" in d.find_element(By.ID, "status").text)
        wait.until(lambda d: "audiotag index build" in d.find_element(By.ID, "search-note").text)
        assert "error" in driver.find_element(By.ID, "search-note").get_attribute("class")
