"""The HTTP API's newer parts: spectrograms, Range audio, relevance, tags people confirm, uploads
offered for the catalogue, and the engine that keeps the event loop free."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from index import versions
from index.catalogue.db import Catalogue
from index.relevance import Relevance
from model.cache import FeatureCache
from tests.api import API, TOKEN, documented_codes, refused, wav_bytes
from tests.conftest import tone


def _png_size(body: bytes) -> tuple[int, int]:
    from PIL import Image

    image = Image.open(io.BytesIO(body))
    image.load()  # a broken PNG raises here
    return image.size


def test_audio_answers_range_requests_for_seeking(client: TestClient) -> None:
    whole = client.get(f"{API}/sounds/1/audio")
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"{API}/sounds/1/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.headers["content-type"] == "audio/wav"
    beyond = client.get(f"{API}/sounds/1/audio", headers={"Range": f"bytes={len(whole.content) + 10}-"})
    assert beyond.status_code == 416 and "416" in documented_codes("GET", "/api/v1/sounds/1/audio")


def test_spectrograms_of_sounds_and_of_uploads(client: TestClient) -> None:
    first = client.get(f"{API}/sounds/2/spectrogram.png")
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    width, height = _png_size(first.content)
    assert 0 < width <= 320 and height == 96
    etag = first.headers["etag"]
    again = client.get(f"{API}/sounds/2/spectrogram.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and again.content == b""
    assert client.get(f"{API}/sounds/2/spectrogram.png").content == first.content  # kept, drawn once
    assert client.get(f"{API}/sounds/3/spectrogram.png").headers["etag"] != etag
    refused(client.get(f"{API}/sounds/9999/spectrogram.png"), 404, "not_found")
    clip = client.post(f"{API}/spectrogram.png", files={"file": ("a.wav", wav_bytes(tone(500.0, 2.0)))})
    assert clip.status_code == 200 and _png_size(clip.content)[1] == 96
    refused(
        client.post(f"{API}/spectrogram.png", files={"file": ("a.wav", b"not audio" * 20)}), 415, "not_audio"
    )


def test_scores_come_with_the_relevance_the_version_fitted(client: TestClient, data: Path) -> None:
    relevance = Relevance.load(versions.current_dir(data / "indices"))
    assert set(relevance.curves) <= {"sound", "text", "similar"}
    for mode in ("hybrid", "text", "sound"):
        results = client.get(f"{API}/search", params={"q": "door rain", "k": 20, "mode": mode}).json()[
            "results"
        ]
        assert results and all(0 <= x["relevance"] <= 100 for x in results), mode
        shown = [x["relevance"] for x in results]
        if mode == "sound":  # one monotone curve of the cosine: as ordered as the scores
            assert near(shown, [relevance.of("sound", x["score"]) for x in results])
            assert shown == sorted(shown, reverse=True)
        for x in results:
            if x["match"]["words"]:  # hybrid and text: the word share's curve
                assert x["relevance"] == relevance.of("text", len(x["match"]["words"]) / 2)
    text = client.get(f"{API}/search", params={"q": "door qwzx", "mode": "text"}).json()["results"]
    assert text and all(x["relevance"] == relevance.of("text", 0.5) for x in text)  # one of two words
    similar = client.get(f"{API}/sounds/1/similar", params={"k": 3}).json()["results"]
    assert similar and near(
        [x["relevance"] for x in similar], [relevance.of("similar", x["score"]) for x in similar]
    )


def near(shown: list[int], expected: list[int]) -> bool:
    """Relevance as served against the curve read at the rounded score: one point apart at most."""
    return len(shown) == len(expected) and all(abs(a - b) <= 1 for a, b in zip(shown, expected, strict=True))


def test_tags_people_confirm_reach_the_catalogue_filters_and_training(data: Path, tmp_path: Path) -> None:
    from index.catalogue.queries import live_sounds_with_words
    from trainer.data import load_training_data

    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(Settings(data_dir=copy, api_token=TOKEN))) as c:
        sound = c.get(f"{API}/sounds/1").json()
        assert sound["verdicts"] == [] and "door" not in sound["tags"]
        offered = c.get(f"{API}/sounds/1/tags", params={"k": 50}).json()["tags"]
        assert offered and not {t["tag"] for t in offered} & set(sound["tags"])  # never its own tags
        rejected = offered[0]["tag"]
        body = {"confirm": ["Door"], "reject": [rejected], "by": "ana"}
        refused(c.post(f"{API}/sounds/1/tags", json=body), 401, "unauthorized")
        answer = c.post(f"{API}/sounds/1/tags", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        after = answer.json()
        assert "door" in after["tags"] and after["reindex_job"] is not None
        assert {(v["tag"], v["verdict"], v["by"]) for v in after["verdicts"]} == {
            ("door", "confirmed", "ana"),
            (rejected, "rejected", "ana"),
        }
        assert c.get(f"{API}/sounds/1").json()["tags"] == after["tags"]  # shows on the sound
        again = c.get(f"{API}/sounds/1/tags", params={"k": 50}).json()["tags"]
        assert rejected not in {t["tag"] for t in again} and "door" not in {t["tag"] for t in again}
        filtered = c.get(
            f"{API}/search", params={"q": "door", "tag": "door", "k": 50, "mode": "sound"}
        ).json()
        assert 1 in {x["id"] for x in filtered["results"]}  # the tag filter reads it at once
        deadline = time.time() + 60
        while c.get(f"{API}/jobs/{after['reindex_job']}").json()["state"] != "done":
            assert time.time() < deadline, "the index update never finished"
            time.sleep(0.2)
        text = c.get(f"{API}/search", params={"q": "door", "mode": "text", "k": 50}).json()["results"]
        assert 1 in {x["id"] for x in text}  # text search, after the update the verdict queued
        refused(c.post(f"{API}/sounds/1/tags", json={}, headers=auth), 422, "no_tags")
        both = {"confirm": ["a"], "reject": ["a"]}
        refused(c.post(f"{API}/sounds/1/tags", json=both, headers=auth), 422, "conflicting_tags")
        refused(c.post(f"{API}/sounds/1/tags", json={"confirm": ["42 !"]}, headers=auth), 422, "no_words")
        refused(c.post(f"{API}/sounds/1/tags", json={"confirm": "dog"}, headers=auth), 422, "invalid_request")
        refused(c.post(f"{API}/sounds/9999/tags", json={"confirm": ["dog"]}, headers=auth), 404, "not_found")
        refused(c.get(f"{API}/sounds/9999/tags"), 404, "not_found")
    cat = Catalogue(f"sqlite:///{copy / 'catalogue.db'}")
    first_uid, _, words = live_sounds_with_words(cat)[0]  # in id order: sound 1
    assert "door" in words
    trained = load_training_data(cat, FeatureCache(copy / "cache/features"), val_split="hash")
    clips = trained.train if first_uid in trained.train.uids else trained.val
    assert "door" in clips.tags[clips.uids.index(first_uid)]  # the next training run's tag sets
    cat.close()


def test_an_upload_offered_for_the_catalogue_becomes_a_sound(data: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    clip = wav_bytes(tone(1234.0, 1.3, seed=77))
    form = {"tags": "Whistle, high", "name": "my whistle", "by": "ana"}
    with TestClient(create_app(Settings(data_dir=copy, api_token=TOKEN))) as c:
        refused(c.post(f"{API}/sounds", files={"file": ("w.wav", clip)}, data=form), 401, "unauthorized")
        added = c.post(f"{API}/sounds", files={"file": ("w.wav", clip)}, data=form, headers=auth)
        assert added.status_code == 201, added.text
        body = added.json()
        assert body["tags"] == ["high", "whistle"] and body["reindex_job"] is not None
        assert {(v["tag"], v["verdict"], v["by"]) for v in body["verdicts"]} == {
            ("high", "confirmed", "ana"),
            ("whistle", "confirmed", "ana"),
        }
        sound = c.get(f"{API}/sounds/{body['id']}").json()
        assert sound["name"] == "my whistle" and sf.info(io.BytesIO(c.get(sound["audio_url"]).content))

        def offer(audio: bytes, fields: dict = form):
            return c.post(f"{API}/sounds", files={"file": ("x.wav", audio)}, data=fields, headers=auth)

        refused(offer(clip), 409, "duplicate")
        catalogued = c.get(f"{API}/sounds/1/audio").content  # a catalogue sound's audio
        refused(offer(catalogued), 409, "duplicate")
        refused(offer(b"no audio" * 30), 415, "not_audio")
        refused(offer(clip, {"tags": " , 42"}), 422, "no_words")
        deadline = time.time() + 60
        while c.get(f"{API}/jobs/{body['reindex_job']}").json()["state"] != "done":
            assert time.time() < deadline, "the index update never finished"
            time.sleep(0.2)
        found = c.get(f"{API}/search", params={"q": "whistle", "mode": "text"}).json()["results"]
        assert [x["id"] for x in found] == [body["id"]]
        assert c.get(f"{API}/sounds/{body['id']}/similar", params={"k": 3}).status_code == 200  # indexed
    assert len(list((copy / "uploads").iterdir())) == 1  # refused uploads leave no file behind


@pytest.mark.parametrize("question", ["search", "suggest_tags"])
def test_health_answers_while_a_query_is_held_in_the_engine(data: Path, question: str) -> None:
    """An ordering, not a time: a query blocked inside the engine does not hold the event loop, and
    the model and index work of both kinds of query runs on the engine's inference thread."""
    import threading

    with TestClient(create_app(Settings(data_dir=data))) as c:
        index = c.app.state.audiotag.index
        entered, release, threads = threading.Event(), threading.Event(), []
        real, real_encode = getattr(index, question), index.bundle.embed_logmels

        def held(*args, **kwargs):
            threads.append(threading.current_thread().name)
            entered.set()
            assert release.wait(60)
            return real(*args, **kwargs)

        def encode(*args, **kwargs):
            threads.append(threading.current_thread().name)
            return real_encode(*args, **kwargs)

        if question == "search":
            ask = lambda: c.get(f"{API}/search", params={"q": index.tag_words[0]})  # noqa: E731
        else:
            ask = lambda: c.post(f"{API}/tags", files={"file": ("a.wav", wav_bytes(tone(440.0, 1.0)))})  # noqa: E731
        setattr(index, question, held)
        index.bundle.embed_logmels = encode
        answers: list = []
        asker = threading.Thread(target=lambda: answers.append(ask()))
        asker.start()
        try:
            assert entered.wait(60)
            health: list = []
            checker = threading.Thread(
                target=lambda: health.extend([c.get(f"{API}/health"), c.get(f"{API}/ready")])
            )
            checker.start()
            checker.join(20)  # a held event loop never answers: the test fails here, then releases
            assert [r.status_code for r in health] == [200, 200] and health[1].json()["ready"] is True
            assert answers == []  # /health and /ready answered while the query was held
        finally:
            release.set()
            asker.join(60)
            delattr(index, question)
            del index.bundle.embed_logmels
        assert answers[0].status_code == 200, answers[0].text
        assert threads and all(name.startswith("inference") for name in threads), threads


