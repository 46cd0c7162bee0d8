"""The service end to end: a real uvicorn process on loopback, over HTTP and in headless Chromium."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import soundfile as sf

from app.cli_serve import OPENMP_SPIN_COUNT
from index import versions
from index.catalogue.db import Catalogue
from index.indexer import Corpus, build_version
from model.bundle import Bundle
from model.bundles import latest_bundle
from model.cache import FeatureCache
from model.tags import normalise_tags
from tests.browser import chromium, needs_chromium, search_on_page
from tests.conftest import indexed_copy, run_cli, running_server, tone, write_audio

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def server(trained_data_dir: Path, tmp_path_factory):
    """`audiotag serve` on a free loopback port over a copy of the trained data with an index."""
    data = indexed_copy(trained_data_dir, tmp_path_factory.mktemp("serve"))
    with running_server(data) as base:
        yield base, data


def _note_names(note: str, words: list[str]) -> bool:
    """The search note reports a finished search over exactly these words."""
    return "sounds for" in note and "qwzx" not in note and all(w in note for w in words)


def _clip(seconds: float = 1.5) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(520.0, seconds, sr=48000), 48000, format="OGG", subtype="VORBIS")
    return buf.getvalue()


def test_real_server_answers_and_refuses(server) -> None:
    base, _ = server
    with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as c:
        found = c.get("/search", params={"q": "door rain", "k": 3}).json()
        assert len(found["results"]) == 3
        assert c.get(found["results"][0]["audio_url"].removeprefix("/api/v1")).status_code == 200
        tags = c.post("/tags", files={"file": ("clip.ogg", _clip())})
        assert tags.status_code == 200 and tags.json()["tags"]
        bad = c.post("/tags", files={"file": ("notes.txt", b"just some text, no audio here" * 20)})
        assert bad.status_code == 415 and bad.json()["error"]["code"] == "not_audio"
        assert c.get("/sounds/424242").status_code == 404
        assert c.get("/openapi.json").json()["info"]["title"] == "audiotag"
    assert 'route="/search",status="200"' in httpx.get(f"{base}/metrics").text
    assert "<title>audiotag</title>" in httpx.get(base).text


@needs_chromium
def test_web_page_in_headless_chromium(server, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    base, _ = server
    with chromium() as driver:
        wait = search_on_page(driver, base, "rain qwzx")
        assert "left out: qwzx" in driver.find_element(By.ID, "search-note").text
        first_tag = driver.find_element(By.CSS_SELECTOR, "#results li.sound .tag")
        tag = first_tag.text
        first_tag.click()
        wait.until(lambda d: d.find_element(By.ID, "query").get_attribute("value") == tag)
        # Which sound comes first depends on the CPU's arithmetic; whatever tag it carries, the note
        # names its normalised words (known ones quoted, unknown ones left out) and never the qwzx.
        words = normalise_tags([tag])
        wait.until(lambda d: _note_names(d.find_element(By.ID, "search-note").text, words))
        clip = write_audio(tmp_path / "my clip.wav", tone(700.0, 1.2), 22050)
        driver.find_element(By.ID, "file").send_keys(str(clip))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#suggested li")) > 0)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#similar li.sound")) == 5)
        clip_picture = (
            "const i = document.getElementById('clip-spectrogram'); return !i.hidden && i.naturalWidth > 0"
        )
        wait.until(lambda d: d.execute_script(clip_picture))  # the upload's own spectrogram
        driver.find_element(By.ID, "labels").send_keys("rain, door, qwzx")
        driver.find_element(By.ID, "classify-button").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scores li")) == 2)
        assert "qwzx" in driver.find_element(By.ID, "upload-note").text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "web-page-results.png"))
        bad = write_audio(tmp_path / "silence.wav", tone(100.0, 1.0, amp=0.0) * 0, 22050)
        driver.find_element(By.ID, "file").send_keys(str(bad))
        wait.until(ec.text_to_be_present_in_element((By.ID, "upload-note"), "silent"))
        driver.save_screenshot(str(ARTIFACTS / "web-page-error.png"))


@contextlib.contextmanager
def _searching(bases: list[str], per_server: int = 2) -> Iterator[list[int]]:
    """Threads searching every server in `bases` without a pause while the block runs; yields the
    status codes they got (complete once the block has ended)."""
    statuses: list[int] = []
    stop = threading.Event()

    def hammer(base: str) -> None:
        with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as c:
            while not stop.is_set():
                statuses.append(c.get("/search", params={"q": "rain door", "k": 5}).status_code)

    threads = [threading.Thread(target=hammer, args=(b,)) for b in bases for _ in range(per_server)]
    for t in threads:
        t.start()
    try:
        yield statuses
    finally:
        stop.set()
        for t in threads:
            t.join()


def _build_and_wait(data: Path, bases: list[str]) -> str:
    """`audiotag index build` (published), then wait until every server in `bases` serves it."""
    before = {httpx.get(f"{b}/api/v1/ready").json()["index_version"] for b in bases}
    built = run_cli("--data-dir", str(data), "index", "build")
    assert built.returncode == 0, built.stderr
    new = versions.current_version(data / "indices")
    assert new not in before
    deadline = time.time() + 30
    while {httpx.get(f"{b}/api/v1/ready").json()["index_version"] for b in bases} != {new}:
        assert time.time() < deadline, "a server never swapped to the new version"
        time.sleep(0.2)
    time.sleep(0.5)
    return new


def test_no_request_fails_while_a_new_index_is_published(server) -> None:
    base, data = server
    with _searching([base], per_server=3) as statuses:
        _build_and_wait(data, [base])
    assert statuses and set(statuses) == {200}


def test_two_replicas_on_one_data_dir_swap_without_a_failed_request(
    trained_data_dir: Path, tmp_path: Path
) -> None:
    """API replicas: separate `audiotag serve` servers sharing one catalogue and index folder."""
    data = indexed_copy(trained_data_dir, tmp_path)
    with running_server(data) as first, running_server(data) as second:
        with _searching([first, second]) as statuses:
            new = _build_and_wait(data, [first, second])
        assert statuses and set(statuses) == {200}
        for base in (first, second):
            assert httpx.get(f"{base}/api/v1/ready").json()["index_version"] == new


def _ready_by_worker(base: str, rounds: int = 8) -> dict[int, str]:
    """The index version each server process reports, from bursts of concurrent /ready calls."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(_: int) -> tuple[int, str]:
        body = httpx.get(f"{base}/api/v1/ready", timeout=30).json()
        return body["worker"], body["index_version"]

    seen: dict[int, str] = {}
    with ThreadPoolExecutor(16) as pool:
        for _ in range(rounds):
            seen.update(pool.map(ask, range(32)))
    return seen


def test_several_server_processes_each_swap_in_a_new_index(trained_data_dir: Path, tmp_path: Path) -> None:
    data = indexed_copy(trained_data_dir, tmp_path)
    with running_server(data, serve_workers="2") as base:
        deadline = time.time() + 90  # the second process may still be loading when the first answers
        while len(before := _ready_by_worker(base, rounds=2)) < 2:
            assert time.time() < deadline, before
            time.sleep(0.5)
        assert len(set(before.values())) == 1, before  # two processes, one index
        cat = Catalogue(f"sqlite:///{data / 'catalogue.db'}")
        bundle = Bundle(latest_bundle(data / "bundles"), "cpu")
        corpus = Corpus(cat, FeatureCache(data / "cache/features"))
        new = build_version(bundle, corpus, data / "indices")[0]
        cat.close()
        versions.publish(data / "indices", new)
        deadline = time.time() + 60
        while (after := _ready_by_worker(base, rounds=2)) and set(after.values()) != {new}:
            assert time.time() < deadline, after
            time.sleep(0.5)
        final = _ready_by_worker(base)
        assert len(final) == 2 and set(final.values()) == {new}, final  # every process swapped
        for pid in final:  # each process's torch started with the server's OpenMP spin (app/cli_serve.py)
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"GOMP_SPINCOUNT={OPENMP_SPIN_COUNT}".encode() in environ