def test_the_served_model_is_loaded_on_the_inference_thread(data: Path, monkeypatch) -> None:
    """Only the inference thread runs torch: a live thread that once ran a parallel operator (the
    model's weights initialised and copied) keeps an OpenMP team beside it (app/api/engine.py)."""
    import threading

    from model.bundle import Bundle

    built, real_init = [], Bundle.__init__

    def recorded(self, *args, **kwargs):
        built.append(threading.current_thread().name)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Bundle, "__init__", recorded)
    with TestClient(create_app(Settings(data_dir=data))) as c:
        assert c.get(f"{API}/ready").json()["ready"] is True
    assert built and all(name.startswith("inference") for name in built), built


def test_an_in_process_reindex_job_runs_torch_on_a_thread_that_ends_with_it(
    data: Path, tmp_path: Path, monkeypatch
) -> None:
    """The job's OpenMP team must not outlive it beside the inference thread's (app/api/state.py):
    the thread that embedded a new sound for the index update is gone once the job is done."""
    import threading

    from model.bundle import Bundle

    embedded_on, real_embed = [], Bundle.embed_logmels

    def recorded(self, *args, **kwargs):
        if not threading.current_thread().name.startswith("inference"):
            embedded_on.append(threading.current_thread())
        return real_embed(self, *args, **kwargs)

    monkeypatch.setattr(Bundle, "embed_logmels", recorded)
    copy = Path(shutil.copytree(data, tmp_path / "data", symlinks=True))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    form = {"tags": "whistle", "name": "a whistle"}
    with TestClient(create_app(Settings(data_dir=copy, api_token=TOKEN))) as c:
        clip = ("w.wav", wav_bytes(tone(987.0, 1.1, seed=78)))
        added = c.post(f"{API}/sounds", files={"file": clip}, data=form, headers=auth)
        assert added.status_code == 201, added.text
        job = added.json()["reindex_job"]
        deadline = time.time() + 60
        while c.get(f"{API}/jobs/{job}").json()["state"] != "done":
            assert time.time() < deadline, "the index update never finished"
            time.sleep(0.2)
        assert embedded_on, "the index update embedded nothing"
        assert not any(thread.is_alive() for thread in embedded_on), [t.name for t in embedded_on]
